"""Inception-family blocks: the conv unit they are all made of, the Inception v1 module and
auxiliary classifier (Szegedy et al. 2014), the BN-Inception module (Ioffe & Szegedy 2015), the
Inception v3 modules and grid reductions (Szegedy et al. 2015), and the Inception v4 and
Inception-ResNet modules, stems and reductions (Szegedy et al. 2016).

Inner node names follow the reference implementations so a block node compiles to their
state_dict keys: torchvision's GoogLeNet (`branch1`, `branch2.0`, ...) and Inception3
(`branch1x1`, `branch7x7_2`, ...), timm's inception_v4 and inception_resnet_v2 (`branch0`,
`branch1.1`, `conv2d`, ...). Every convolution sits in a `BasicConv2d` unit whose layers are
`conv`, `bn` and `relu`, as in torchvision and timm.
"""

from ..builder import GraphBuilder
from ..paramlib import out_channels
from ..params import Param
from ..registry import BlockSpec, register

CATEGORY = "blocks/inception"


def _bn_eps(default=1e-3):
    return Param("bn_eps", "float", default, "Batch-norm epsilon (0.001 in torchvision's and "
                 "timm's Inception networks)", min=0.0, max=1.0)


def _batch_norm(default=True):
    return Param("batch_norm", "bool", default, "Conv units are conv (no bias) → BN → ReLU; off "
                 "gives the original conv (with bias) → ReLU")


def _width(name, default, help_text, minimum=1):
    return Param(name, "int", default, help_text, min=minimum, max=16384)


class _Units:
    """Adds `BasicConv2d` units to a builder with one block's normalisation settings."""

    def __init__(self, b, p, bias=None):
        self.b = b
        self.batch_norm = p.get("batch_norm", True)
        self.eps = p.bn_eps
        self.bias = (not self.batch_norm) if bias is None else bias

    def __call__(self, name, x, out, kernel=1, stride=1, padding=0):
        return self.b.add("BasicConv2d", name, x, out_channels=out, kernel=kernel, stride=stride,
                          padding=padding, batch_norm=self.batch_norm, bn_eps=self.eps,
                          bias=self.bias)


def _concat(b, *branches):
    y = b.add("Concat", "concat", *branches, num_inputs=len(branches))
    b.output(y, "out", name="out")
    return b.finish()


def _residual(b, x, branch, p):
    """Inception-ResNet's merge: x + scale · branch, then ReLU unless turned off."""
    y = b.add("Add", "add", x, branch, scale=p.scale)
    if p.activation:
        y = b.add("ReLU", "act", y)
    b.output(y, "out", name="out")
    return b.finish()


# ---- the conv unit ---------------------------------------------------------------------------

def _import_unit(m, shape):
    c = m.conv
    return dict(out_channels=c.out_channels, kernel=c.kernel_size, stride=c.stride,
                padding=c.padding, bn_eps=m.bn.eps, bias=c.bias is not None)


def _expand_unit(p, shapes):
    b = GraphBuilder("BasicConv2d")
    y = b.add("Conv2d", "conv", b.block_input("in"), out_channels=p.out_channels, kernel=p.kernel,
              stride=p.stride, padding=p.padding, bias=p.bias)
    if p.batch_norm:
        y = b.add("BatchNorm", "bn", y, eps=p.bn_eps)
    if p.activation:
        y = b.add("ReLU", "relu", y)
    b.output(y, "out", name="out")
    return b.finish()


def _unit_summary(p):
    kh, kw = p.kernel
    text = f"{kh}×{kw}" if kh != kw else f"{kh}×{kh}"
    if p.stride != (1, 1):
        text += f"/{p.stride[0]}" if p.stride[0] == p.stride[1] else f"/{p.stride[0]}×{p.stride[1]}"
    return f"{text}, {p.out_channels}"


register(BlockSpec(
    type="BasicConv2d", category=CATEGORY, title="Conv unit (conv–BN–ReLU)",
    help="The unit every Inception network is built of (torchvision's and timm's BasicConv2d): a "
         "convolution without bias, batch norm and ReLU. Batch normalisation (Ioffe & Szegedy "
         "2015) lets each layer see inputs of a stable distribution, so the deep multi-branch "
         "networks train fast; Inception v3 and v4 use ε = 0.001. Turn batch norm off for the "
         "original GoogLeNet's convolution with bias followed by ReLU, and the activation off for "
         "a linear projection.",
    params=(out_channels(64, "Number of filters"),
            Param("kernel", "pair", (3, 3), "Kernel height × width (e.g. 3, or [1, 7])",
                  min=1, max=64),
            Param("stride", "pair", (1, 1), "Stride", min=1, max=64),
            Param("padding", "padding", "same", "'same', 'valid', or explicit [h, w] zeros",
                  min=0, max=64),
            _batch_norm(), _bn_eps(),
            Param("bias", "bool", False, "Learn a bias in the convolution (off before batch norm)"),
            Param("activation", "bool", True, "ReLU after the convolution")),
    expand=_expand_unit, summary=_unit_summary,
    imports={"torchvision.models.googlenet.BasicConv2d": _import_unit,
             "torchvision.models.inception.BasicConv2d": _import_unit},
))


# ---- Inception v1 (GoogLeNet) ----------------------------------------------------------------

def _expand_v1(p, shapes):
    b = GraphBuilder("InceptionV1")
    x = b.block_input("in")
    unit = _Units(b, p)
    y1 = unit("branch1", x, p.n1x1)
    y2 = unit("branch2.1", unit("branch2.0", x, p.n3x3_reduce), p.n3x3, 3, padding=1)
    k = p.kernel_5x5
    y3 = unit("branch3.1", unit("branch3.0", x, p.n5x5_reduce), p.n5x5, k, padding=k // 2)
    pooled = b.add("MaxPool2d", "branch4.0", x, kernel=3, stride=1, padding=1, ceil_mode=True)
    y4 = unit("branch4.1", pooled, p.pool_proj)
    return _concat(b, y1, y2, y3, y4)


def _width_of(unit):
    """The output channels of a torchvision BasicConv2d."""
    return unit.conv.out_channels


def _import_v1(m, shape):
    return dict(n1x1=_width_of(m.branch1), n3x3_reduce=_width_of(m.branch2[0]),
                n3x3=_width_of(m.branch2[1]), n5x5_reduce=_width_of(m.branch3[0]),
                n5x5=_width_of(m.branch3[1]), pool_proj=_width_of(m.branch4[1]),
                kernel_5x5=m.branch3[1].conv.kernel_size[0], batch_norm=True,
                bn_eps=m.branch1.bn.eps)


register(BlockSpec(
    type="InceptionV1", category=CATEGORY, title="Inception v1 module",
    help="GoogLeNet's Inception module (Szegedy et al. 2014, 'Going Deeper with Convolutions'): "
         "four parallel branches, a 1×1, a 3×3 and a 5×5 convolution and a 3×3 max pool, "
         "concatenated, so the network sees several scales at once. 1×1 'reduce' convolutions "
         "before the 3×3 and 5×5 (and a projection after the pool) cut the channels first, which "
         "keeps the cost flat as the network grows. Output channels = #1×1 + #3×3 + #5×5 + pool "
         "proj. Batch norm on gives torchvision's BN units; torchvision's GoogLeNet also uses a "
         "3×3 where the paper has the 5×5 (set that kernel to 3 to load its weights).",
    params=(_width("n1x1", 64, "#1×1: filters of the 1×1 branch"),
            _width("n3x3_reduce", 96, "#3×3 reduce: 1×1 filters before the 3×3"),
            _width("n3x3", 128, "#3×3: filters of the 3×3 convolution"),
            _width("n5x5_reduce", 16, "#5×5 reduce: 1×1 filters before the 5×5"),
            _width("n5x5", 32, "#5×5: filters of the 5×5 convolution"),
            _width("pool_proj", 32, "Pool proj: 1×1 filters after the 3×3 max pool"),
            Param("kernel_5x5", "choice", 5, "Kernel of the '5×5' branch (torchvision uses 3)",
                  choices=(5, 3)),
            _batch_norm(False), _bn_eps()),
    expand=_expand_v1,
    summary=lambda p: f"{p.n1x1 + p.n3x3 + p.n5x5 + p.pool_proj}",
    imports={"torchvision.models.googlenet.Inception": _import_v1},
))

AUX_POOLS = ("average 5×5/3", "adaptive 4×4")


def _expand_aux_v1(p, shapes):
    b = GraphBuilder("InceptionAuxV1")
    x = b.block_input("in")
    if p.pool == AUX_POOLS[0]:
        x = b.add("AvgPool2d", "pool", x, kernel=5, stride=3)
    else:
        x = b.add("AdaptiveAvgPool2d", "pool", x, output_size=4)
    x = _Units(b, p)("conv", x, p.conv_channels)
    x = b.add("Flatten", "flatten", x)
    x = b.add("ReLU", "relu", b.add("Linear", "fc1", x, out_features=p.hidden))
    x = b.add("Dropout", "dropout", x, p=p.dropout)
    x = b.add("Linear", "fc2", x, out_features=p.classes)
    b.output(x, "out", name="out")
    return b.finish()


register(BlockSpec(
    type="InceptionAuxV1", category=CATEGORY, title="Inception v1 auxiliary classifier",
    help="GoogLeNet's auxiliary classifier (Szegedy et al. 2014): a small head on an intermediate "
         "Inception module (4a and 4d) whose loss, weighted 0.3, is added in training so the "
         "middle layers receive a strong gradient and learn discriminative features; it is "
         "discarded at inference. 5×5/3 average pool (4×4 out on a 14×14 map), 1×1 convolution "
         "to 128, FC 1024 with ReLU, dropout 0.7, FC to the classes. torchvision pools "
         "adaptively to 4×4 and uses BN units.",
    params=(Param("classes", "int", 1000, "Output classes", min=1, max=1 << 20),
            Param("pool", "choice", AUX_POOLS[0], "Pooling before the 1×1 convolution",
                  choices=AUX_POOLS),
            _width("conv_channels", 128, "Filters of the 1×1 convolution"),
            _width("hidden", 1024, "Width of the hidden FC layer"),
            Param("dropout", "float", 0.7, "Dropout before the last FC", min=0.0, max=1.0),
            _batch_norm(False), _bn_eps()),
    expand=_expand_aux_v1,
    summary=lambda p: f"{p.classes}",
))


# ---- BN-Inception (Inception v2) -------------------------------------------------------------

def _expand_v2(p, shapes):
    b = GraphBuilder("InceptionV2")
    x = b.block_input("in")
    unit = _Units(b, p, bias=p.bias)
    s = p.stride
    branches = []
    if p.n1x1:
        branches.append(unit("branch1x1", x, p.n1x1, 1, stride=s))
    y = unit("branch3x3_reduce", x, p.n3x3_reduce)
    branches.append(unit("branch3x3", y, p.n3x3, 3, stride=s, padding=1))
    y = unit("branch3x3dbl_reduce", x, p.n3x3dbl_reduce)
    y = unit("branch3x3dbl_1", y, p.n3x3dbl, 3, padding=1)
    branches.append(unit("branch3x3dbl_2", y, p.n3x3dbl, 3, stride=s, padding=1))
    pool_type = "AvgPool2d" if p.pool == "avg" else "MaxPool2d"
    pooled = b.add(pool_type, "pool", x, kernel=3, stride=s, padding=1 if s == 1 else 0,
                   ceil_mode=True)
    branches.append(unit("pool_proj", pooled, p.pool_proj) if p.pool_proj else pooled)
    return _concat(b, *branches)


register(BlockSpec(
    type="InceptionV2", category=CATEGORY, title="BN-Inception module",
    help="The Inception module of BN-Inception (Ioffe & Szegedy 2015, 'Batch Normalization'): "
         "every convolution is followed by batch norm, and the 5×5 branch becomes two stacked "
         "3×3 convolutions (same receptive field, 28% fewer weights). The pooling branch uses "
         "average or max pooling with a 1×1 projection, or passes the pooled input through. The "
         "stride-2 variant (3c, 4e) drops the 1×1 branch (#1×1 = 0), puts the stride on the last "
         "3×3 of each branch and max-pools, halving the grid while widening the channels.",
    params=(_width("n1x1", 64, "#1×1 filters (0 for none)", minimum=0),
            _width("n3x3_reduce", 64, "1×1 filters before the 3×3"),
            _width("n3x3", 64, "#3×3 filters"),
            _width("n3x3dbl_reduce", 64, "1×1 filters before the double 3×3"),
            _width("n3x3dbl", 96, "Filters of each of the two stacked 3×3"),
            Param("pool", "choice", "avg", "Pooling branch", choices=("avg", "max")),
            _width("pool_proj", 32, "1×1 filters after the pool (0 passes the pooled input "
                   "through)", minimum=0),
            Param("stride", "int", 1, "2 halves the grid (the reduction variant)", min=1, max=2),
            Param("bias", "bool", True, "Convolutions learn a bias (the released Caffe model "
                  "does)"),
            _bn_eps(1e-5)),
    expand=_expand_v2,
    summary=lambda p: (f"{p.n1x1 + p.n3x3 + p.n3x3dbl + p.pool_proj}" if p.pool_proj
                       else f"{p.n1x1 + p.n3x3 + p.n3x3dbl} + in") + (" /2" if p.stride == 2 else ""),
))


# ---- Inception v3 (torchvision's InceptionA-E and InceptionAux) ----------------------------------

def _avg_pool_3x3(b, x, include_pad=True):
    return b.add("AvgPool2d", "pool", x, kernel=3, stride=1, padding=1,
                 count_include_pad=include_pad)


def _expand_v3a(p, shapes):
    b = GraphBuilder("InceptionV3A")
    x = b.block_input("in")
    unit = _Units(b, p)
    y1 = unit("branch1x1", x, p.n1x1)
    y2 = unit("branch5x5_2", unit("branch5x5_1", x, p.n5x5_reduce), p.n5x5, 5, padding=2)
    y3 = unit("branch3x3dbl_1", x, p.n3x3dbl_reduce)
    y3 = unit("branch3x3dbl_2", y3, p.n3x3dbl, 3, padding=1)
    y3 = unit("branch3x3dbl_3", y3, p.n3x3dbl, 3, padding=1)
    y4 = unit("branch_pool", _avg_pool_3x3(b, x), p.pool_features)
    return _concat(b, y1, y2, y3, y4)


def _expand_v3b(p, shapes):
    b = GraphBuilder("InceptionV3B")
    x = b.block_input("in")
    unit = _Units(b, p)
    y1 = unit("branch3x3", x, p.n3x3, 3, stride=2)
    y2 = unit("branch3x3dbl_1", x, p.n3x3dbl_reduce)
    y2 = unit("branch3x3dbl_2", y2, p.n3x3dbl, 3, padding=1)
    y2 = unit("branch3x3dbl_3", y2, p.n3x3dbl, 3, stride=2)
    pooled = b.add("MaxPool2d", "pool", x, kernel=3, stride=2)
    return _concat(b, y1, y2, pooled)


def _expand_v3c(p, shapes):
    b = GraphBuilder("InceptionV3C")
    x = b.block_input("in")
    unit = _Units(b, p)
    c7, out = p.channels_7x7, p.branch_channels
    y1 = unit("branch1x1", x, out)
    y2 = unit("branch7x7_1", x, c7)
    y2 = unit("branch7x7_2", y2, c7, (1, 7), padding=(0, 3))
    y2 = unit("branch7x7_3", y2, out, (7, 1), padding=(3, 0))
    y3 = unit("branch7x7dbl_1", x, c7)
    y3 = unit("branch7x7dbl_2", y3, c7, (7, 1), padding=(3, 0))
    y3 = unit("branch7x7dbl_3", y3, c7, (1, 7), padding=(0, 3))
    y3 = unit("branch7x7dbl_4", y3, c7, (7, 1), padding=(3, 0))
    y3 = unit("branch7x7dbl_5", y3, out, (1, 7), padding=(0, 3))
    y4 = unit("branch_pool", _avg_pool_3x3(b, x), out)
    return _concat(b, y1, y2, y3, y4)


def _expand_v3d(p, shapes):
    b = GraphBuilder("InceptionV3D")
    x = b.block_input("in")
    unit = _Units(b, p)
    y1 = unit("branch3x3_2", unit("branch3x3_1", x, p.n3x3_reduce), p.n3x3, 3, stride=2)
    y2 = unit("branch7x7x3_1", x, p.n7x7)
    y2 = unit("branch7x7x3_2", y2, p.n7x7, (1, 7), padding=(0, 3))
    y2 = unit("branch7x7x3_3", y2, p.n7x7, (7, 1), padding=(3, 0))
    y2 = unit("branch7x7x3_4", y2, p.n7x7, 3, stride=2)
    pooled = b.add("MaxPool2d", "pool", x, kernel=3, stride=2)
    return _concat(b, y1, y2, pooled)


def _split_pair(b, unit, name_a, name_b, y, out):
    """Inception v3's expanded filter bank: a 1×3 and a 3×1 side by side, concatenated."""
    a = unit(name_a, y, out, (1, 3), padding=(0, 1))
    c = unit(name_b, y, out, (3, 1), padding=(1, 0))
    return b.add("Concat", f"{name_a}_{name_b.split('_')[-1]}", a, c, num_inputs=2)


def _expand_v3e(p, shapes):
    b = GraphBuilder("InceptionV3E")
    x = b.block_input("in")
    unit = _Units(b, p)
    y1 = unit("branch1x1", x, p.n1x1)
    y2 = unit("branch3x3_1", x, p.n3x3)
    y2 = _split_pair(b, unit, "branch3x3_2a", "branch3x3_2b", y2, p.n3x3)
    y3 = unit("branch3x3dbl_1", x, p.n3x3dbl_reduce)
    y3 = unit("branch3x3dbl_2", y3, p.n3x3, 3, padding=1)
    y3 = _split_pair(b, unit, "branch3x3dbl_3a", "branch3x3dbl_3b", y3, p.n3x3)
    y4 = unit("branch_pool", _avg_pool_3x3(b, x), p.pool_features)
    return _concat(b, y1, y2, y3, y4)


def _expand_aux_v3(p, shapes):
    b = GraphBuilder("InceptionAuxV3")
    x = b.add("AvgPool2d", "pool", b.block_input("in"), kernel=5, stride=3)
    unit = _Units(b, p)
    x = unit("conv1", unit("conv0", x, p.conv_channels), p.hidden, 5)
    x = b.add("GlobalAvgPool2d", "gap", x, flatten=True)
    x = b.add("Linear", "fc", x, out_features=p.classes)
    b.output(x, "out", name="out")
    return b.finish()


_V3_NOTE = " Inner names follow torchvision's Inception3, so its weights load by name."
_V3 = "torchvision.models.inception."   # where torchvision defines Inception3's modules


def _import_v3a(m, shape):
    return dict(n1x1=_width_of(m.branch1x1), n5x5_reduce=_width_of(m.branch5x5_1),
                n5x5=_width_of(m.branch5x5_2), n3x3dbl_reduce=_width_of(m.branch3x3dbl_1),
                n3x3dbl=_width_of(m.branch3x3dbl_2), pool_features=_width_of(m.branch_pool))


def _import_v3b(m, shape):
    return dict(n3x3=_width_of(m.branch3x3), n3x3dbl_reduce=_width_of(m.branch3x3dbl_1),
                n3x3dbl=_width_of(m.branch3x3dbl_2))


def _import_v3c(m, shape):
    return dict(channels_7x7=_width_of(m.branch7x7_1), branch_channels=_width_of(m.branch1x1))


def _import_v3d(m, shape):
    return dict(n3x3_reduce=_width_of(m.branch3x3_1), n3x3=_width_of(m.branch3x3_2),
                n7x7=_width_of(m.branch7x7x3_1))


def _import_v3e(m, shape):
    return dict(n1x1=_width_of(m.branch1x1), n3x3=_width_of(m.branch3x3_2a),
                n3x3dbl_reduce=_width_of(m.branch3x3dbl_1),
                pool_features=_width_of(m.branch_pool))


register(BlockSpec(
    type="InceptionV3A", category=CATEGORY, title="Inception v3 module A (35×35)",
    help="Inception v3's 35×35 module (Szegedy et al. 2015, 'Rethinking the Inception "
         "Architecture', Fig. 5; torchvision's InceptionA): a 1×1 branch, a 1×1 → 5×5 branch, a "
         "1×1 → 3×3 → 3×3 branch (the 5×5 factorised into two 3×3) and a 3×3 average pool with a "
         "1×1 projection of pool features channels, concatenated." + _V3_NOTE,
    params=(_width("n1x1", 64, "#1×1 filters"),
            _width("n5x5_reduce", 48, "1×1 filters before the 5×5"),
            _width("n5x5", 64, "#5×5 filters"),
            _width("n3x3dbl_reduce", 64, "1×1 filters before the double 3×3"),
            _width("n3x3dbl", 96, "Filters of each stacked 3×3"),
            _width("pool_features", 32, "1×1 filters after the average pool"),
            _bn_eps()),
    expand=_expand_v3a,
    summary=lambda p: f"{p.n1x1 + p.n5x5 + p.n3x3dbl + p.pool_features}",
    imports={_V3 + "InceptionA": _import_v3a},
))

register(BlockSpec(
    type="InceptionV3B", category=CATEGORY, title="Inception v3 grid reduction 35→17",
    help="Inception v3's efficient grid-size reduction (Szegedy et al. 2015, Fig. 10; "
         "torchvision's InceptionB): a stride-2 3×3 convolution, a 1×1 → 3×3 → stride-2 3×3 "
         "branch and a stride-2 max pool run in parallel and are concatenated, so the grid "
         "halves while the channels grow, without the representational bottleneck of pooling "
         "first or the cost of expanding first." + _V3_NOTE,
    params=(_width("n3x3", 384, "Filters of the stride-2 3×3 branch"),
            _width("n3x3dbl_reduce", 64, "1×1 filters before the double 3×3"),
            _width("n3x3dbl", 96, "Filters of each stacked 3×3"),
            _bn_eps()),
    expand=_expand_v3b,
    summary=lambda p: f"{p.n3x3 + p.n3x3dbl} + in /2",
    imports={_V3 + "InceptionB": _import_v3b},
))

register(BlockSpec(
    type="InceptionV3C", category=CATEGORY, title="Inception v3 module B (17×17, 1×7/7×1)",
    help="Inception v3's 17×17 module (Szegedy et al. 2015, Fig. 6; torchvision's InceptionC): "
         "n×n convolutions factorised into a 1×n followed by an n×1 (n = 7), which costs 2/n of "
         "the weights for the same receptive field. Four branches (1×1; 1×7 → 7×1; two stacked "
         "7×1 → 1×7 pairs; average pool → 1×1) each give 192 channels; the 7×7 channels set the "
         "inner width (128, 160, 160, 192 in Mixed_6b-6e)." + _V3_NOTE,
    params=(_width("channels_7x7", 128, "Inner width of the factorised 7×7 branches"),
            _width("branch_channels", 192, "Output channels of each branch"),
            _bn_eps()),
    expand=_expand_v3c,
    summary=lambda p: f"{4 * p.branch_channels}, c7={p.channels_7x7}",
    imports={_V3 + "InceptionC": _import_v3c},
))

register(BlockSpec(
    type="InceptionV3D", category=CATEGORY, title="Inception v3 grid reduction 17→8",
    help="Inception v3's second grid-size reduction (torchvision's InceptionD): a 1×1 → "
         "stride-2 3×3 branch, a 1×1 → 1×7 → 7×1 → stride-2 3×3 branch and a stride-2 max pool, "
         "concatenated, taking the 17×17 grid to 8×8." + _V3_NOTE,
    params=(_width("n3x3_reduce", 192, "1×1 filters before the stride-2 3×3"),
            _width("n3x3", 320, "Filters of the stride-2 3×3"),
            _width("n7x7", 192, "Width of the 1×7/7×1 branch"),
            _bn_eps()),
    expand=_expand_v3d,
    summary=lambda p: f"{p.n3x3 + p.n7x7} + in /2",
    imports={_V3 + "InceptionD": _import_v3d},
))

register(BlockSpec(
    type="InceptionV3E", category=CATEGORY, title="Inception v3 module C (8×8, expanded)",
    help="Inception v3's 8×8 module with expanded filter bank outputs (Szegedy et al. 2015, "
         "Fig. 7; torchvision's InceptionE): on the coarsest grid the 3×3 branches end in a 1×3 "
         "and a 3×1 side by side rather than in sequence, widening the representation where "
         "high-dimensional features help most. Output = #1×1 + 4 × #3×3 + pool features "
         "(2048 in Mixed_7b/7c)." + _V3_NOTE,
    params=(_width("n1x1", 320, "#1×1 filters"),
            _width("n3x3", 384, "Filters of each 1×3 and 3×1"),
            _width("n3x3dbl_reduce", 448, "1×1 filters before the 3×3 of the double branch"),
            _width("pool_features", 192, "1×1 filters after the average pool"),
            _bn_eps()),
    expand=_expand_v3e,
    summary=lambda p: f"{p.n1x1 + 4 * p.n3x3 + p.pool_features}",
    imports={_V3 + "InceptionE": _import_v3e},
))

register(BlockSpec(
    type="InceptionAuxV3", category=CATEGORY, title="Inception v3 auxiliary classifier",
    help="Inception v3's auxiliary classifier on the last 17×17 module (Szegedy et al. 2015, "
         "section 4; torchvision's InceptionAux): 5×5/3 average pool, 1×1 conv to 128, 5×5 conv "
         "to 768, global average pool, FC. The paper found it acts mainly as a regulariser "
         "(better with batch norm), not as a gradient shortcut; torchvision's training weighs "
         "its loss by 0.4 and it is unused at inference." + _V3_NOTE,
    params=(Param("classes", "int", 1000, "Output classes", min=1, max=1 << 20),
            _width("conv_channels", 128, "Filters of the 1×1 convolution"),
            _width("hidden", 768, "Filters of the 5×5 convolution"),
            _bn_eps()),
    expand=_expand_aux_v3,
    summary=lambda p: f"{p.classes}",
))


# ---- Inception v4 (timm's inception_v4) ---------------------------------------------------------

STEM_STAGES = ("3a", "4a", "5a")


def _expand_v4_stem_mixed(p, shapes):
    b = GraphBuilder("InceptionV4StemMixed")
    x = b.block_input("in")
    unit = _Units(b, p)
    if p.stage == "3a":
        pooled = b.add("MaxPool2d", "maxpool", x, kernel=3, stride=2)
        return _concat(b, pooled, unit("conv", x, 96, 3, stride=2))
    if p.stage == "4a":
        y1 = unit("branch0.1", unit("branch0.0", x, 64), 96, 3)
        y2 = unit("branch1.0", x, 64)
        y2 = unit("branch1.1", y2, 64, (1, 7), padding=(0, 3))
        y2 = unit("branch1.2", y2, 64, (7, 1), padding=(3, 0))
        return _concat(b, y1, unit("branch1.3", y2, 96, 3))
    conv = unit("conv", x, 192, 3, stride=2)
    return _concat(b, conv, b.add("MaxPool2d", "maxpool", x, kernel=3, stride=2))


register(BlockSpec(
    type="InceptionV4StemMixed", category=CATEGORY, title="Inception-v4 stem concat",
    help="One of the three filter-concatenation stages of the Inception-v4 stem (Szegedy et al. "
         "2016, Fig. 3; timm's Mixed3a/4a/5a): 3a joins a stride-2 3×3 max pool and a stride-2 "
         "3×3 convolution (96); 4a joins a 1×1 → 3×3 branch and a 1×1 → 7×1 → 1×7 → 3×3 branch "
         "(96 each); 5a joins a stride-2 3×3 convolution (192) and a stride-2 max pool. Reducing "
         "the grid with a convolution and a pool side by side keeps information a lone pool "
         "would lose.",
    params=(Param("stage", "choice", "3a", "Which concat stage of the stem", choices=STEM_STAGES),
            _bn_eps()),
    expand=_expand_v4_stem_mixed,
    summary=lambda p: f"mixed {p.stage}",
))


def _expand_v4_stem(p, shapes):
    b = GraphBuilder("InceptionV4Stem")
    x = b.block_input("in")
    unit = _Units(b, p)
    x = unit("conv1", x, 32, 3, stride=2)
    x = unit("conv2", x, 32, 3)
    x = unit("conv3", x, 64, 3, padding=1)
    for stage in STEM_STAGES:
        x = b.add("InceptionV4StemMixed", f"mixed_{stage}", x, stage=stage, bn_eps=p.bn_eps)
    b.output(x, "out", name="out")
    return b.finish()


register(BlockSpec(
    type="InceptionV4Stem", category=CATEGORY, title="Inception-v4 stem",
    help="The stem of Inception-v4 and (in the paper) Inception-ResNet-v2 (Szegedy et al. 2016, "
         "Fig. 3): three 3×3 convolutions (32/2 valid, 32 valid, 64 same) and three "
         "filter-concat stages that take a 299×299 image to a 384×35×35 grid, reducing with "
         "parallel convolution and pooling branches and factorising 7×7 into 7×1 and 1×7.",
    params=(_bn_eps(),),
    expand=_expand_v4_stem,
    summary=lambda p: "384",
))


def _expand_v4a(p, shapes):
    b = GraphBuilder("InceptionV4A")
    x = b.block_input("in")
    unit = _Units(b, p)
    y0 = unit("branch0", x, 96)
    y1 = unit("branch1.1", unit("branch1.0", x, 64), 96, 3, padding=1)
    y2 = unit("branch2.1", unit("branch2.0", x, 64), 96, 3, padding=1)
    y2 = unit("branch2.2", y2, 96, 3, padding=1)
    pooled = b.add("AvgPool2d", "branch3.0", x, kernel=3, stride=1, padding=1,
                   count_include_pad=False)
    return _concat(b, y0, y1, y2, unit("branch3.1", pooled, 96))


def _expand_v4b(p, shapes):
    b = GraphBuilder("InceptionV4B")
    x = b.block_input("in")
    unit = _Units(b, p)
    y0 = unit("branch0", x, 384)
    y1 = unit("branch1.0", x, 192)
    y1 = unit("branch1.1", y1, 224, (1, 7), padding=(0, 3))
    y1 = unit("branch1.2", y1, 256, (7, 1), padding=(3, 0))
    y2 = unit("branch2.0", x, 192)
    for i, (out, kernel) in enumerate(((192, (7, 1)), (224, (1, 7)), (224, (7, 1)),
                                       (256, (1, 7))), 1):
        y2 = unit(f"branch2.{i}", y2, out, kernel, padding=(kernel[0] // 2, kernel[1] // 2))
    pooled = b.add("AvgPool2d", "branch3.0", x, kernel=3, stride=1, padding=1,
                   count_include_pad=False)
    return _concat(b, y0, y1, y2, unit("branch3.1", pooled, 128))


def _expand_v4c(p, shapes):
    b = GraphBuilder("InceptionV4C")
    x = b.block_input("in")
    unit = _Units(b, p)
    y0 = unit("branch0", x, 256)
    y1 = _split_pair(b, unit, "branch1_1a", "branch1_1b", unit("branch1_0", x, 384), 256)
    y2 = unit("branch2_0", x, 384)
    y2 = unit("branch2_1", y2, 448, (3, 1), padding=(1, 0))
    y2 = unit("branch2_2", y2, 512, (1, 3), padding=(0, 1))
    y2 = _split_pair(b, unit, "branch2_3a", "branch2_3b", y2, 256)
    pooled = b.add("AvgPool2d", "branch3.0", x, kernel=3, stride=1, padding=1,
                   count_include_pad=False)
    return _concat(b, y0, y1, y2, unit("branch3.1", pooled, 256))


_V4_NOTE = " Inner names follow timm's inception_v4, so its weights load by name."

register(BlockSpec(
    type="InceptionV4A", category=CATEGORY, title="Inception-v4 A (35×35)",
    help="Inception-v4's 35×35 module (Szegedy et al. 2016, Fig. 4): 1×1 (96), 1×1 → 3×3 (96), "
         "1×1 → 3×3 → 3×3 (96) and average pool → 1×1 (96), concatenated to 384 channels. The "
         "uniform, simplified design of v4 repeats it 4 times." + _V4_NOTE,
    params=(_bn_eps(),), expand=_expand_v4a, summary=lambda p: "384",
))

register(BlockSpec(
    type="InceptionV4B", category=CATEGORY, title="Inception-v4 B (17×17)",
    help="Inception-v4's 17×17 module (Szegedy et al. 2016, Fig. 5): 1×1 (384), 1×1 → 1×7 → 7×1 "
         "(256), 1×1 → 7×1 → 1×7 → 7×1 → 1×7 (256) and average pool → 1×1 (128), concatenated to "
         "1024 channels; 7×7 receptive fields at the cost of 1-D convolutions. Repeated 7 "
         "times." + _V4_NOTE,
    params=(_bn_eps(),), expand=_expand_v4b, summary=lambda p: "1024",
))

register(BlockSpec(
    type="InceptionV4C", category=CATEGORY, title="Inception-v4 C (8×8)",
    help="Inception-v4's 8×8 module (Szegedy et al. 2016, Fig. 6): 1×1 (256), 1×1 → {1×3, 3×1} "
         "(2×256), 1×1 → 3×1 → 1×3 → {1×3, 3×1} (2×256) and average pool → 1×1 (256), "
         "concatenated to 1536 channels; the split 1×3/3×1 ends widen the coarse grid's "
         "representation. Repeated 3 times." + _V4_NOTE,
    params=(_bn_eps(),), expand=_expand_v4c, summary=lambda p: "1536",
))


def _expand_reduction_a(p, shapes):
    b = GraphBuilder("ReductionA")
    x = b.block_input("in")
    unit = _Units(b, p)
    y0 = unit("branch0", x, p.n, 3, stride=2)
    y1 = unit("branch1.1", unit("branch1.0", x, p.k), p.l, 3, padding=1)
    y1 = unit("branch1.2", y1, p.m, 3, stride=2)
    pooled = b.add("MaxPool2d", "branch2", x, kernel=3, stride=2)
    return _concat(b, y0, y1, pooled)


register(BlockSpec(
    type="ReductionA", category=CATEGORY, title="Reduction-A (35→17)",
    help="The 35×35 → 17×17 reduction shared by Inception-v4 and Inception-ResNet (Szegedy et "
         "al. 2016, Fig. 7): a stride-2 3×3 convolution with n filters, a 1×1 (k) → 3×3 (l) → "
         "stride-2 3×3 (m) branch and a stride-2 3×3 max pool, concatenated (output n + m + "
         "input channels). The paper's Table 1 gives (k, l, m, n): Inception-v4 192/224/256/384, "
         "Inception-ResNet-v1 192/192/256/384, Inception-ResNet-v2 256/256/384/384. Inner names "
         "follow timm (ReductionA, Mixed_6a).",
    params=(_width("k", 192, "k: 1×1 filters"), _width("l", 224, "l: 3×3 filters"),
            _width("m", 256, "m: stride-2 3×3 filters after l"),
            _width("n", 384, "n: filters of the lone stride-2 3×3"),
            _bn_eps()),
    expand=_expand_reduction_a,
    summary=lambda p: f"k{p.k} l{p.l} m{p.m} n{p.n}",
))


def _expand_v4_reduction_b(p, shapes):
    b = GraphBuilder("InceptionV4ReductionB")
    x = b.block_input("in")
    unit = _Units(b, p)
    y0 = unit("branch0.1", unit("branch0.0", x, 192), 192, 3, stride=2)
    y1 = unit("branch1.0", x, 256)
    y1 = unit("branch1.1", y1, 256, (1, 7), padding=(0, 3))
    y1 = unit("branch1.2", y1, 320, (7, 1), padding=(3, 0))
    y1 = unit("branch1.3", y1, 320, 3, stride=2)
    pooled = b.add("MaxPool2d", "branch2", x, kernel=3, stride=2)
    return _concat(b, y0, y1, pooled)


register(BlockSpec(
    type="InceptionV4ReductionB", category=CATEGORY, title="Inception-v4 Reduction-B (17→8)",
    help="Inception-v4's 17×17 → 8×8 reduction (Szegedy et al. 2016, Fig. 8): 1×1 (192) → "
         "stride-2 3×3 (192), 1×1 (256) → 1×7 (256) → 7×1 (320) → stride-2 3×3 (320) and a "
         "stride-2 max pool, concatenated (1536 channels from 1024)." + _V4_NOTE,
    params=(_bn_eps(),), expand=_expand_v4_reduction_b, summary=lambda p: "512 + in /2",
))


# ---- Inception-ResNet v1 and v2 ----------------------------------------------------------------

VARIANTS = ("v1", "v2")
# Branch widths from Szegedy et al. 2016, Figs. 10-13 (v1) and 16-19 (v2).
_RES_A = {"v1": ((32,), (32, 32), (32, 32, 32)), "v2": ((32,), (32, 32), (32, 48, 64))}
_RES_B = {"v1": ((128,), (128, 128, 128)), "v2": ((192,), (128, 160, 192))}
_RES_C = {"v1": ((192,), (192, 192, 192)), "v2": ((192,), (192, 224, 256))}
_RES_RB = {"v1": ((256, 384), (256, 256), (256, 256, 256)),
           "v2": ((256, 384), (256, 288), (256, 288, 320))}


def _variant():
    return Param("variant", "choice", "v2", "Branch widths of Inception-ResNet-v1 or -v2",
                 choices=VARIANTS)


def _scale(default):
    return Param("scale", "float", default, "Residual scaling: the branch is multiplied by this "
                 "before the addition (0.1-0.3 keeps very wide residual nets stable)",
                 min=0.0, max=1.0)


def _activation():
    return Param("activation", "bool", True, "ReLU after the addition (timm's last block has none)")


def _projection(b, x, branches, channels):
    """Concatenate the branches and project linearly (1×1 with bias, no BN, no ReLU) back to
    the input's channel count so the sum is defined."""
    y = b.add("Concat", "concat", *branches, num_inputs=len(branches))
    return b.add("Conv2d", "conv2d", y, out_channels=channels, kernel=1, padding=0, bias=True)


def _expand_res_a(p, shapes):
    b = GraphBuilder("InceptionResNetA")
    x = b.block_input("in")
    unit = _Units(b, p)
    w0, w1, w2 = _RES_A[p.variant]
    y0 = unit("branch0", x, w0[0])
    y1 = unit("branch1.1", unit("branch1.0", x, w1[0]), w1[1], 3, padding=1)
    y2 = unit("branch2.0", x, w2[0])
    y2 = unit("branch2.1", y2, w2[1], 3, padding=1)
    y2 = unit("branch2.2", y2, w2[2], 3, padding=1)
    return _residual(b, x, _projection(b, x, (y0, y1, y2), shapes[0][0]), p)


def _expand_res_b(p, shapes):
    b = GraphBuilder("InceptionResNetB")
    x = b.block_input("in")
    unit = _Units(b, p)
    w0, w1 = _RES_B[p.variant]
    y0 = unit("branch0", x, w0[0])
    y1 = unit("branch1.0", x, w1[0])
    y1 = unit("branch1.1", y1, w1[1], (1, 7), padding=(0, 3))
    y1 = unit("branch1.2", y1, w1[2], (7, 1), padding=(3, 0))
    return _residual(b, x, _projection(b, x, (y0, y1), shapes[0][0]), p)


def _expand_res_c(p, shapes):
    b = GraphBuilder("InceptionResNetC")
    x = b.block_input("in")
    unit = _Units(b, p)
    w0, w1 = _RES_C[p.variant]
    y0 = unit("branch0", x, w0[0])
    y1 = unit("branch1.0", x, w1[0])
    y1 = unit("branch1.1", y1, w1[1], (1, 3), padding=(0, 1))
    y1 = unit("branch1.2", y1, w1[2], (3, 1), padding=(1, 0))
    return _residual(b, x, _projection(b, x, (y0, y1), shapes[0][0]), p)


def _expand_res_reduction_b(p, shapes):
    b = GraphBuilder("InceptionResNetReductionB")
    x = b.block_input("in")
    unit = _Units(b, p)
    w0, w1, w2 = _RES_RB[p.variant]
    y0 = unit("branch0.1", unit("branch0.0", x, w0[0]), w0[1], 3, stride=2)
    y1 = unit("branch1.1", unit("branch1.0", x, w1[0]), w1[1], 3, stride=2)
    y2 = unit("branch2.1", unit("branch2.0", x, w2[0]), w2[1], 3, padding=1)
    y2 = unit("branch2.2", y2, w2[2], 3, stride=2)
    pooled = b.add("MaxPool2d", "branch3", x, kernel=3, stride=2)
    return _concat(b, y0, y1, y2, pooled)


_RES_NOTE = (" The branches are concatenated, projected by a linear 1×1 convolution back to the "
             "input's channels, scaled and added to the input: residual connections made "
             "Inception train markedly faster, and scaling the branch (0.1-0.3) stopped very wide "
             "residual Inceptions from dying early in training. Inner names follow timm's "
             "inception_resnet_v2 (Block35/17/8).")

register(BlockSpec(
    type="InceptionResNetA", category=CATEGORY, title="Inception-ResNet-A (35×35)",
    help="Inception-ResNet's 35×35 residual module (Szegedy et al. 2016, Figs. 10 and 16): "
         "1×1, 1×1 → 3×3 and 1×1 → 3×3 → 3×3 branches (32/32/32 in v1; 32/32/64 in v2)."
         + _RES_NOTE,
    params=(_variant(), _scale(0.17), _activation(), _bn_eps()),
    expand=_expand_res_a,
    summary=lambda p: f"{p.variant} ×{p.scale:g}",
))

register(BlockSpec(
    type="InceptionResNetB", category=CATEGORY, title="Inception-ResNet-B (17×17)",
    help="Inception-ResNet's 17×17 residual module (Szegedy et al. 2016, Figs. 11 and 17): a 1×1 "
         "branch and a 1×1 → 1×7 → 7×1 branch (128 and 128/128/128 in v1; 192 and 128/160/192 "
         "in v2)." + _RES_NOTE,
    params=(_variant(), _scale(0.10), _activation(), _bn_eps()),
    expand=_expand_res_b,
    summary=lambda p: f"{p.variant} ×{p.scale:g}",
))

register(BlockSpec(
    type="InceptionResNetC", category=CATEGORY, title="Inception-ResNet-C (8×8)",
    help="Inception-ResNet's 8×8 residual module (Szegedy et al. 2016, Figs. 13 and 19): a 1×1 "
         "branch and a 1×1 → 1×3 → 3×1 branch (192 and 192/192/192 in v1; 192 and 192/224/256 "
         "in v2)." + _RES_NOTE,
    params=(_variant(), _scale(0.20), _activation(), _bn_eps()),
    expand=_expand_res_c,
    summary=lambda p: f"{p.variant} ×{p.scale:g}",
))

register(BlockSpec(
    type="InceptionResNetReductionB", category=CATEGORY,
    title="Inception-ResNet Reduction-B (17→8)",
    help="Inception-ResNet's 17×17 → 8×8 reduction (Szegedy et al. 2016, Figs. 12 and 18): "
         "1×1 → stride-2 3×3 (384), 1×1 → stride-2 3×3 (256 in v1, 288 in v2), 1×1 → 3×3 → "
         "stride-2 3×3 (256 in v1, 320 in v2) and a stride-2 max pool, concatenated; the grid "
         "halves while the parallel branches keep the information a lone pool would drop. "
         "Inner names follow timm's Mixed_7a.",
    params=(_variant(), _bn_eps()),
    expand=_expand_res_reduction_b,
    summary=lambda p: p.variant,
))


def _expand_mixed_5b(p, shapes):
    """The Inception-A-style module that ends TF-slim's Inception-ResNet-v2 stem (timm's
    Mixed_5b): 1×1 (96), 1×1 → 5×5 (64), 1×1 → 3×3 → 3×3 (96), avg pool → 1×1 (64)."""
    b = GraphBuilder("InceptionResNetV2Mixed5b")
    x = b.block_input("in")
    unit = _Units(b, p)
    y0 = unit("branch0", x, 96)
    y1 = unit("branch1.1", unit("branch1.0", x, 48), 64, 5, padding=2)
    y2 = unit("branch2.1", unit("branch2.0", x, 64), 96, 3, padding=1)
    y2 = unit("branch2.2", y2, 96, 3, padding=1)
    pooled = b.add("AvgPool2d", "branch3.0", x, kernel=3, stride=1, padding=1,
                   count_include_pad=False)
    return _concat(b, y0, y1, y2, unit("branch3.1", pooled, 64))


register(BlockSpec(
    type="InceptionResNetV2Mixed5b", category=CATEGORY,
    title="Inception-ResNet-v2 stem module (Mixed 5b)",
    help="The last stage of the released (TF-slim) Inception-ResNet-v2 stem, timm's Mixed_5b: an "
         "Inception-A-style module of 1×1 (96), 1×1 → 5×5 (64), 1×1 → 3×3 → 3×3 (96) and average "
         "pool → 1×1 (64) branches giving 320×35×35 from the 192×35×35 stem output. The released "
         "model uses it in place of the paper's Fig. 3 stem (384 channels).",
    params=(_bn_eps(),), expand=_expand_mixed_5b, summary=lambda p: "320",
))


def _expand_res_stem(p, shapes):
    b = GraphBuilder("InceptionResNetStem")
    x = b.block_input("in")
    unit = _Units(b, p)
    x = unit("conv2d_1a", x, 32, 3, stride=2)
    x = unit("conv2d_2a", x, 32, 3)
    x = unit("conv2d_2b", x, 64, 3, padding=1)
    x = b.add("MaxPool2d", "maxpool_3a", x, kernel=3, stride=2)
    x = unit("conv2d_3b", x, 80, 1)
    x = unit("conv2d_4a", x, 192, 3)
    if p.variant == "v1":
        x = unit("conv2d_4b", x, 256, 3, stride=2)
    else:
        x = b.add("MaxPool2d", "maxpool_5a", x, kernel=3, stride=2)
        x = b.add("InceptionResNetV2Mixed5b", "mixed_5b", x, bn_eps=p.bn_eps)
    b.output(x, "out", name="out")
    return b.finish()


register(BlockSpec(
    type="InceptionResNetStem", category=CATEGORY, title="Inception-ResNet stem",
    help="The stem of Inception-ResNet (Szegedy et al. 2016): 3×3 convolutions (32/2, 32, 64), "
         "a stride-2 max pool, 1×1 (80) and 3×3 (192) take a 299×299 image to 35×35. v1 (Fig. "
         "14) ends with a stride-2 3×3 convolution to 256 channels; v2 is the released TF-slim "
         "stem (timm) ending with a max pool and the Mixed 5b module, 320 channels. The paper's "
         "own v2 stem is the Inception-v4 stem block. Names follow timm.",
    params=(Param("variant", "choice", "v1", "Inception-ResNet-v1 (paper) or -v2 (released)",
                  choices=VARIANTS),
            _bn_eps()),
    expand=_expand_res_stem,
    summary=lambda p: "256" if p.variant == "v1" else "320",
))
