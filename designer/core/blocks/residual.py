"""Residual blocks: ResNet basic and bottleneck blocks (He et al. 2015) with shortcut options
A/B/C, full pre-activation blocks (He et al. 2016), the ResNeXt block (Xie et al. 2017), the
stochastic-depth block (Huang et al. 2016) and the SE-ResNet bottleneck (Hu et al. 2018); and the
parameter-free `ZeroPadShortcut` layer that option A needs.

Inner node names follow torchvision (`conv1`, `bn1`, ..., `downsample.0`, `downsample.1`), so a
block node named `layer1.0` compiles to torchvision's state_dict keys. Each block decides its
shortcut from the input shape it is given, as torchvision's constructors do from `inplanes`.
"""

from ..categories import UTILITY
from ..builder import GraphBuilder
from ..errors import ShapeError
from ..lazy import lazy_module
from ..paramlib import out_channels
from ..params import Param
from ..registry import BlockSpec, LayerInfo, LayerSpec, register
from ..shapes import require_image

modules = lazy_module("designer.core.modules")   # imports torch


def _zero_pad_rule(p, shapes):
    c, h, w = require_image(shapes[0])
    if p.out_channels < c:
        raise ShapeError(f"the input has {c} channels, more than the {p.out_channels} output "
                         "channels: zero padding can only add channels")
    s = p.stride
    return LayerInfo(((p.out_channels, -(-h // s), -(-w // s)),), 0, 0, (1, 1), (s, s))


register(LayerSpec(
    type="ZeroPadShortcut", category=UTILITY, title="Zero-pad shortcut",
    help="The parameter-free shortcut of ResNet option A (He et al. 2015): subsamples by the "
         "stride and pads the extra channels with zeros, so the identity path matches a residual "
         "branch that halves the size and widens the channels.",
    params=(out_channels(64, "Channels after padding (at least the input's)"),
            Param("stride", "int", 1, "Keep every stride-th row and column", min=1, max=16)),
    rule=_zero_pad_rule,
    build=lambda p, s: modules.ZeroPadShortcut(p.out_channels, p.stride),
    summary=lambda p: f"→{p.out_channels}" + (f" /{p.stride}" if p.stride > 1 else ""),
))


# ---- shared parameters and pieces ----------------------------------------------------------

def _stride():
    return Param("stride", "int", 1, "Stride of the block (2 halves height and width)", min=1, max=4)


def _shortcut(default="B"):
    return Param("shortcut", "choice", default,
                 "When the shape changes: A zero-pads channels (no parameters), B projects with a "
                 "1×1 convolution, C projects always", choices=("A", "B", "C"))


def _survival(default=1.0):
    return Param("survival_probability", "float", default,
                 "Stochastic depth: probability of keeping the residual branch in training "
                 "(1 keeps it always)", min=0.01, max=1.0)


def _shortcut_path(b, x, source, in_channels, out_channels, stride, option, norm=True):
    """The shortcut: identity, zero padding (A) or a 1×1 projection (B when the shape changes,
    C always). `source` feeds a projection (pre-activation blocks project the activated input)."""
    changes = stride != 1 or in_channels != out_channels
    if option == "C" or (option == "B" and changes):
        s = b.add("Conv2d", "downsample.0", source, out_channels=out_channels, kernel=1,
                  stride=stride, padding=0, bias=False)
        return b.add("BatchNorm", "downsample.1", s) if norm else s
    if option == "A" and changes:
        return b.add("ZeroPadShortcut", "shortcut", x, out_channels=out_channels, stride=stride)
    return x


def _merge(b, branch, shortcut, p, relu=True):
    if p.survival_probability < 1.0:
        branch = b.add("DropPath", "drop_path", branch,
                       survival_probability=p.survival_probability)
    y = b.add("Add", "add", branch, shortcut)
    if relu:
        y = b.add("ReLU", "relu_out", y)
    b.output(y, "out", name="out")
    return b.finish()


def _conv(b, node_id, x, channels, kernel, stride=1, groups=1):
    return b.add("Conv2d", node_id, x, out_channels=channels, kernel=kernel, stride=stride,
                 padding=kernel // 2, groups=groups, bias=False)


# ---- ResNet basic and bottleneck -----------------------------------------------------------

def _expand_basic(p, shapes):
    c = require_image(shapes[0])[0]
    b = GraphBuilder("BasicBlock")
    x = b.block_input("in")
    y = b.conv_norm_act(x, ("conv1", "bn1", "relu"), out_channels=p.out_channels, kernel=3,
                        stride=p.stride)
    y = b.conv_norm_act(y, ("conv2", "bn2"), act=None, out_channels=p.out_channels, kernel=3)
    shortcut = _shortcut_path(b, x, x, c, p.out_channels, p.stride, p.shortcut)
    return _merge(b, y, shortcut, p)


def bottleneck_width(planes, groups=1, base_width=64):
    """torchvision's inner width of a (ResNeXt) bottleneck: int(planes · base_width / 64) · groups."""
    return int(planes * (base_width / 64.0)) * groups


def _bottleneck_body(b, x, p, width, groups, se_reduction=None):
    out = p.planes * p.expansion
    y = b.conv_norm_act(x, ("conv1", "bn1", "relu1"), out_channels=width, kernel=1)
    y = b.conv_norm_act(y, ("conv2", "bn2", "relu2"), out_channels=width, kernel=3,
                        stride=p.stride, groups=groups)
    y = b.conv_norm_act(y, ("conv3", "bn3"), act=None, out_channels=out, kernel=1)
    if se_reduction is not None:
        y = b.add("SEBlock", "se", y, reduction=se_reduction)
    return y, out


def _expand_bottleneck(p, shapes, title="Bottleneck", groups=None, base_width=None,
                       se_reduction=None):
    c = require_image(shapes[0])[0]
    b = GraphBuilder(title)
    x = b.block_input("in")
    groups = p.groups if groups is None else groups
    width = bottleneck_width(p.planes, groups, p.base_width if base_width is None else base_width)
    y, out = _bottleneck_body(b, x, p, width, groups, se_reduction)
    shortcut = _shortcut_path(b, x, x, c, out, p.stride, p.shortcut)
    return _merge(b, y, shortcut, p)


def _expand_resnext(p, shapes):
    return _expand_bottleneck(p, shapes, "ResNeXtBlock", groups=p.cardinality,
                              base_width=p.bottleneck_width)


def _expand_se_bottleneck(p, shapes):
    return _expand_bottleneck(p, shapes, "SEBottleneck", se_reduction=p.reduction)


def _import_basic(m, shape):
    return dict(out_channels=m.conv1.out_channels, stride=m.conv1.stride[0])


def _import_bottleneck(m, shape):
    planes = m.conv3.out_channels // 4
    width, groups = m.conv2.out_channels, m.conv2.groups
    return dict(planes=planes, stride=m.conv2.stride[0], groups=groups,
                base_width=width * 64 // (planes * groups))


PLANES = Param("planes", "int", 64, "Bottleneck width; the block outputs planes × expansion "
               "channels", min=1, max=16384)
EXPANSION = Param("expansion", "int", 4, "Output channels per bottleneck channel", min=1, max=16)

register(BlockSpec(
    type="BasicBlock", category="residual", title="ResNet basic block",
    help="The basic residual block of ResNet-18/34 and the CIFAR ResNets (He et al. 2015): two 3×3 "
         "convolutions with batch norm learn a residual F(x) that is added to the input, "
         "y = ReLU(F(x) + x). The identity shortcut lets gradients flow through very deep "
         "networks. When the block changes the shape, the shortcut zero-pads (option A) or "
         "projects with a 1×1 convolution (option B; C projects always).",
    params=(out_channels(64, "Output channels"),
            _stride(), _shortcut(), _survival()),
    expand=_expand_basic,
    summary=lambda p: f"{p.out_channels}" + (f" /{p.stride}" if p.stride > 1 else ""),
    imports={"torchvision.models.resnet.BasicBlock": _import_basic},
))

register(BlockSpec(
    type="Bottleneck", category="residual", title="ResNet bottleneck",
    help="The bottleneck residual block of ResNet-50/101/152 (He et al. 2015): a 1×1 convolution "
         "reduces the channels, a 3×3 works at the reduced width, and a 1×1 expands by 4, so deep "
         "networks stay affordable; the input is added back, y = ReLU(F(x) + x). The stride sits "
         "on the 3×3 (torchvision's 'v1.5'). groups and base width give ResNeXt and Wide ResNet "
         "widths by torchvision's formula.",
    params=(PLANES, _stride(), EXPANSION, _shortcut(),
            Param("groups", "int", 1, "Groups of the 3×3 convolution (cardinality)",
                  min=1, max=1024),
            Param("base_width", "int", 64, "Width per group at planes = 64", min=1, max=4096),
            _survival()),
    expand=_expand_bottleneck,
    summary=lambda p: f"{p.planes}→{p.planes * p.expansion}" + (f" /{p.stride}" if p.stride > 1 else ""),
    imports={"torchvision.models.resnet.Bottleneck": _import_bottleneck},
))

register(BlockSpec(
    type="ResNeXtBlock", category="residual", title="ResNeXt block",
    help="ResNeXt's aggregated residual transformation (Xie et al. 2017): C parallel paths of "
         "bottleneck width d, implemented as one grouped 3×3 convolution with C groups between "
         "1×1 convolutions. Raising the cardinality C improves accuracy more than going deeper or "
         "wider at the same cost. The inner width is int(planes·d/64)·C (torchvision's formula: "
         "32×4d gives 128 at planes 64).",
    params=(PLANES, _stride(),
            Param("cardinality", "int", 32, "Number of paths C (groups of the 3×3)",
                  min=1, max=1024),
            Param("bottleneck_width", "int", 4, "Width d of each path at planes = 64",
                  min=1, max=4096),
            EXPANSION, _shortcut(), _survival()),
    expand=_expand_resnext,
    summary=lambda p: f"{p.cardinality}×{p.bottleneck_width}d, {p.planes * p.expansion}"
                      + (f" /{p.stride}" if p.stride > 1 else ""),
))

register(BlockSpec(
    type="SEBottleneck", category="residual", title="SE-ResNet bottleneck",
    help="The SE-ResNet bottleneck (Hu et al. 2018): a ResNet bottleneck whose residual branch "
         "passes through a squeeze-and-excitation block (global pool, C → C/r → C, sigmoid) before "
         "the addition, so each block reweights its channels from global context for about 10% "
         "more parameters. Named like timm's SE-ResNets (`se.fc1`, `se.fc2`).",
    params=(PLANES, _stride(), EXPANSION, _shortcut(),
            Param("reduction", "int", 16, "SE reduction ratio r", min=1, max=1024),
            Param("groups", "int", 1, "Groups of the 3×3 convolution (SE-ResNeXt)",
                  min=1, max=1024),
            Param("base_width", "int", 64, "Width per group at planes = 64", min=1, max=4096),
            _survival()),
    expand=_expand_se_bottleneck,
    summary=lambda p: f"{p.planes}→{p.planes * p.expansion}, r={p.reduction}"
                      + (f" /{p.stride}" if p.stride > 1 else ""),
))


# ---- stochastic depth ----------------------------------------------------------------------

def survival_probability(index, count, last=0.5):
    """Huang et al. 2016's linear decay: block l of L (1-based) survives with
    p_l = 1 − l/L · (1 − p_L), from nearly 1 at the input to p_L at the last block."""
    return 1.0 - index / count * (1.0 - last)


register(BlockSpec(
    type="StochasticDepthBlock", category="residual", title="Stochastic-depth block",
    help="A basic residual block with stochastic depth (Huang et al. 2016): in training the whole "
         "residual branch is dropped for a sample with probability 1 − p, leaving only the "
         "shortcut, so the network is effectively shallower while it learns and a full-depth "
         "ensemble at test time. The paper decays p linearly with depth, p_l = 1 − l/L·(1 − p_L), "
         "with p_L = 0.5. Its CIFAR shortcuts subsample and zero-pad (option A).",
    params=(out_channels(64, "Output channels"),
            _stride(), _survival(0.8), _shortcut("A")),
    expand=_expand_basic,
    summary=lambda p: f"{p.out_channels}, p={p.survival_probability:g}"
                      + (f" /{p.stride}" if p.stride > 1 else ""),
))


# ---- full pre-activation -------------------------------------------------------------------

def _expand_preact_basic(p, shapes):
    c = require_image(shapes[0])[0]
    b = GraphBuilder("PreActBasicBlock")
    x = b.block_input("in")
    a = b.add("ReLU", "relu1", b.add("BatchNorm", "bn1", x))
    y = _conv(b, "conv1", a, p.out_channels, 3, p.stride)
    y = b.add("ReLU", "relu2", b.add("BatchNorm", "bn2", y))
    y = _conv(b, "conv2", y, p.out_channels, 3)
    shortcut = _shortcut_path(b, x, a, c, p.out_channels, p.stride, p.shortcut, norm=False)
    return _merge(b, y, shortcut, p, relu=False)


def _expand_preact_bottleneck(p, shapes):
    c = require_image(shapes[0])[0]
    out = p.planes * p.expansion
    b = GraphBuilder("PreActBottleneck")
    x = b.block_input("in")
    a = b.add("ReLU", "relu1", b.add("BatchNorm", "bn1", x))
    y = _conv(b, "conv1", a, p.planes, 1)
    y = b.add("ReLU", "relu2", b.add("BatchNorm", "bn2", y))
    y = _conv(b, "conv2", y, p.planes, 3, p.stride)
    y = b.add("ReLU", "relu3", b.add("BatchNorm", "bn3", y))
    y = _conv(b, "conv3", y, out, 1)
    shortcut = _shortcut_path(b, x, a, c, out, p.stride, p.shortcut, norm=False)
    return _merge(b, y, shortcut, p, relu=False)


_PREACT_IDEA = ("Full pre-activation (He et al. 2016, 'Identity Mappings in Deep Residual "
                "Networks'): batch norm and ReLU come before each convolution and nothing follows "
                "the addition, so the shortcut is a clean identity from block to block and "
                "signals propagate directly through 1000-layer networks. A projection shortcut "
                "takes the activated input; the network needs a final BN-ReLU before its head.")

register(BlockSpec(
    type="PreActBasicBlock", category="residual", title="Pre-activation basic block",
    help=_PREACT_IDEA + " Basic form: BN-ReLU-3×3, BN-ReLU-3×3.",
    params=(out_channels(64, "Output channels"),
            _stride(), _shortcut(), _survival()),
    expand=_expand_preact_basic,
    summary=lambda p: f"{p.out_channels}" + (f" /{p.stride}" if p.stride > 1 else ""),
))

register(BlockSpec(
    type="PreActBottleneck", category="residual", title="Pre-activation bottleneck",
    help=_PREACT_IDEA + " Bottleneck form: BN-ReLU-1×1, BN-ReLU-3×3 (stride), BN-ReLU-1×1 "
         "expanding by 4 (ResNet-164 and -1001 on CIFAR).",
    params=(Param("planes", "int", 16, "Bottleneck width; the block outputs planes × expansion "
                  "channels", min=1, max=16384),
            _stride(), EXPANSION, _shortcut(), _survival()),
    expand=_expand_preact_bottleneck,
    summary=lambda p: f"{p.planes}→{p.planes * p.expansion}" + (f" /{p.stride}" if p.stride > 1 else ""),
))
