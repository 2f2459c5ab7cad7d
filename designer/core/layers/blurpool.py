"""BlurPool: anti-aliased downsampling (Zhang 2019, 'Making Convolutional Networks Shift-Invariant
Again').

A fixed binomial low-pass filter applied depthwise, then subsampling by the stride. It is a layer of
its own so it can follow a stride-1 max pool (MaxBlurPool) or a stride-1 convolution + ReLU
(ConvBlurPool), the two placements the paper recommends. The filter is a constant, not a weight:
it is a non-persistent buffer, so state_dicts carry no extra entries and the layer has no
parameters. Padding follows the paper's code: (k-1)//2 before and ceil((k-1)/2) after, so the
output is ceil(H / stride) × ceil(W / stride) for every filter size.
"""

from ..categories import POOLING
from ..errors import ShapeError
from ..lazy import lazy_module
from ..params import Param
from ..registry import LayerInfo, LayerSpec, NotImportable, register
from ..shapes import require_image

modules = lazy_module("designer.core.modules")   # imports torch


def _blurpool_rule(p, shapes):
    c, h, w = require_image(shapes[0])
    k, s = p.filter_size, p.stride
    after = k - 1 - (k - 1) // 2
    if p.pad_mode == "reflect" and after >= min(h, w):
        raise ShapeError(f"reflect padding of {after} needs an input larger than {after}×{after}, "
                         f"got {h}×{w}: use pad mode 'replicate' or 'zero', or a smaller filter")
    oh, ow = -(-h // s), -(-w // s)
    macs = 0 if k == 1 else c * k * k * oh * ow
    return LayerInfo(((c, oh, ow),), 0, macs, (k, k), (s, s))


_TIMM_PAD_MODES = {"reflect": "reflect", "replicate": "replicate", "constant": "zero"}


def _import_timm_blur_pool(m, shape):
    """timm's BlurPool2d: the same binomial filter; it pads ((s-1) + (k-1)) // 2 on every side,
    which is this layer's (k-1)//2 before and ceil((k-1)/2) after only when those agree."""
    k, s = m.filt_size, m.stride
    if m.pad_mode not in _TIMM_PAD_MODES:
        raise NotImportable(f"pad mode {m.pad_mode!r}")
    if list(m.padding) != [(k - 1) // 2, k - 1 - (k - 1) // 2] * 2:
        raise NotImportable(f"padding {m.padding} for a {k}×{k} filter")
    if m.channels is not None and shape and m.channels != shape[0]:
        raise NotImportable(f"a filter for {m.channels} channels on {shape[0]}")
    return dict(filter_size=k, stride=s, pad_mode=_TIMM_PAD_MODES[m.pad_mode])


register(LayerSpec(
    type="BlurPool", category=POOLING, title="Blur pool",
    help="Anti-aliased downsampling (Zhang 2019): blurs each channel with a fixed binomial filter "
         "(1-2-1, 1-3-3-1, 1-4-6-4-1, ...) before subsampling, so small shifts of the input no "
         "longer flip the output. Replace MaxPool(s=2) by MaxPool(s=1) + BlurPool, and a strided "
         "Conv + ReLU by Conv(s=1) + ReLU + BlurPool. No parameters; output ceil(H/s)×ceil(W/s).",
    params=(Param("filter_size", "int", 4, "Binomial filter size (1 = plain subsampling; the paper "
                  "uses 3-5)", min=1, max=7),
            Param("stride", "int", 2, "Subsampling factor", min=1, max=8),
            Param("pad_mode", "choice", "reflect", "Border handling",
                  choices=("reflect", "replicate", "zero"))),
    rule=_blurpool_rule,
    build=lambda p, s: modules.BlurPool2d(s[0][0], p.filter_size, p.stride, p.pad_mode),
    summary=lambda p: f"{p.filter_size}×{p.filter_size} /{p.stride}",
    imports={"timm.layers.blur_pool.BlurPool2d": _import_timm_blur_pool},
))
