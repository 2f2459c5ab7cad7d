"""ShuffleNet v1 (Zhang et al. 2017) and ShuffleNet v2 (Ma et al. 2018).

Node names follow pytorchcv's shufflenet_g3_w1 and torchvision's shufflenet_v2_x1_0, so their
state_dicts load by name.
"""

from designer.core.builder import GraphBuilder
from . import preset

# ShuffleNet v1, Table 1: stage output channels for each group count g at 1×.
SHUFFLENET_V1_WIDTHS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960),
                        4: (272, 544, 1088), 8: (384, 768, 1536)}


def shufflenet_v1_graph(groups=3, classes=1000):
    widths = SHUFFLENET_V1_WIDTHS[groups]
    b = GraphBuilder(
        f"ShuffleNet v1 1× (g = {groups})",
        f"ShuffleNet 1× with g = {groups} (Zhang et al. 2017, 'ShuffleNet: An Extremely "
        "Efficient Convolutional Neural Network for Mobile Devices', Table 1): a 3×3/2 "
        "convolution to 24 channels and a 3×3/2 max pool, three stages of 4, 8 and 4 ShuffleNet "
        f"units at {widths[0]}-{widths[1]}-{widths[2]} channels (the first of each with stride 2, "
        "concatenating an average-pooled shortcut; the very first unit's first 1×1 is not "
        "grouped), global average pooling and a 1000-way FC. For g = 3: 1,865,728 parameters "
        "and 137 M multiply-adds (the paper: 137-140 MFLOPs, counted as multiply-adds). Node "
        "names follow pytorchcv's shufflenet_g3_w1. 3×224×224 in.")
    x = b.input((3, 224, 224))
    x = b.add("Conv2d", "features.init_block.conv", x, out_channels=24, kernel=3, stride=2,
              padding=1, bias=False)
    x = b.add("ReLU", "features.init_block.activ", b.add("BatchNorm", "features.init_block.bn", x))
    x = b.add("MaxPool2d", "features.init_block.pool", x, kernel=3, stride=2, padding=1)
    for stage, (channels, units) in enumerate(zip(widths, (4, 8, 4)), 1):
        for unit in range(1, units + 1):
            x = b.add("ShuffleUnitV1", f"features.stage{stage}.unit{unit}", x,
                      out_channels=channels, groups=groups, stride=2 if unit == 1 else 1,
                      group_first=not (stage == 1 and unit == 1))
    x = b.add("GlobalAvgPool2d", "features.final_pool", x, flatten=True)
    x = b.add("Linear", "output", x, out_features=classes)
    b.output(x, "logits")
    return b.finish()


@preset("shufflenet_v1_g3", "shufflenet", "ShuffleNet v1 1× g = 3 (Zhang et al. 2017): 1.9 M "
        "parameters, 137 M multiply-adds")
def shufflenet_v1_g3():
    return shufflenet_v1_graph(3)


@preset("shufflenet_v2_x1_0", "shufflenet", "ShuffleNet v2 1× (Ma et al. 2018): 2.3 M "
        "parameters, 145 M multiply-adds")
def shufflenet_v2_x1_0():
    b = GraphBuilder(
        "ShuffleNet v2 1×",
        "ShuffleNet v2 1× (Ma et al. 2018, 'ShuffleNet V2: Practical Guidelines for Efficient "
        "CNN Architecture Design', Table 5): a 3×3/2 convolution to 24 channels and a 3×3/2 max "
        "pool, three stages of 4, 8 and 4 units at 116-232-464 channels (the first of each with "
        "stride 2), a 1×1 convolution to 1024, global average pooling and a 1000-way FC. "
        "2,278,604 parameters and 145 M multiply-adds (the paper: 146 M), identical to "
        "torchvision's "
        "shufflenet_v2_x1_0 (whose weights load by name). 3×224×224 in.")
    x = b.input((3, 224, 224))
    x = b.add("Conv2d", "conv1.0", x, out_channels=24, kernel=3, stride=2, padding=1, bias=False)
    x = b.add("ReLU", "conv1.2", b.add("BatchNorm", "conv1.1", x))
    x = b.add("MaxPool2d", "maxpool", x, kernel=3, stride=2, padding=1)
    for stage, (channels, units) in enumerate(zip((116, 232, 464), (4, 8, 4)), 2):
        for unit in range(units):
            x = b.add("ShuffleUnitV2", f"stage{stage}.{unit}", x, out_channels=channels,
                      stride=2 if unit == 0 else 1)
    x = b.add("Conv2d", "conv5.0", x, out_channels=1024, kernel=1, padding=0, bias=False)
    x = b.add("ReLU", "conv5.2", b.add("BatchNorm", "conv5.1", x))
    x = b.add("GlobalAvgPool2d", "pool", x, flatten=True)
    x = b.add("Linear", "fc", x, out_features=1000)
    b.output(x, "logits")
    return b.finish()
