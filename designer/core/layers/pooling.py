"""Pooling: max/average windows, global, adaptive, spatial pyramid, and over channels."""

from ..categories import POOLING
from ..errors import ShapeError
from ..lazy import lazy_module
from ..params import Param, format_pair, format_window
from ..registry import LayerInfo, LayerSpec, NotImportable, register
from ..shapes import require_image, window_output

nn = lazy_module("torch.nn")
modules = lazy_module("designer.core.modules")   # imports torch


def _window_params(default_kernel=2):
    return (Param("kernel", "pair", (default_kernel, default_kernel), "Window height × width", min=1, max=64),
            Param("stride", "pair", (default_kernel, default_kernel), "Stride", min=1, max=64),
            Param("padding", "pair", (0, 0), "Implicit padding (at most half the window)", min=0, max=32),
            Param("ceil_mode", "bool", False, "Round the output size up (Caffe-style)"))


def _pool_rule(p, shapes):
    c, h, w = require_image(shapes[0])
    for k, pad in zip(p.kernel, p.padding):
        if pad > k // 2:
            raise ShapeError(f"padding {format_pair(p.padding)} is more than half the window "
                             f"{format_pair(p.kernel)}")
    oh, ow = window_output((h, w), p.kernel, p.stride, p.padding, ceil_mode=p.ceil_mode,
                           what="window")
    return LayerInfo(((c, oh, ow),), 0, 0, p.kernel, p.stride)


def _pool_summary(p):
    """'3×3 /2'."""
    return f"{format_window(p.kernel)} /{format_pair(p.stride)}"


def _import_window(m):
    """The window parameters of torch's MaxPool2d or AvgPool2d (a stride of None is the window)."""
    return dict(kernel=m.kernel_size, stride=m.stride or m.kernel_size, padding=m.padding,
                ceil_mode=m.ceil_mode)


def _import_max_pool(m, shape):
    dilation = m.dilation if isinstance(m.dilation, (tuple, list)) else (m.dilation,)
    if any(d != 1 for d in dilation) or m.return_indices:
        raise NotImportable("dilated max pooling or returned indices")
    return _import_window(m)


def _import_avg_pool(m, shape):
    if m.divisor_override:
        raise NotImportable("average pooling with a divisor override")
    return dict(_import_window(m), count_include_pad=m.count_include_pad)


register(LayerSpec(
    type="MaxPool2d", category=POOLING, title="Max pooling",
    help="Takes the maximum over each window. Overlapping 3×3/2 windows (AlexNet) reduce "
         "overfitting slightly compared with 2×2/2.",
    params=_window_params(),
    rule=_pool_rule,
    build=lambda p, s: nn.MaxPool2d(p.kernel, p.stride, p.padding, ceil_mode=p.ceil_mode),
    summary=_pool_summary,
    imports={"torch.nn.modules.pooling.MaxPool2d": _import_max_pool},
))

register(LayerSpec(
    type="AvgPool2d", category=POOLING, title="Average pooling",
    help="Averages each window.",
    params=_window_params() + (Param("count_include_pad", "bool", True,
                                     "Count padded zeros in the average"),),
    rule=_pool_rule,
    build=lambda p, s: nn.AvgPool2d(p.kernel, p.stride, p.padding, ceil_mode=p.ceil_mode,
                                    count_include_pad=p.count_include_pad),
    summary=_pool_summary,
    imports={"torch.nn.modules.pooling.AvgPool2d": _import_avg_pool},
))


def _global_rule(p, shapes):
    c, h, w = require_image(shapes[0])
    shape = (c,) if p.flatten else (c, 1, 1)
    return LayerInfo((shape,), 0, 0, (h, w), (h, w))


for _mode, _name in (("avg", "average"), ("max", "max")):
    register(LayerSpec(
        type=f"Global{_mode.capitalize()}Pool2d", category=POOLING, title=f"Global {_name} pooling",
        help=f"Global {_name} pooling over all positions (NIN, GoogLeNet, ResNet heads): C×H×W to "
             "C×1×1, or to a vector of C when flatten is set.",
        params=(Param("flatten", "bool", False, "Output a vector of C instead of C×1×1"),),
        rule=_global_rule,
        build=(lambda mode: lambda p, s: modules.GlobalPool(mode, p.flatten))(_mode),
    ))


def _adaptive_rule(p, shapes):
    c, h, w = require_image(shapes[0])
    oh, ow = p.output_size
    kernel = (-(-h // oh), -(-w // ow))
    stride = (max(1, h // oh), max(1, w // ow))
    return LayerInfo(((c, oh, ow),), 0, 0, kernel, stride)


def _import_adaptive(m, shape):
    """torch's output size, where None keeps that dimension of the input."""
    size = m.output_size if isinstance(m.output_size, (tuple, list)) else (m.output_size,) * 2
    return dict(output_size=tuple(n if n is not None else own for n, own in zip(size, shape[-2:])))


for _mode in ("Avg", "Max"):
    _cls = f"Adaptive{_mode}Pool2d"   # the name of torch.nn's class
    register(LayerSpec(
        type=f"Adaptive{_mode}Pool2d", category=POOLING, title=f"Adaptive {_mode.lower()} pooling",
        help="Pools to a fixed output size whatever the input size (torchvision's 7×7 heads).",
        params=(Param("output_size", "pair", (1, 1), "Output height × width", min=1, max=1024),),
        rule=_adaptive_rule,
        build=(lambda cls: lambda p, s: getattr(nn, cls)(p.output_size))(_cls),
        summary=lambda p: f"→{format_pair(p.output_size)}",
        imports={f"torch.nn.modules.pooling.{_cls}": _import_adaptive},
    ))


def _spp_rule(p, shapes):
    c, h, w = require_image(shapes[0])
    return LayerInfo(((c * sum(n * n for n in p.levels),),), 0, 0, (h, w), (h, w))


register(LayerSpec(
    type="SpatialPyramidPool", category=POOLING, title="Spatial pyramid pooling",
    help="SPP-net (He et al. 2014): pools to several grids (e.g. 1×1, 2×2, 4×4) and concatenates "
         "them, giving a fixed-length vector from any input size.",
    params=(Param("levels", "ints", (1, 2, 4), "Grid sizes", min=1, max=64),
            Param("mode", "choice", "max", "Pooling", choices=("max", "avg"))),
    rule=_spp_rule,
    build=lambda p, s: modules.SpatialPyramidPool(list(p.levels), p.mode),
    summary=lambda p: "/".join(map(str, p.levels)),
))


def _channel_pool_rule(p, shapes):
    _, h, w = require_image(shapes[0])
    return LayerInfo(((2, h, w),))


register(LayerSpec(
    type="ChannelPool", category=POOLING, title="Channel pooling",
    help="Average and maximum over the channels at each position, stacked as two maps: C×H×W "
         "to 2×H×W. CBAM's spatial attention (Woo et al. 2018) convolves them into a map of "
         "where in the image to look.",
    rule=_channel_pool_rule, build=lambda p, s: modules.ChannelPool(),
))
