"""The residual family: ImageNet ResNets (torchvision's), ResNeXt, SE-ResNet (timm's), and the
CIFAR ResNets of He et al. 2015 and 2016 and Huang et al. 2016.

Node names make the compiled state_dict keys equal the reference implementation's: the stem is
`conv1`/`bn1`, blocks are `layer{stage}.{index}`, the classifier is `fc`.
"""

from designer.core.blocks.residual import survival_probability
from designer.core.builder import GraphBuilder
from . import preset

IMAGENET_WIDTHS = (64, 128, 256, 512)


def _imagenet_stem(b):
    x = b.input((3, 224, 224))
    x = b.add("Conv2d", "conv1", x, out_channels=64, kernel=7, stride=2, padding=3, bias=False)
    x = b.add("BatchNorm", "bn1", x)
    x = b.add("ReLU", "relu", x)
    return b.add("MaxPool2d", "maxpool", x, kernel=3, stride=2, padding=1)


def _head(b, x, classes, pre_activation=False):
    if pre_activation:
        x = b.add("BatchNorm", "bn_final", x)
        x = b.add("ReLU", "relu_final", x)
    x = b.add("GlobalAvgPool2d", "avgpool", x, flatten=True)
    x = b.add("Linear", "fc", x, out_features=classes)
    b.output(x)
    return b.finish()


def _stages(b, x, block, widths, depths, width_param="out_channels", first_stride=1, **params):
    """Stages of residual blocks; the first block of every stage after the first halves the size."""
    for stage, (width, depth) in enumerate(zip(widths, depths), 1):
        for i in range(depth):
            stride = (first_stride if stage == 1 else 2) if i == 0 else 1
            x = b.add(block, f"layer{stage}.{i}", x, **{width_param: width}, stride=stride,
                      **params)
    return x


def imagenet_resnet(title, description, block, depths, **params):
    b = GraphBuilder(title, description)
    x = _imagenet_stem(b)
    width_param = "out_channels" if block == "BasicBlock" else "planes"
    x = _stages(b, x, block, IMAGENET_WIDTHS, depths, width_param, **params)
    return _head(b, x, 1000)


_TV = ("As torchvision's resnet{n} (weights load by name): 7×7/2 stem, 3×3/2 max pool, four "
       "stages of {kind} blocks {depths}, global average pool, 1000-way FC. 3×224×224 in.")


def _describe(n, kind, depths, paper="He et al. 2015, 'Deep Residual Learning'"):
    depths_text = "×".join(map(str, depths))
    return f"ResNet-{n} ({paper}). " + _TV.format(n=n, kind=kind, depths=depths_text)


def _register_imagenet(n, block, depths, params_text):
    kind = "basic" if block == "BasicBlock" else "bottleneck (stride on the 3×3, 'v1.5')"
    description = _describe(n, kind, depths)

    @preset(f"resnet{n}", "resnet", f"ResNet-{n} (He et al. 2015), torchvision layout: "
            f"{params_text} parameters")
    def build():
        return imagenet_resnet(f"ResNet-{n}", description, block, depths)
    return build


_register_imagenet(18, "BasicBlock", (2, 2, 2, 2), "11.7 M")
_register_imagenet(34, "BasicBlock", (3, 4, 6, 3), "21.8 M")
_register_imagenet(50, "Bottleneck", (3, 4, 6, 3), "25.6 M")
_register_imagenet(101, "Bottleneck", (3, 4, 23, 3), "44.5 M")
_register_imagenet(152, "Bottleneck", (3, 8, 36, 3), "60.2 M")


@preset("resnext50_32x4d", "resnet", "ResNeXt-50 32×4d (Xie et al. 2017), torchvision layout: "
        "25.0 M parameters")
def resnext50_32x4d():
    return imagenet_resnet(
        "ResNeXt-50 (32×4d)",
        "ResNeXt-50 32×4d (Xie et al. 2017, 'Aggregated Residual Transformations'): ResNet-50 "
        "with cardinality 32 grouped 3×3 convolutions, bottleneck width 4 per path at the first "
        "stage (inner widths 128/256/512/1024). As torchvision's resnext50_32x4d. 3×224×224 in.",
        "ResNeXtBlock", (3, 4, 6, 3), cardinality=32, bottleneck_width=4)


@preset("resnext101_32x8d", "resnet", "ResNeXt-101 32×8d (Xie et al. 2017), torchvision layout: "
        "88.8 M parameters")
def resnext101_32x8d():
    return imagenet_resnet(
        "ResNeXt-101 (32×8d)",
        "ResNeXt-101 32×8d (Xie et al. 2017, 'Aggregated Residual Transformations'): ResNet-101 "
        "with cardinality 32 grouped 3×3 convolutions, bottleneck width 8 per path at the first "
        "stage (inner widths 256/512/1024/2048). As torchvision's resnext101_32x8d. 3×224×224 in.",
        "ResNeXtBlock", (3, 4, 23, 3), cardinality=32, bottleneck_width=8)


@preset("se_resnet50", "resnet", "SE-ResNet-50 (Hu et al. 2018), timm's seresnet50 layout: "
        "28.1 M parameters")
def se_resnet50():
    return imagenet_resnet(
        "SE-ResNet-50",
        "SE-ResNet-50 (Hu et al. 2018, 'Squeeze-and-Excitation Networks'): ResNet-50 whose every "
        "bottleneck recalibrates its channels with a squeeze-and-excitation block (r = 16) before "
        "the addition. Laid out as timm's seresnet50 (weights load by name). 3×224×224 in.",
        "SEBottleneck", (3, 4, 6, 3), reduction=16)


# ---- CIFAR ------------------------------------------------------------------------------

CIFAR_WIDTHS = (16, 32, 64)


def _cifar_stem(b, channels=16, activate=True):
    x = b.input((3, 32, 32))
    x = b.add("Conv2d", "conv1", x, out_channels=channels, kernel=3, padding=1, bias=False)
    if activate:
        x = b.add("BatchNorm", "bn1", x)
        x = b.add("ReLU", "relu", x)
    return x


def cifar_resnet(depth):
    n = (depth - 2) // 6
    b = GraphBuilder(
        f"ResNet-{depth} (CIFAR)",
        f"ResNet-{depth} for CIFAR-10 (He et al. 2015, 'Deep Residual Learning', section 4.2): a "
        f"3×3 convolution to 16 channels, then 3 stages of {n} basic blocks at 16/32/64 channels "
        f"on 32×32/16×16/8×8 maps (6n+2 = {depth} layers), option A shortcuts (subsample and "
        "zero-pad, no extra parameters), global average pool and a 10-way FC. 3×32×32 in.")
    x = _cifar_stem(b)
    x = _stages(b, x, "BasicBlock", CIFAR_WIDTHS, (n, n, n), shortcut="A")
    return _head(b, x, 10)


for _depth, _count in ((20, "0.27 M"), (56, "0.85 M"), (110, "1.7 M")):
    preset(f"resnet{_depth}_cifar", "resnet",
           f"ResNet-{_depth} for CIFAR-10 (He et al. 2015, Table 6): {_count} parameters")(
        (lambda depth: lambda: cifar_resnet(depth))(_depth))


@preset("preact_resnet164_cifar", "resnet", "Pre-activation ResNet-164 for CIFAR-10 "
        "(He et al. 2016): 1.7 M parameters")
def preact_resnet164_cifar():
    n = (164 - 2) // 9
    b = GraphBuilder(
        "Pre-activation ResNet-164 (CIFAR)",
        "ResNet-164 with full pre-activation bottleneck units (He et al. 2016, 'Identity "
        "Mappings in Deep Residual Networks'): a 3×3 convolution to 16 channels, 3 stages of "
        f"{n} BN-ReLU-conv bottlenecks (widths 16/32/64, outputs 64/128/256; 9n+2 = 164 layers), "
        "1×1 projection shortcuts where the shape changes, a final BN-ReLU, global average pool "
        "and a 10-way FC. 3×32×32 in.")
    x = _cifar_stem(b, activate=False)
    x = _stages(b, x, "PreActBottleneck", CIFAR_WIDTHS, (n, n, n), width_param="planes")
    return _head(b, x, 10, pre_activation=True)


@preset("stochastic_depth_resnet110_cifar", "resnet", "ResNet-110 with stochastic depth "
        "(Huang et al. 2016), p_L = 0.5: 1.7 M parameters")
def stochastic_depth_resnet110_cifar():
    n = (110 - 2) // 6
    count = 3 * n
    b = GraphBuilder(
        "Stochastic-depth ResNet-110 (CIFAR)",
        "ResNet-110 trained with stochastic depth (Huang et al. 2016, 'Deep Networks with "
        "Stochastic Depth'): the CIFAR ResNet-110 of He et al. (3 stages of 18 basic blocks, "
        "16/32/64 channels, option A shortcuts) where block l of L = 54 keeps its residual "
        "branch in training with probability p_l = 1 − l/L·(1 − p_L), p_L = 0.5 (the linear "
        "decay rule). At evaluation it is the plain ResNet-110. 3×32×32 in.")
    x = _cifar_stem(b)
    index = 0
    for stage, width in enumerate(CIFAR_WIDTHS, 1):
        for i in range(n):
            index += 1
            x = b.add("StochasticDepthBlock", f"layer{stage}.{i}", x, out_channels=width,
                      stride=2 if stage > 1 and i == 0 else 1, shortcut="A",
                      survival_probability=survival_probability(index, count, 0.5))
    return _head(b, x, 10)
