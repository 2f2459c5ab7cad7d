"""GhostNet's blocks (Han et al. 2020): the Ghost module and the Ghost bottleneck.

Inner names follow timm's `GhostModule` and `GhostBottleneck` (`primary_conv.0`,
`cheap_operation.0`, `ghost1`, `conv_dw`, `se.conv_reduce`, `shortcut.0`, ...), so a bottleneck
node named `blocks.3.0` compiles to timm's `ghostnet_100` state_dict keys. The squeeze-and-excite
inside the bottleneck is built here from primitives with timm's `SqueezeExcite` names and
rounding (squeezed width rounded to a multiple of 4, hard-sigmoid gate).
"""

import math

from ..builder import GraphBuilder
from ..errors import ShapeError
from ..paramlib import out_channels
from ..params import Param
from ..registry import BlockSpec, register
from ..shapes import require_image


def make_divisible(value, divisor, round_limit=0.9):
    """The nearest multiple of `divisor` (at least `divisor`), bumped up once if rounding lost
    more than 10%: timm's and the MobileNet family's channel rounding."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < round_limit * value:
        rounded += divisor
    return rounded


def ghost_widths(out_channels, ratio):
    """(primary, cheap) channels of a Ghost module: ceil(out / s) intrinsic maps and s - 1 cheap
    maps from each."""
    primary = math.ceil(out_channels / ratio)
    return primary, primary * (ratio - 1)


def add_ghost_module(b, prefix, x, out_channels, ratio=2, kernel=1, dw_kernel=3, stride=1,
                     relu=True):
    """The Ghost module's layers under `prefix` (e.g. 'ghost1.'); returns the output ref."""
    primary, cheap = ghost_widths(out_channels, ratio)
    act = "ReLU" if relu else None
    y = b.conv_norm_act(x, [f"{prefix}primary_conv.{i}" for i in range(3)], act=act,
                        out_channels=primary, kernel=kernel, stride=stride)
    z = b.conv_norm_act(y, [f"{prefix}cheap_operation.{i}" for i in range(3)], act=act,
                        out_channels=cheap, kernel=dw_kernel, groups=primary)
    out = b.add("Concat", f"{prefix}cat", y, z)
    if primary + cheap > out_channels:
        out = b.add("ChannelSlice", f"{prefix}slice", out, channels=out_channels)
    return out


def _ghost_params(default_out=64):
    return (out_channels(default_out),
            Param("ratio", "int", 2, "s: output maps per intrinsic map (s - 1 of them cheap)",
                  min=2, max=16),
            Param("kernel", "int", 1, "Kernel of the primary convolution", min=1, max=11),
            Param("dw_kernel", "int", 3, "Kernel d of the cheap depthwise operation",
                  min=1, max=11))


def _expand_ghost(p, shapes):
    require_image(shapes[0])
    b = GraphBuilder("GhostModule")
    x = b.block_input("in")
    y = add_ghost_module(b, "", x, p.out_channels, p.ratio, p.kernel, p.dw_kernel, p.stride,
                         p.relu)
    b.output(y, "out", name="out")
    return b.finish()


register(BlockSpec(
    type="GhostModule", category="efficient", title="Ghost module",
    help="GhostNet's Ghost module (Han et al. 2020): feature maps of ordinary CNNs come in "
         "near-duplicate pairs, so only out/s 'intrinsic' maps are made by a real convolution and "
         "the rest are generated from them by cheap d×d depthwise convolutions; both sets are "
         "concatenated. For the same output it costs about s times fewer multiply-adds and "
         "parameters than a plain convolution.",
    params=_ghost_params() + (
        Param("stride", "int", 1, "Stride of the primary convolution", min=1, max=4),
        Param("relu", "bool", True, "ReLU after both convolutions (off for the linear "
              "projection of a bottleneck)")),
    expand=_expand_ghost,
    summary=lambda p: f"{p.out_channels} s={p.ratio}",
))


def _expand_ghost_bottleneck(p, shapes):
    c = require_image(shapes[0])[0]
    if p.kernel % 2 == 0:
        raise ShapeError(f"the depthwise kernel {p.kernel} must be odd for the shortcut and the "
                         "residual branch to keep the same size")
    b = GraphBuilder("GhostBottleneck")
    x = b.block_input("in")
    y = add_ghost_module(b, "ghost1.", x, p.mid_channels, p.ratio, dw_kernel=p.dw_kernel_ghost)
    if p.stride > 1:
        y = b.conv_norm_act(y, ("conv_dw", "bn_dw"), conv="DepthwiseConv2d", act=None,
                            kernel=p.kernel, stride=p.stride)
    if p.se_ratio > 0:
        squeezed = make_divisible(p.mid_channels * p.se_ratio, 4)
        s = b.add("GlobalAvgPool2d", "se.pool", y)
        s = b.add("Conv2d", "se.conv_reduce", s, out_channels=squeezed, kernel=1, padding=0)
        s = b.add("ReLU", "se.act1", s)
        s = b.add("Conv2d", "se.conv_expand", s, out_channels=p.mid_channels, kernel=1,
                  padding=0)
        s = b.add("Hardsigmoid", "se.gate", s)
        y = b.add("Multiply", "se.scale", y, s)
    y = add_ghost_module(b, "ghost2.", y, p.out_channels, p.ratio, dw_kernel=p.dw_kernel_ghost,
                         relu=False)
    shortcut = x
    if p.stride != 1 or c != p.out_channels:
        shortcut = b.conv_norm_act(x, ("shortcut.0", "shortcut.1"), conv="DepthwiseConv2d",
                                   act=None, kernel=p.kernel, stride=p.stride)
        shortcut = b.conv_norm_act(shortcut, ("shortcut.2", "shortcut.3"), act=None,
                                   out_channels=p.out_channels, kernel=1)
    y = b.add("Add", "add", y, shortcut)
    b.output(y, "out", name="out")
    return b.finish()


register(BlockSpec(
    type="GhostBottleneck", category="efficient", title="Ghost bottleneck",
    help="GhostNet's bottleneck (Han et al. 2020), shaped like MobileNetV2's inverted residual: "
         "a Ghost module expands to the hidden width (with ReLU), a stride-2 depthwise "
         "convolution downsamples when asked, an optional squeeze-and-excite (hard-sigmoid gate) "
         "reweights channels, and a second Ghost module without ReLU projects to the output. The "
         "shortcut is the identity, or a depthwise + 1×1 convolution when the shape changes.",
    params=(Param("mid_channels", "int", 128, "Hidden (expanded) channels", min=1, max=16384),
            out_channels(64, "Output channels"),
            Param("kernel", "int", 3, "Depthwise kernel of the stride-2 and shortcut "
                  "convolutions", min=1, max=11),
            Param("stride", "int", 1, "Stride (2 halves the size)", min=1, max=4),
            Param("se_ratio", "float", 0.0, "Squeeze-and-excite reduction (0 = none; GhostNet "
                  "uses 0.25)", min=0.0, max=1.0),
            Param("ratio", "int", 2, "s of both Ghost modules", min=2, max=16),
            Param("dw_kernel_ghost", "int", 3, "Cheap-operation kernel d of both Ghost modules",
                  min=1, max=11)),
    expand=_expand_ghost_bottleneck,
    summary=lambda p: f"{p.mid_channels}→{p.out_channels}"
                      + (f" /{p.stride}" if p.stride > 1 else "") + (" SE" if p.se_ratio else ""),
))
