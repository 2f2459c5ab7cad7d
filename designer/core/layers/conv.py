"""Convolutions: standard (groups, dilation, 1×n / n×1), depthwise, pointwise, separable, transposed.

Input channels are never a parameter: they come from the incoming shape, as in Keras.
"""

from ..categories import CONVOLUTION
from ..lazy import lazy_module
from ..paramlib import BIAS, DILATION, KERNEL, PADDING, STRIDE, out_channels
from ..params import Param, format_pair, format_window
from ..registry import LayerInfo, LayerSpec, NotImportable, register
from ..shapes import check_divides, require_image, resolve_padding, window_output

nn = lazy_module("torch.nn")
modules = lazy_module("designer.core.modules")   # imports torch


def _window_summary(p, channels=None):
    """'11×11 /4 · 96': window, stride (when not 1), dilation, output channels."""
    text = format_window(p.kernel)
    if p.stride != (1, 1):
        text += f" /{format_pair(p.stride)}"
    if getattr(p, "dilation", (1, 1)) != (1, 1):
        text += f" dilation {format_pair(p.dilation)}"
    return f"{text} · {channels}" if channels is not None else text


def _conv_geometry(p, shape):
    c, h, w = require_image(shape)
    padding = resolve_padding(p.padding, p.kernel, p.stride, p.dilation)
    out_hw = window_output((h, w), p.kernel, p.stride, padding, p.dilation)
    extent = tuple(d * (k - 1) + 1 for k, d in zip(p.kernel, p.dilation))
    return c, padding, out_hw, extent


def _conv_rule(p, shapes):
    c, _, (oh, ow), extent = _conv_geometry(p, shapes[0])
    check_divides(p.groups, c, "input channels")
    check_divides(p.groups, p.out_channels, "output channels")
    kh, kw = p.kernel
    weights = p.out_channels * (c // p.groups) * kh * kw
    params = weights + (p.out_channels if p.bias else 0)
    return LayerInfo(((p.out_channels, oh, ow),), params, weights * oh * ow, extent, p.stride)


def _conv_build(p, shapes):
    padding = resolve_padding(p.padding, p.kernel, p.stride, p.dilation)
    return nn.Conv2d(shapes[0][0], p.out_channels, p.kernel, p.stride, padding, p.dilation,
                     p.groups, p.bias)


def _import_conv(m, shape):
    if m.padding_mode != "zeros":
        raise NotImportable(f"padding mode {m.padding_mode!r}")
    return dict(out_channels=m.out_channels, kernel=m.kernel_size, stride=m.stride,
                padding=m.padding, dilation=m.dilation, groups=m.groups, bias=m.bias is not None)


register(LayerSpec(
    type="Conv2d", category=CONVOLUTION, title="Convolution",
    help="2-D convolution. Non-square kernels (1×7, 7×1) give Inception v3's factorised "
         "convolutions; groups > 1 gives grouped convolution (AlexNet, ResNeXt); dilation widens "
         "the receptive field without more weights.",
    params=(out_channels(64, "Number of filters"),
            KERNEL, STRIDE, PADDING, DILATION,
            Param("groups", "int", 1, "Channel groups (must divide in and out channels)",
                  min=1, max=65536),
            BIAS),
    rule=_conv_rule, build=_conv_build,
    summary=lambda p: _window_summary(p, p.out_channels) + (f" · {p.groups} groups" if p.groups > 1 else ""),
    imports={"torch.nn.modules.conv.Conv2d": _import_conv},
))


def _depthwise_rule(p, shapes):
    c, _, (oh, ow), extent = _conv_geometry(p, shapes[0])
    out = c * p.multiplier
    kh, kw = p.kernel
    weights = out * kh * kw
    return LayerInfo(((out, oh, ow),), weights + (out if p.bias else 0), weights * oh * ow,
                     extent, p.stride)


def _depthwise_build(p, shapes):
    c = shapes[0][0]
    padding = resolve_padding(p.padding, p.kernel, p.stride, p.dilation)
    return nn.Conv2d(c, c * p.multiplier, p.kernel, p.stride, padding, p.dilation, c, p.bias)


register(LayerSpec(
    type="DepthwiseConv2d", category=CONVOLUTION, title="Depthwise convolution",
    help="One k×k filter per input channel (groups = channels): the spatial half of a "
         "depthwise-separable convolution (MobileNet, Xception).",
    params=(KERNEL, STRIDE, PADDING, DILATION,
            Param("multiplier", "int", 1, "Output channels per input channel", min=1, max=64),
            Param("bias", "bool", False, "Learn a bias per output channel")),
    rule=_depthwise_rule, build=_depthwise_build,
    summary=lambda p: _window_summary(p) + " depthwise",
))


def _pointwise_rule(p, shapes):
    c, h, w = require_image(shapes[0])
    check_divides(p.groups, c, "input channels")
    check_divides(p.groups, p.out_channels, "output channels")
    weights = p.out_channels * (c // p.groups)
    return LayerInfo(((p.out_channels, h, w),), weights + (p.out_channels if p.bias else 0),
                     weights * h * w)


register(LayerSpec(
    type="PointwiseConv2d", category=CONVOLUTION, title="Pointwise convolution",
    help="1×1 convolution: mixes channels at each position; the other half of a separable "
         "convolution, and NIN's cross-channel pooling.",
    params=(out_channels(64, "Number of filters"),
            Param("groups", "int", 1, "Channel groups", min=1, max=65536),
            Param("bias", "bool", False, "Learn a bias per output channel")),
    rule=_pointwise_rule,
    build=lambda p, s: nn.Conv2d(s[0][0], p.out_channels, 1, 1, 0, 1, p.groups, p.bias),
    summary=lambda p: f"1×1 · {p.out_channels}" + (f" · {p.groups} groups" if p.groups > 1 else ""),
))


def _separable_rule(p, shapes):
    c, _, (oh, ow), extent = _conv_geometry(p, shapes[0])
    kh, kw = p.kernel
    depthwise = c * kh * kw
    pointwise = p.out_channels * c
    params = depthwise + pointwise + (p.out_channels if p.bias else 0)
    return LayerInfo(((p.out_channels, oh, ow),), params, (depthwise + pointwise) * oh * ow,
                     extent, p.stride)


def _separable_build(p, shapes):
    padding = resolve_padding(p.padding, p.kernel, p.stride, p.dilation)
    return modules.SeparableConv2d(shapes[0][0], p.out_channels, p.kernel, p.stride, padding,
                                   p.dilation, p.bias)


register(LayerSpec(
    type="SeparableConv2d", category=CONVOLUTION, title="Separable convolution",
    help="Depthwise k×k convolution then pointwise 1×1, with no non-linearity between (Xception): "
         "far fewer weights and multiply-adds than a full convolution.",
    params=(out_channels(64, "Number of filters"),
            KERNEL, STRIDE, PADDING, DILATION,
            Param("bias", "bool", False, "Learn a bias per output channel")),
    rule=_separable_rule, build=_separable_build,
    summary=lambda p: _window_summary(p, p.out_channels) + " separable",
))


def _transpose_rule(p, shapes):
    c, h, w = require_image(shapes[0])
    check_divides(p.groups, c, "input channels")
    check_divides(p.groups, p.out_channels, "output channels")
    out_hw = []
    for n, k, s, pad, op, d in zip((h, w), p.kernel, p.stride, p.padding, p.output_padding, p.dilation):
        out_hw.append((n - 1) * s - 2 * pad + d * (k - 1) + op + 1)
    if min(out_hw) < 1:
        from ..errors import ShapeError
        raise ShapeError(f"the output would be {out_hw[0]}×{out_hw[1]}: reduce the padding")
    for op, s, d in zip(p.output_padding, p.stride, p.dilation):
        if op >= max(s, d):
            from ..errors import ShapeError
            raise ShapeError("output padding must be smaller than the stride or the dilation")
    kh, kw = p.kernel
    weights = c * (p.out_channels // p.groups) * kh * kw
    params = weights + (p.out_channels if p.bias else 0)
    return LayerInfo(((p.out_channels, *out_hw),), params, weights * h * w)


register(LayerSpec(
    type="ConvTranspose2d", category=CONVOLUTION, title="Transposed convolution",
    help="Transposed (fractionally strided) convolution: learnable upsampling.",
    params=(out_channels(64, "Number of filters"),
            Param("kernel", "pair", (2, 2), "Kernel", min=1, max=64),
            Param("stride", "pair", (2, 2), "Stride", min=1, max=64),
            Param("padding", "pair", (0, 0), "Padding", min=0, max=64),
            Param("output_padding", "pair", (0, 0), "Extra rows/columns on one side", min=0, max=63),
            DILATION,
            Param("groups", "int", 1, "Channel groups", min=1, max=65536),
            BIAS),
    rule=_transpose_rule,
    build=lambda p, s: nn.ConvTranspose2d(s[0][0], p.out_channels, p.kernel, p.stride, p.padding,
                                          p.output_padding, p.groups, p.bias, p.dilation),
    summary=lambda p: _window_summary(p, p.out_channels) + " upsampling",
))
