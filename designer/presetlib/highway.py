"""Highway networks (Srivastava, Greff & Schmidhuber 2015, 'Training Very Deep Networks').

The paper's CIFAR-10 table lists a 32-layer convolutional highway network of about 1.25 M
parameters but prints no layer-by-layer widths, so `highway_cifar` is our own 32-layer
configuration built to that depth and size: the preset's description states it.
"""

from designer.core.builder import GraphBuilder
from . import preset

# (width, highway layers) per stage; plain 3×3 convolutions change the width between stages.
STAGES = ((32, 10), (48, 9), (64, 9))


@preset("highway_cifar", "highway", "32-layer convolutional highway network for CIFAR-10 "
        "(after Srivastava et al. 2015): 1.27 M parameters")
def highway_cifar():
    b = GraphBuilder(
        "Highway network (CIFAR)",
        "A 32-layer convolutional highway network for CIFAR-10 after Srivastava et al. 2015 "
        "('Training Very Deep Networks', CIFAR-10 table: 32 layers, about 1.25 M parameters; the "
        "paper gives no per-layer widths, so this configuration is ours): a 3×3 convolution to "
        "32 channels, 10 highway layers at 32 channels, then twice a 2×2 max pool and a plain "
        "3×3 convolution widening to 48 and 64 channels followed by 9 highway layers, then a 1×1 "
        "convolution to the 10 classes and global average pooling (1 + 10 + 1 + 9 + 1 + 9 + 1 = "
        "32 weight layers). Transform-gate biases start at −1. 3×32×32 in.")
    x = b.input((3, 32, 32))
    for stage, (width, depth) in enumerate(STAGES, 1):
        if stage > 1:
            x = b.add("MaxPool2d", f"pool{stage - 1}", x, kernel=2, stride=2)
        x = b.add("Conv2d", f"conv{stage}", x, out_channels=width, kernel=3, padding=1)
        x = b.add("ReLU", f"relu{stage}", x)
        for i in range(depth):
            x = b.add("HighwayBlock", f"stage{stage}.{i}", x, kernel=3, gate_bias=-1.0)
    x = b.add("Conv2d", "classifier", x, out_channels=10, kernel=1, padding=0)
    x = b.add("GlobalAvgPool2d", "avgpool", x, flatten=True)
    b.output(x)
    return b.finish()
