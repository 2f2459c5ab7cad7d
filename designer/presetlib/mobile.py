"""MobileNet v1 (Howard et al. 2017), MobileNetV2 (Sandler et al. 2018) and IGCV3 (Sun et al. 2018).

Node names follow the reference implementations, so their state_dicts load by name: timm's
`mobilenetv1_100` for MobileNet v1, torchvision's `mobilenet_v2`, pytorchcv's `igcv3_w1`.
The builders take the width multiplier and input resolution the papers vary.
"""

from designer.core.blocks.mobile import scaled_channels
from designer.core.builder import GraphBuilder
from . import preset

# MobileNet v1, Table 1: (pointwise channels, stride) of the 13 depthwise-separable blocks,
# grouped into timm's stages.
MOBILENET_V1_STAGES = (((64, 1),), ((128, 2), (128, 1)), ((256, 2), (256, 1)),
                       ((512, 2),) + ((512, 1),) * 5, ((1024, 2), (1024, 1)))


def mobilenet_v1_graph(alpha=1.0, resolution=224, activation="relu", classes=1000):
    """MobileNet v1 at width multiplier α and a square input of `resolution` pixels."""
    act = {"relu": "ReLU", "relu6": "ReLU6"}[activation]
    b = GraphBuilder(
        f"MobileNet v1 {float(alpha)}-{resolution}",
        f"MobileNet v1 (Howard et al. 2017, 'MobileNets: Efficient Convolutional Neural Networks "
        f"for Mobile Vision Applications', Table 1), width multiplier α = {alpha:g}, "
        f"{resolution}×{resolution} input: a 3×3/2 convolution to 32 channels, 13 "
        "depthwise-separable blocks (3×3 depthwise, BN, ReLU, 1×1 pointwise, BN, ReLU) widening "
        "64 → 1024 with five stride-2 steps, global average pooling and a 1000-way FC. At "
        "1.0-224: 4,231,976 parameters (with batch norm, no convolution biases) and 569 M "
        "multiply-adds, as in the paper's Table 8. Other resolutions: give the input size, e.g. "
        "`summary mobilenet_v1 --input 3x160x160` on the command line or edit the Input node "
        "(the network pools globally); other widths: set α on the stem and every block, or "
        "build `mobilenet_v1_graph(alpha=0.5, resolution=160)` from the preset library. Node "
        "names follow timm's mobilenetv1_100 (which uses ReLU6).")
    x = b.input((3, resolution, resolution))
    x = b.add("Conv2d", "conv_stem", x, out_channels=scaled_channels(32, alpha), kernel=3,
              stride=2, padding=1, bias=False)
    x = b.add(act, "act1", b.add("BatchNorm", "bn1", x))
    for i, stage in enumerate(MOBILENET_V1_STAGES):
        for j, (channels, stride) in enumerate(stage):
            x = b.add("DepthwiseSeparable", f"blocks.{i}.{j}", x, out_channels=channels,
                      stride=stride, alpha=alpha, activation=activation)
    x = b.add("GlobalAvgPool2d", "global_pool", x, flatten=True)
    x = b.add("Linear", "classifier", x, out_features=classes)
    b.output(x, "logits")
    return b.finish()


@preset("mobilenet_v1", "mobile", "MobileNet v1 1.0-224 (Howard et al. 2017): 4.2 M parameters, "
        "569 M multiply-adds")
def mobilenet_v1():
    return mobilenet_v1_graph()


# MobileNetV2, Table 2: expansion t, channels c, repeats n, first stride s.
MOBILENET_V2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                         (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _conv_bn_act(b, name, x, channels, kernel, stride=1, act="ReLU6"):
    x = b.add("Conv2d", f"{name}.0", x, out_channels=channels, kernel=kernel, stride=stride,
              padding=kernel // 2, bias=False)
    return b.add(act, f"{name}.2", b.add("BatchNorm", f"{name}.1", x))


@preset("mobilenet_v2", "mobile", "MobileNetV2 1.0-224 (Sandler et al. 2018): 3.5 M parameters, "
        "300 M multiply-adds")
def mobilenet_v2():
    b = GraphBuilder(
        "MobileNetV2",
        "MobileNetV2 1.0-224 (Sandler et al. 2018, 'MobileNetV2: Inverted Residuals and Linear "
        "Bottlenecks', Table 2): a 3×3/2 convolution to 32 channels, 17 inverted residual blocks "
        "(expansion t = 6 except the first; channels 16-24-32-64-96-160-320), a 1×1 convolution "
        "to 1280, global average pooling, dropout 0.2 and a 1000-way FC; ReLU6 throughout. "
        "3,504,872 parameters and 301 M multiply-adds (the paper: 3.4 M, 300 M). Identical to "
        "torchvision's mobilenet_v2, whose weights load by name. "
        "3×224×224 in; any size works (global pooling).")
    x = b.input((3, 224, 224))
    x = _conv_bn_act(b, "features.0", x, 32, 3, 2)
    index = 1
    for t, c, n, s in MOBILENET_V2_SETTINGS:
        for i in range(n):
            x = b.add("InvertedResidual", f"features.{index}", x, out_channels=c,
                      stride=s if i == 0 else 1, expansion=t)
            index += 1
    x = _conv_bn_act(b, f"features.{index}", x, 1280, 1)
    x = b.add("GlobalAvgPool2d", "pool", x, flatten=True)
    x = b.add("Dropout", "classifier.0", x, p=0.2)
    x = b.add("Linear", "classifier.1", x, out_features=1000)
    b.output(x, "logits")
    return b.finish()


# IGCV3-D (Sun et al. 2018, Table 6): MobileNetV2's settings with about twice the blocks.
IGCV3_SETTINGS = ((1, 16, 1, 1), (6, 24, 4, 2), (6, 32, 6, 2), (6, 64, 8, 2), (6, 96, 6, 1),
                  (6, 160, 6, 2), (6, 320, 1, 1))


def igcv3_graph(permute_output=True):
    b = GraphBuilder(
        "IGCV3-D 1.0",
        "IGCV3-D 1.0 (Sun et al. 2018, 'IGCV3: Interleaved Low-Rank Group Convolutions for "
        "Efficient Deep Neural Networks'): MobileNetV2's layout with both 1×1 convolutions of "
        "every block made 2-group convolutions interleaved by channel permutations, and about "
        "twice the blocks (1-4-6-8-6-6-1, channels 16-24-32-64-96-160-320), a 3×3/2 stem to 32 "
        "channels, a 1×1 convolution to 1280, global average pooling and a 1000-way FC. "
        "3,491,688 parameters and 313 M multiply-adds (the paper: 3.5 M, 318 M). The blocks "
        "follow the authors' code, including the permutation after the second group "
        "convolution; node names follow pytorchcv's igcv3_w1. 3×224×224 in.")
    x = b.input((3, 224, 224))
    x = b.add("Conv2d", "features.init_block.conv", x, out_channels=32, kernel=3, stride=2,
              padding=1, bias=False)
    x = b.add("ReLU6", "features.init_block.activ",
              b.add("BatchNorm", "features.init_block.bn", x))
    stage = 0
    for t, c, n, s in IGCV3_SETTINGS:
        if s == 2 or stage == 0:
            stage, unit = stage + 1, 0
        for i in range(n):
            unit += 1
            x = b.add("IGCV3Block", f"features.stage{stage}.unit{unit}", x, out_channels=c,
                      stride=s if i == 0 else 1, expansion=t, permute_output=permute_output)
    x = b.add("Conv2d", "features.final_block.conv", x, out_channels=1280, kernel=1, padding=0,
              bias=False)
    x = b.add("ReLU6", "features.final_block.activ",
              b.add("BatchNorm", "features.final_block.bn", x))
    x = b.add("GlobalAvgPool2d", "features.final_pool", x, flatten=True)
    x = b.add("Linear", "output", x, out_features=1000)
    b.output(x, "logits")
    return b.finish()


@preset("igcv3", "mobile", "IGCV3-D 1.0 (Sun et al. 2018): 3.5 M parameters, 313 M multiply-adds")
def igcv3():
    return igcv3_graph()
