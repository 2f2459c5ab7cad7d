"""The Inception family: GoogLeNet as in the paper and as in torchvision, BN-Inception, Inception
v3 (torchvision), Inception-v4 and Inception-ResNet-v2 (timm) and Inception-ResNet-v1 (paper).

Node names make the compiled state_dict keys equal the reference implementation's: torchvision's
`inception3a`, `Mixed_5b`, `AuxLogits`, ...; timm's `features.N`, `repeat_1.N`, `classif`, ...
Auxiliary classifiers are `Output` nodes with the auxiliary role and the paper's loss weight.
"""

from designer.core.builder import GraphBuilder
from . import preset

# GoogLeNet's Table 1 (Szegedy et al. 2014): #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj.
GOOGLENET_MODULES = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}
_WIDTH_NAMES = ("n1x1", "n3x3_reduce", "n3x3", "n5x5_reduce", "n5x5", "pool_proj")
AUX_LOSS_WEIGHT = 0.3


def _googlenet(b, torchvision):
    """GoogLeNet's body. The paper's (Caffe) version: conv–ReLU units with LRN after the first
    pool and the 3×3; torchvision's: BN units, no LRN, 3×3 in the '5×5' branch, 2×2 last pool."""
    unit = dict(batch_norm=torchvision, bias=not torchvision)
    module = dict(batch_norm=torchvision, kernel_5x5=3 if torchvision else 5)
    lrn = dict(size=5, alpha=1e-4, beta=0.75, k=1.0)   # Caffe's convention: α is divided by n
    x = b.input((3, 224, 224))
    x = b.add("BasicConv2d", "conv1", x, out_channels=64, kernel=7, stride=2, padding=3, **unit)
    x = b.add("MaxPool2d", "maxpool1", x, kernel=3, stride=2, ceil_mode=True)
    if not torchvision:
        x = b.add("LocalResponseNorm", "norm1", x, **lrn)
    x = b.add("BasicConv2d", "conv2", x, out_channels=64, kernel=1, padding=0, **unit)
    x = b.add("BasicConv2d", "conv3", x, out_channels=192, kernel=3, padding=1, **unit)
    if not torchvision:
        x = b.add("LocalResponseNorm", "norm2", x, **lrn)
    x = b.add("MaxPool2d", "maxpool2", x, kernel=3, stride=2, ceil_mode=True)
    aux = dict(batch_norm=torchvision,
               pool="adaptive 4×4" if torchvision else "average 5×5/3")
    heads = []
    for name, widths in GOOGLENET_MODULES.items():
        x = b.add("InceptionV1", f"inception{name}", x, **dict(zip(_WIDTH_NAMES, widths)),
                  **module)
        if name == "3b":
            x = b.add("MaxPool2d", "maxpool3", x, kernel=3, stride=2, ceil_mode=True)
        elif name == "4e":
            kernel = 2 if torchvision else 3
            x = b.add("MaxPool2d", "maxpool4", x, kernel=kernel, stride=2, ceil_mode=True)
        elif name in ("4a", "4d"):
            index = 1 if name == "4a" else 2
            heads.append(b.add("InceptionAuxV1", f"aux{index}", x, **aux))
    if torchvision:
        x = b.add("GlobalAvgPool2d", "avgpool", x, flatten=True)
    else:
        x = b.add("AvgPool2d", "avgpool", x, kernel=7, stride=1)
        x = b.add("Flatten", "flatten", x)
    x = b.add("Dropout", "dropout", x, p=0.2 if torchvision else 0.4)
    b.output(b.add("Linear", "fc", x, out_features=1000))
    for index, head in enumerate(heads, 1):
        b.output(head, f"aux{index}_output", role="auxiliary", loss_weight=AUX_LOSS_WEIGHT)
    return b.finish()


@preset("googlenet", "inception", "GoogLeNet (Szegedy et al. 2014) as in the paper, with LRN, no "
        "BN and two auxiliary classifiers: 6,998,552 parameters without them")
def googlenet():
    b = GraphBuilder(
        "GoogLeNet",
        "GoogLeNet, the ILSVRC 2014 winner (Szegedy et al. 2014, 'Going Deeper with "
        "Convolutions', Table 1 and Fig. 3): 7×7/2 conv, max pool, LRN, 1×1 and 3×3 convs, LRN, "
        "max pool, nine Inception modules (3a-5b) with max pools after 3b and 4e, 7×7 average "
        "pool, dropout 0.4 and a linear 1000-way layer. Convolutions have biases and ReLU, no "
        "batch norm (LRN with Caffe's k=1, n=5, α=1e-4, β=0.75). Two auxiliary classifiers on "
        "4a and 4d (5×5/3 average pool, 1×1 conv 128, FC 1024, dropout 0.7, FC 1000) add their "
        "losses with weight 0.3 in training and are dropped at inference. 3×224×224 in; "
        "6,998,552 parameters without the auxiliary heads, 13,378,280 with them.")
    return _googlenet(b, torchvision=False)


@preset("googlenet_torchvision", "inception", "GoogLeNet as in torchvision (BN units, auxiliary "
        "classifiers): 6,624,904 parameters without the auxiliary heads")
def googlenet_torchvision():
    b = GraphBuilder(
        "GoogLeNet (torchvision)",
        "torchvision's googlenet: GoogLeNet (Szegedy et al. 2014) with every convolution a "
        "conv–BN(ε 0.001)–ReLU unit and no LRN, the '5×5' branch using a 3×3 kernel (a known "
        "deviation kept for its weights), a 2×2 last max pool, adaptive average pooling and "
        "dropout 0.2. The auxiliary classifiers (on 4a and 4d, adaptive 4×4 pool, BN unit, FC "
        "1024, dropout 0.7) are auxiliary outputs with loss weight 0.3. Names equal "
        "torchvision's, so its weights load by name. 3×224×224 in; 6,624,904 parameters "
        "without the auxiliary heads, 13,004,888 with them.")
    return _googlenet(b, torchvision=True)


# BN-Inception (Ioffe & Szegedy 2015, Fig. 5) as released (Caffe): #1×1, #3×3 reduce, #3×3,
# double #3×3 reduce, double #3×3, pool, pool proj (0 = pass through), stride.
BN_INCEPTION_MODULES = {
    "3a": (64, 64, 64, 64, 96, "avg", 32, 1), "3b": (64, 64, 96, 64, 96, "avg", 64, 1),
    "3c": (0, 128, 160, 64, 96, "max", 0, 2),
    "4a": (224, 64, 96, 96, 128, "avg", 128, 1), "4b": (192, 96, 128, 96, 128, "avg", 128, 1),
    "4c": (160, 128, 160, 128, 160, "avg", 128, 1), "4d": (96, 128, 192, 160, 192, "avg", 128, 1),
    "4e": (0, 128, 192, 192, 256, "max", 0, 2),
    "5a": (352, 192, 320, 160, 224, "avg", 128, 1), "5b": (352, 192, 320, 192, 224, "max", 128, 1),
}
_BN_NAMES = ("n1x1", "n3x3_reduce", "n3x3", "n3x3dbl_reduce", "n3x3dbl", "pool", "pool_proj",
             "stride")


@preset("bn_inception", "inception", "BN-Inception (Ioffe & Szegedy 2015) as released: "
        "11,295,240 parameters")
def bn_inception():
    b = GraphBuilder(
        "BN-Inception",
        "BN-Inception (Ioffe & Szegedy 2015, 'Batch Normalization', Fig. 5): GoogLeNet with "
        "batch norm after every convolution, each 5×5 replaced by two 3×3, average or max "
        "pooling with 1×1 projections, and stride-2 modules (3c, 4e) that reduce the grid in "
        "place of max pools. Widths as in the released Caffe model (the paper's table gives "
        "576 channels after 4c and 4d; its own widths sum to 608, which the released model "
        "uses), convolutions with bias, BN ε 1e-5, 7×7 average pool, FC 1000. 3×224×224 in; "
        "11,295,240 parameters.")
    unit = dict(batch_norm=True, bias=True, bn_eps=1e-5)
    x = b.input((3, 224, 224))
    x = b.add("BasicConv2d", "conv1", x, out_channels=64, kernel=7, stride=2, padding=3, **unit)
    x = b.add("MaxPool2d", "pool1", x, kernel=3, stride=2, ceil_mode=True)
    x = b.add("BasicConv2d", "conv2_reduce", x, out_channels=64, kernel=1, padding=0, **unit)
    x = b.add("BasicConv2d", "conv2", x, out_channels=192, kernel=3, padding=1, **unit)
    x = b.add("MaxPool2d", "pool2", x, kernel=3, stride=2, ceil_mode=True)
    for name, widths in BN_INCEPTION_MODULES.items():
        x = b.add("InceptionV2", f"inception_{name}", x, **dict(zip(_BN_NAMES, widths)),
                  bias=True, bn_eps=1e-5)
    x = b.add("GlobalAvgPool2d", "global_pool", x, flatten=True)
    b.output(b.add("Linear", "fc", x, out_features=1000))
    return b.finish()


@preset("inception_v3", "inception", "Inception v3 (Szegedy et al. 2015) as in torchvision: "
        "23,834,568 parameters without the auxiliary head")
def inception_v3():
    b = GraphBuilder(
        "Inception v3",
        "Inception v3 (Szegedy et al. 2015, 'Rethinking the Inception Architecture for Computer "
        "Vision', Table 1) as torchvision's inception_v3: a stem of 3×3 conv units and max "
        "pools to 192×35×35, three 35×35 modules (Mixed_5b-5d), a grid reduction, four 17×17 "
        "modules with factorised 1×7/7×1 convolutions (Mixed_6b-6e), a second reduction, two "
        "8×8 modules with expanded filter banks (Mixed_7b/7c), global average pool, dropout "
        "0.5, FC 1000. The auxiliary classifier on Mixed_6e is an auxiliary output with "
        "torchvision's training weight 0.4. Names equal torchvision's (weights load by name). "
        "3×299×299 in; 23,834,568 parameters without the auxiliary head, 27,161,264 with it.")
    x = b.input((3, 299, 299))
    x = b.add("BasicConv2d", "Conv2d_1a_3x3", x, out_channels=32, kernel=3, stride=2, padding=0)
    x = b.add("BasicConv2d", "Conv2d_2a_3x3", x, out_channels=32, kernel=3, padding=0)
    x = b.add("BasicConv2d", "Conv2d_2b_3x3", x, out_channels=64, kernel=3, padding=1)
    x = b.add("MaxPool2d", "maxpool1", x, kernel=3, stride=2)
    x = b.add("BasicConv2d", "Conv2d_3b_1x1", x, out_channels=80, kernel=1, padding=0)
    x = b.add("BasicConv2d", "Conv2d_4a_3x3", x, out_channels=192, kernel=3, padding=0)
    x = b.add("MaxPool2d", "maxpool2", x, kernel=3, stride=2)
    for name, pool in (("5b", 32), ("5c", 64), ("5d", 64)):
        x = b.add("InceptionV3A", f"Mixed_{name}", x, pool_features=pool)
    x = b.add("InceptionV3B", "Mixed_6a", x)
    for name, c7 in (("6b", 128), ("6c", 160), ("6d", 160), ("6e", 192)):
        x = b.add("InceptionV3C", f"Mixed_{name}", x, channels_7x7=c7)
    aux = b.add("InceptionAuxV3", "AuxLogits", x)
    x = b.add("InceptionV3D", "Mixed_7a", x)
    x = b.add("InceptionV3E", "Mixed_7b", x)
    x = b.add("InceptionV3E", "Mixed_7c", x)
    x = b.add("GlobalAvgPool2d", "avgpool", x, flatten=True)
    x = b.add("Dropout", "dropout", x, p=0.5)
    b.output(b.add("Linear", "fc", x, out_features=1000))
    b.output(aux, "aux_output", role="auxiliary", loss_weight=0.4)
    return b.finish()


def _head(b, x, fc_name, dropout=0.2):
    x = b.add("GlobalAvgPool2d", "global_pool", x, flatten=True)
    x = b.add("Dropout", "head_drop", x, p=dropout)
    b.output(b.add("Linear", fc_name, x, out_features=1000))
    return b.finish()


@preset("inception_v4", "inception", "Inception-v4 (Szegedy et al. 2016), timm layout: "
        "42,679,816 parameters")
def inception_v4():
    b = GraphBuilder(
        "Inception-v4",
        "Inception-v4 (Szegedy et al. 2016, 'Inception-v4, Inception-ResNet and the Impact of "
        "Residual Connections on Learning', Fig. 9): the stem of Fig. 3 (three conv units and "
        "three filter-concat stages, 384×35×35), 4 × Inception-A, Reduction-A (k, l, m, n = "
        "192, 224, 256, 384), 7 × Inception-B, Reduction-B, 3 × Inception-C, average pool, "
        "dropout (keep 0.8), FC 1000. BN ε 0.001. Laid out as timm's inception_v4 (features.N, "
        "last_linear; weights load by name). 3×299×299 in; 42,679,816 parameters.")
    x = b.input((3, 299, 299))
    x = b.add("BasicConv2d", "features.0", x, out_channels=32, kernel=3, stride=2, padding=0)
    x = b.add("BasicConv2d", "features.1", x, out_channels=32, kernel=3, padding=0)
    x = b.add("BasicConv2d", "features.2", x, out_channels=64, kernel=3, padding=1)
    index = 3
    plan = ([("InceptionV4StemMixed", dict(stage=s)) for s in ("3a", "4a", "5a")]
            + [("InceptionV4A", {})] * 4 + [("ReductionA", {})] + [("InceptionV4B", {})] * 7
            + [("InceptionV4ReductionB", {})] + [("InceptionV4C", {})] * 3)
    for index, (kind, params) in enumerate(plan, 3):
        x = b.add(kind, f"features.{index}", x, **params)
    return _head(b, x, "last_linear")


def _repeat(b, x, kind, name, count, **params):
    for i in range(count):
        x = b.add(kind, f"{name}.{i}", x, **params)
    return x


@preset("inception_resnet_v1", "inception", "Inception-ResNet-v1 (Szegedy et al. 2016) as in "
        "the paper: 22,756,328 parameters")
def inception_resnet_v1():
    b = GraphBuilder(
        "Inception-ResNet-v1",
        "Inception-ResNet-v1 (Szegedy et al. 2016, Fig. 15), the residual Inception of about "
        "Inception v3's cost: the stem of Fig. 14 (256×35×35), 5 × Inception-ResNet-A, "
        "Reduction-A (k, l, m, n = 192, 192, 256, 384; 896×17×17), 10 × Inception-ResNet-B, "
        "Reduction-B (1792×8×8), 5 × Inception-ResNet-C, average pool, dropout (keep 0.8), FC "
        "1000. Residual branches scaled by 0.17, 0.10 and 0.20 as in the released models; "
        "conv units with BN ε 0.001, linear 1×1 projections with bias. Names follow timm's "
        "Inception-ResNet-v2. 3×299×299 in; 22,756,328 parameters.")
    x = b.input((3, 299, 299))
    x = b.add("InceptionResNetStem", "stem", x, variant="v1")
    x = _repeat(b, x, "InceptionResNetA", "repeat", 5, variant="v1", scale=0.17)
    x = b.add("ReductionA", "mixed_6a", x, k=192, l=192, m=256, n=384)
    x = _repeat(b, x, "InceptionResNetB", "repeat_1", 10, variant="v1", scale=0.10)
    x = b.add("InceptionResNetReductionB", "mixed_7a", x, variant="v1")
    x = _repeat(b, x, "InceptionResNetC", "repeat_2", 5, variant="v1", scale=0.20)
    return _head(b, x, "classif")


@preset("inception_resnet_v2", "inception", "Inception-ResNet-v2 (Szegedy et al. 2016), timm "
        "layout: 55,843,464 parameters")
def inception_resnet_v2():
    b = GraphBuilder(
        "Inception-ResNet-v2",
        "Inception-ResNet-v2 (Szegedy et al. 2016, Fig. 15 with the v2 modules) as released "
        "and as timm's inception_resnet_v2 (weights load by name): the TF-slim stem (conv "
        "units and max pools to 192×35×35, then the Mixed 5b module, 320 channels; the paper "
        "draws the Inception-v4 stem instead), 10 × Inception-ResNet-A (scale 0.17), "
        "Reduction-A (k, l, m, n = 256, 256, 384, 384; 1088×17×17), 20 × Inception-ResNet-B "
        "(0.10), Reduction-B (2080×8×8), 9 × Inception-ResNet-C (0.20) and a tenth without "
        "scaling or ReLU, a 1×1 conv unit to 1536, average pool, dropout (keep 0.8), FC 1000. "
        "3×299×299 in; 55,843,464 parameters.")
    x = b.input((3, 299, 299))
    x = b.add("BasicConv2d", "conv2d_1a", x, out_channels=32, kernel=3, stride=2, padding=0)
    x = b.add("BasicConv2d", "conv2d_2a", x, out_channels=32, kernel=3, padding=0)
    x = b.add("BasicConv2d", "conv2d_2b", x, out_channels=64, kernel=3, padding=1)
    x = b.add("MaxPool2d", "maxpool_3a", x, kernel=3, stride=2)
    x = b.add("BasicConv2d", "conv2d_3b", x, out_channels=80, kernel=1, padding=0)
    x = b.add("BasicConv2d", "conv2d_4a", x, out_channels=192, kernel=3, padding=0)
    x = b.add("MaxPool2d", "maxpool_5a", x, kernel=3, stride=2)
    x = b.add("InceptionResNetV2Mixed5b", "mixed_5b", x)
    x = _repeat(b, x, "InceptionResNetA", "repeat", 10, variant="v2", scale=0.17)
    x = b.add("ReductionA", "mixed_6a", x, k=256, l=256, m=384, n=384)
    x = _repeat(b, x, "InceptionResNetB", "repeat_1", 20, variant="v2", scale=0.10)
    x = b.add("InceptionResNetReductionB", "mixed_7a", x, variant="v2")
    x = _repeat(b, x, "InceptionResNetC", "repeat_2", 9, variant="v2", scale=0.20)
    x = b.add("InceptionResNetC", "block8", x, variant="v2", scale=1.0, activation=False)
    x = b.add("BasicConv2d", "conv2d_7b", x, out_channels=1536, kernel=1, padding=0)
    return _head(b, x, "classif")
