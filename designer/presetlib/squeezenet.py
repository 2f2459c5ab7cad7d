"""SqueezeNet 1.0 and 1.1 (Iandola et al. 2016) and SqueezeNext-23 (Gholami et al. 2018).

Node names follow torchvision's squeezenet1_0/1_1 and pytorchcv's sqnxt23_w1, so their
state_dicts load by name.
"""

from designer.core.builder import GraphBuilder
from . import preset


def _squeezenet(title, description, stem, layout):
    """`layout`: Fire (s1x1, e1x1, e3x3) tuples, with "pool" for a 3×3/2 max pool."""
    b = GraphBuilder(title, description)
    x = b.input((3, 224, 224))
    channels, kernel = stem
    x = b.add("Conv2d", "features.0", x, out_channels=channels, kernel=kernel, stride=2,
              padding=0)
    x = b.add("ReLU", "features.1", x)
    for index, item in enumerate(layout, 2):
        if item == "pool":
            x = b.add("MaxPool2d", f"features.{index}", x, kernel=3, stride=2, ceil_mode=True)
        else:
            s, e1, e3 = item
            x = b.add("Fire", f"features.{index}", x, squeeze=s, expand1x1=e1, expand3x3=e3)
    x = b.add("Dropout", "classifier.0", x, p=0.5)
    x = b.add("Conv2d", "classifier.1", x, out_channels=1000, kernel=1, padding=0)
    x = b.add("ReLU", "classifier.2", x)
    x = b.add("GlobalAvgPool2d", "classifier.3", x, flatten=True)
    b.output(x, "logits")
    return b.finish()


@preset("squeezenet1_0", "squeezenet", "SqueezeNet 1.0 (Iandola et al. 2016): 1.25 M parameters")
def squeezenet1_0():
    return _squeezenet(
        "SqueezeNet 1.0",
        "SqueezeNet 1.0 (Iandola et al. 2016, 'SqueezeNet: AlexNet-level accuracy with 50x fewer "
        "parameters and <0.5MB model size', Table 1): a 7×7/2 convolution to 96 channels, eight "
        "Fire modules (squeeze 16-64, expand 64-256 each of 1×1 and 3×3) with 3×3/2 max pools "
        "after conv1, fire4 and fire8, dropout 0.5, a 1×1 convolution to 1000 classes and global "
        "average pooling: no fully connected layer. 1,248,424 parameters, as the paper's 1.25 M "
        "and torchvision's squeezenet1_0 (whose weights load by name). 3×224×224 in.",
        (96, 7), ["pool", (16, 64, 64), (16, 64, 64), (32, 128, 128), "pool", (32, 128, 128),
                  (48, 192, 192), (48, 192, 192), (64, 256, 256), "pool", (64, 256, 256)])


@preset("squeezenet1_1", "squeezenet", "SqueezeNet 1.1 (Iandola et al. 2016, v1.1 release): "
        "1.24 M parameters, 2.4× less computation than 1.0")
def squeezenet1_1():
    return _squeezenet(
        "SqueezeNet 1.1",
        "SqueezeNet 1.1 (the SqueezeNet authors' v1.1 release of Iandola et al. 2016): as 1.0 "
        "but a 3×3/2 first convolution to 64 channels and the max pools moved earlier (after "
        "conv1, fire3 and fire5), so 2.4× less computation for the same accuracy. 1,235,496 "
        "parameters, as torchvision's squeezenet1_1 (whose weights load by name). 3×224×224 in.",
        (64, 3), ["pool", (16, 64, 64), (16, 64, 64), "pool", (32, 128, 128), (32, 128, 128),
                  "pool", (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256)])


def _conv_block(b, name, x, channels, kernel, stride=1, padding=0):
    x = b.add("Conv2d", f"{name}.conv", x, out_channels=channels, kernel=kernel, stride=stride,
              padding=padding, bias=True)
    return b.add("ReLU", f"{name}.activ", b.add("BatchNorm", f"{name}.bn", x))


@preset("squeezenext23", "squeezenet", "1.0-SqNxt-23 (Gholami et al. 2018): 0.72 M parameters")
def squeezenext23():
    b = GraphBuilder(
        "SqueezeNext-23 (1.0)",
        "1.0-SqNxt-23 (Gholami et al. 2018, 'SqueezeNext: Hardware-Aware Neural Network "
        "Design', Fig. 3 and Table 2): a 7×7/2 convolution to 64 channels and a 3×3/2 max pool, "
        "then 6-6-8-1 SqueezeNext blocks at 32-64-128-256 channels (the first of each later "
        "stage with stride 2), a 1×1 convolution to 128, global average pooling and a 1000-way "
        "FC. 724,056 parameters (the paper: 0.72 M). Node names follow pytorchcv's sqnxt23_w1, "
        "the PyTorch port of the authors' Caffe model. 3×224×224 in.")
    x = b.input((3, 224, 224))
    x = _conv_block(b, "features.init_block.conv", x, 64, 7, 2, 1)
    x = b.add("MaxPool2d", "features.init_block.pool", x, kernel=3, stride=2, ceil_mode=True)
    for stage, (channels, units) in enumerate(((32, 6), (64, 6), (128, 8), (256, 1)), 1):
        for unit in range(1, units + 1):
            stride = 2 if unit == 1 and stage > 1 else 1
            x = b.add("SqueezeNextBlock", f"features.stage{stage}.unit{unit}", x,
                      out_channels=channels, stride=stride)
    x = _conv_block(b, "features.final_block", x, 128, 1)
    x = b.add("GlobalAvgPool2d", "features.final_pool", x, flatten=True)
    x = b.add("Linear", "output", x, out_features=1000)
    b.output(x, "logits")
    return b.finish()
