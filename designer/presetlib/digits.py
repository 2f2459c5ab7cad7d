"""A small CNN for the 8×8 handwritten digits (the UCI optical digits set that scikit-learn ships
and `designer train --dataset digits` uses)."""

from designer.core.builder import GraphBuilder
from . import preset


@preset("reactor_digits", "classic", "A small digit CNN for 1×8×8 inputs: conv 4, conv 6, "
        "FC 32, FC 10; 1,392 parameters")
def reactor_digits():
    b = GraphBuilder(
        "Digits CNN",
        "A small CNN for the 8×8 UCI handwritten digits (1×8×8 in, 10 classes): 3×3 convolution "
        "to 4 channels → ReLU → 2×2 max pool → 3×3 convolution to 6 → ReLU → 2×2 max pool → FC "
        "32 → ReLU → FC 10. Both convolutions pad by 1 so the tiny image keeps its size through "
        "them (8×8 → 4×4 after the first pool, → 2×2 after the second, 24 features into the "
        "first FC): unpadded 5×5 kernels, as in LeNet, would not fit an 8×8 input twice. "
        "1,392 parameters.")
    x = b.input((1, 8, 8))
    x = b.add("Conv2d", "conv1", x, out_channels=4, kernel=3, padding=1)
    x = b.add("ReLU", "relu1", x)
    x = b.add("MaxPool2d", "pool1", x, kernel=2, stride=2)
    x = b.add("Conv2d", "conv2", x, out_channels=6, kernel=3, padding=1)
    x = b.add("ReLU", "relu2", x)
    x = b.add("MaxPool2d", "pool2", x, kernel=2, stride=2)
    x = b.add("Flatten", "flatten", x)
    x = b.add("Linear", "fc1", x, out_features=32)
    x = b.add("ReLU", "relu3", x)
    x = b.add("Linear", "fc2", x, out_features=10)
    b.output(x)
    return b.finish()
