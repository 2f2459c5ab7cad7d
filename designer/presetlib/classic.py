"""LeNet-5 and other early networks."""

from designer.core.builder import GraphBuilder
from . import preset


@preset("lenet5", "classic", "LeNet-5 (LeCun et al. 1998) with max pooling and ReLU: 61,706 parameters")
def lenet5():
    b = GraphBuilder("LeNet-5", "LeNet-5 (LeCun et al. 1998), with max pooling and ReLU in place of "
                     "the original subsampling and scaled tanh. 1×32×32 in, 10 classes out.")
    x = b.input((1, 32, 32))
    x = b.add("Conv2d", "c1", x, out_channels=6, kernel=5, padding="valid")
    x = b.add("ReLU", "relu1", x)
    x = b.add("MaxPool2d", "s2", x, kernel=2, stride=2)
    x = b.add("Conv2d", "c3", x, out_channels=16, kernel=5, padding="valid")
    x = b.add("ReLU", "relu3", x)
    x = b.add("MaxPool2d", "s4", x, kernel=2, stride=2)
    x = b.add("Conv2d", "c5", x, out_channels=120, kernel=5, padding="valid")
    x = b.add("ReLU", "relu5", x)
    x = b.add("Flatten", "flatten", x)
    x = b.add("Linear", "f6", x, out_features=84)
    x = b.add("ReLU", "relu6", x)
    x = b.add("Linear", "f7", x, out_features=10)
    b.output(x)
    return b.finish()
