"""Mobile blocks: MobileNet v1's depthwise-separable block (Howard et al. 2017), MobileNetV2's
inverted residual (Sandler et al. 2018) and the IGCV3 block (Sun et al. 2018).

Inner names follow the reference implementations so weights load by name: the depthwise-separable
block like timm's `DepthwiseSeparableConv` (`conv_dw`, `bn1`, `conv_pw`, `bn2`), the inverted
residual like torchvision's `InvertedResidual` (`conv.0.0` ... `conv.3`), the IGCV3 block like
pytorchcv's `InvResUnit` (`conv1.conv`, `conv1.bn`, ..., `conv3.bn`).
"""

from ..builder import GraphBuilder
from ..lazy import lazy_module
from ..paramlib import out_channels
from ..params import Param
from ..registry import BlockSpec, register
from ..shapes import check_divides, require_image

nn = lazy_module("torch.nn")

ACTIVATIONS = {"relu": "ReLU", "relu6": "ReLU6"}


def scaled_channels(channels, alpha):
    """A width multiplier applied as TF-slim's MobileNet does: int(c·α), at least min(c, 8)."""
    return max(int(channels * alpha), min(channels, 8))


def _activation():
    return Param("activation", "choice", "relu", "Nonlinearity after each batch norm (the paper "
                 "uses ReLU; TF-slim and timm use ReLU6)", choices=tuple(ACTIVATIONS))


def _stride():
    return Param("stride", "int", 1, "Stride of the depthwise convolution (2 halves the size)",
                 min=1, max=4)


# ---- MobileNet v1 ---------------------------------------------------------------------------

def _expand_separable(p, shapes):
    require_image(shapes[0])
    act = ACTIVATIONS[p.activation]
    out = scaled_channels(p.out_channels, p.alpha)
    b = GraphBuilder("DepthwiseSeparable")
    x = b.block_input("in")
    y = b.conv_norm_act(x, ("conv_dw", "bn1", "act1"), conv="DepthwiseConv2d", act=act,
                        kernel=p.kernel, stride=p.stride)
    y = b.conv_norm_act(y, ("conv_pw", "bn2", "act2"), conv="PointwiseConv2d", act=act,
                        out_channels=out)
    b.output(y, "out", name="out")
    return b.finish()


register(BlockSpec(
    type="DepthwiseSeparable", category="efficient", title="Depthwise-separable block",
    help="MobileNet v1's building block (Howard et al. 2017): a 3×3 depthwise convolution filters "
         "each channel on its own, then a 1×1 pointwise convolution mixes channels, each followed "
         "by batch norm and ReLU. It costs about 1/N + 1/9 of a full 3×3 convolution. The width "
         "multiplier α thins every layer uniformly (output channels int(α·c)), trading accuracy "
         "for roughly α² fewer multiply-adds and parameters.",
    params=(out_channels(64, "Pointwise filters at α = 1"),
            _stride(),
            Param("alpha", "float", 1.0, "Width multiplier α (0.25, 0.5, 0.75, 1)",
                  min=0.05, max=4.0),
            Param("kernel", "int", 3, "Depthwise kernel size", min=1, max=11),
            _activation()),
    expand=_expand_separable,
    summary=lambda p: f"dw/pw {scaled_channels(p.out_channels, p.alpha)}"
                      + (f" /{p.stride}" if p.stride > 1 else ""),
))


# ---- MobileNetV2 ----------------------------------------------------------------------------

def _expand_inverted(p, shapes):
    c = require_image(shapes[0])[0]
    act = ACTIVATIONS[p.activation]
    hidden = int(round(c * p.expansion))
    b = GraphBuilder("InvertedResidual")
    x = b.block_input("in")
    y, i = x, 0
    if p.expansion != 1:
        y = b.conv_norm_act(y, ("conv.0.0", "conv.0.1", "conv.0.2"), act=act,
                            out_channels=hidden, kernel=1)
        i = 1
    y = b.conv_norm_act(y, (f"conv.{i}.0", f"conv.{i}.1", f"conv.{i}.2"), conv="DepthwiseConv2d",
                        act=act, kernel=p.kernel, stride=p.stride)
    # Linear bottleneck: no nonlinearity after the projection, which would destroy information
    # in the narrow representation.
    y = b.conv_norm_act(y, (f"conv.{i + 1}", f"conv.{i + 2}"), act=None,
                        out_channels=p.out_channels, kernel=1)
    if p.stride == 1 and c == p.out_channels:
        y = b.add("Add", "add", x, y)
    b.output(y, "out", name="out")
    return b.finish()


def _import_inverted(m, shape):
    project = [c for c in m.conv.modules() if isinstance(c, nn.Conv2d)][-1]
    return dict(out_channels=project.out_channels, stride=m.stride,
                expansion=project.in_channels / shape[0])


register(BlockSpec(
    type="InvertedResidual", category="efficient", title="Inverted residual",
    help="MobileNetV2's inverted residual with linear bottleneck (Sandler et al. 2018): a 1×1 "
         "convolution expands the narrow input t times, a 3×3 depthwise convolution filters it, "
         "and a 1×1 projection returns to a narrow output with no nonlinearity (ReLU would lose "
         "information in so few channels). The shortcut joins the narrow ends, and only when the "
         "stride is 1 and the channels match. With t = 1 the expansion is left out.",
    params=(out_channels(24, "Output channels"),
            _stride(),
            Param("expansion", "float", 6.0, "Expansion factor t", min=1.0, max=16.0),
            Param("kernel", "int", 3, "Depthwise kernel size", min=1, max=11),
            Param("activation", "choice", "relu6", "Nonlinearity after the expansion and the "
                  "depthwise convolution", choices=tuple(ACTIVATIONS))),
    expand=_expand_inverted,
    summary=lambda p: f"t={p.expansion:g}, {p.out_channels}"
                      + (f" /{p.stride}" if p.stride > 1 else ""),
    imports={"torchvision.models.mobilenetv2.InvertedResidual": _import_inverted},
))


# ---- IGCV3 ----------------------------------------------------------------------------------

def _expand_igcv3(p, shapes):
    c = require_image(shapes[0])[0]
    hidden = int(round(c * p.expansion))
    for channels, what in ((c, "input channels"), (hidden, "expanded channels"),
                           (p.out_channels, "output channels")):
        check_divides(p.groups, channels, what)
    b = GraphBuilder("IGCV3Block")
    x = b.block_input("in")
    y = b.conv_norm_act(x, ("conv1.conv", "conv1.bn"), act=None, out_channels=hidden, kernel=1,
                        groups=p.groups)
    y = b.add("ChannelShuffle", "c_shuffle", y, groups=p.groups)
    y = b.conv_norm_act(y, ("conv2.conv", "conv2.bn", "conv2.activ"), conv="DepthwiseConv2d",
                        act="ReLU6", kernel=3, stride=p.stride)
    y = b.conv_norm_act(y, ("conv3.conv", "conv3.bn"), act=None, out_channels=p.out_channels,
                        kernel=1, groups=p.groups)
    if p.permute_output and p.out_channels // p.groups > 1:
        # The inverse of the first shuffle: back to the order the next block's groups expect.
        y = b.add("ChannelShuffle", "c_shuffle_out", y, groups=p.out_channels // p.groups)
    if p.stride == 1 and c == p.out_channels:
        y = b.add("Add", "add", y, x)
    b.output(y, "out", name="out")
    return b.finish()


register(BlockSpec(
    type="IGCV3Block", category="efficient", title="IGCV3 block",
    help="The IGCV3 block (Sun et al. 2018): an inverted residual whose two dense 1×1 "
         "convolutions become low-rank group convolutions (G groups each), interleaved with the "
         "3×3 depthwise convolution by channel permutations so every output still depends on "
         "every input. Only the depthwise convolution is followed by ReLU6. Same shape as "
         "MobileNetV2's block at a fraction of the 1×1 cost, which buys more layers and width.",
    params=(out_channels(24, "Output channels"),
            _stride(),
            Param("expansion", "float", 6.0, "Expansion factor t", min=1.0, max=16.0),
            Param("groups", "int", 2, "Groups of both 1×1 group convolutions", min=1, max=64),
            Param("permute_output", "bool", True, "Permute the output back after the second "
                  "group convolution (as the authors' code does)")),
    expand=_expand_igcv3,
    summary=lambda p: f"t={p.expansion:g}, {p.out_channels} g{p.groups}"
                      + (f" /{p.stride}" if p.stride > 1 else ""),
))
