"""Layers that modern CNNs need beyond the classic catalogue: layer and group normalisation, layer
scale, a position-wise linear layer and the tensor plumbing (permute, reshape) that ConvNeXt-style
blocks use to work channels-last.

Shapes leave the batch out, as everywhere in the catalogue: `Permute` dims and `Reshape` shapes
refer to the dimensions after the batch. Parameter names inside the built modules follow torch
(`weight`, `bias`) so imported weights keep their names.
"""

from math import prod

from ..errors import ShapeError
from ..lazy import lazy_module
from ..params import Param, format_shape
from ..registry import LayerInfo, LayerSpec, NotImportable, register
from ..shapes import require_image

nn = lazy_module("torch.nn")
modules = lazy_module("designer.core.modules")   # imports torch


def _permute_rule(p, shapes):
    shape = shapes[0]
    if sorted(p.dims) != list(range(len(shape))):
        raise ShapeError(f"dims {list(p.dims)} are not an order of the {len(shape)} dimensions of "
                         f"a {format_shape(shape)} input (count from 0 after the batch)")
    return LayerInfo((tuple(shape[d] for d in p.dims),))


register(LayerSpec(
    type="Permute", category="utility", title="Permute",
    help="Reorders the dimensions of each sample, e.g. [1, 2, 0] turns C×H×W into H×W×C "
         "(channels-last, as ConvNeXt's blocks do before their layer norm and linear layers) and "
         "[2, 0, 1] turns it back. Dimensions count from 0 after the batch.",
    params=(Param("dims", "ints", (1, 2, 0), "The new order of the dimensions", min=0, max=7,
                  min_length=1, max_length=7),),
    rule=_permute_rule, build=lambda p, s: modules.Permute(p.dims),
    summary=lambda p: "→" + ",".join(map(str, p.dims)),
    # torchvision's Permute counts the batch as dimension 0.
    imports={"torchvision.ops.misc.Permute":
             lambda m, shape: dict(dims=tuple(d - 1 for d in m.dims[1:]))},
))


def _reshape_rule(p, shapes):
    if prod(p.shape) != prod(shapes[0]):
        raise ShapeError(f"cannot reshape {format_shape(shapes[0])} ({prod(shapes[0])} values) to "
                         f"{format_shape(p.shape)} ({prod(p.shape)} values)")
    return LayerInfo((tuple(p.shape),))


register(LayerSpec(
    type="Reshape", category="utility", title="Reshape",
    help="Reshapes each sample to the given shape (same number of values; the batch is kept), "
         "e.g. C×H×W to G×C/G×H×W for a grouped operation.",
    params=(Param("shape", "shape", (64,), "The new shape after the batch", min=1,
                  min_length=1, max_length=6),),
    rule=_reshape_rule, build=lambda p, s: modules.Reshape(p.shape),
    summary=lambda p: format_shape(p.shape),
))


def _last_dim_rule(p, shapes):
    return LayerInfo((shapes[0],), 2 * shapes[0][-1] if p.affine else 0)


def _import_layer_norm(m, shape):
    if tuple(m.normalized_shape) != (shape[-1],) or getattr(m, "bias", 0) is None:
        raise NotImportable("layer norm over more than the last dimension")
    return dict(eps=m.eps, affine=m.elementwise_affine)


register(LayerSpec(
    type="LayerNorm", category="normalisation", title="Layer norm",
    help="Layer normalisation (Ba et al. 2016) over the last dimension: each position's features "
         "are normalised on their own, then scaled and shifted. Use it on channels-last tensors "
         "(after a Permute) or on vectors; LayerNorm2d normalises the channels of a C×H×W image.",
    params=(Param("eps", "float", 1e-5, "Added to the variance", min=0.0),
            Param("affine", "bool", True, "Learn scale and shift")),
    rule=_last_dim_rule,
    build=lambda p, s: nn.LayerNorm(s[0][-1], eps=p.eps, elementwise_affine=p.affine),
    summary=lambda p: f"eps={p.eps:g}",
    imports={"torch.nn.modules.normalization.LayerNorm": _import_layer_norm},
))


def _channel_norm_rule(p, shapes):
    c = require_image(shapes[0])[0]
    return LayerInfo((shapes[0],), 2 * c if p.affine else 0)


def _import_layer_norm_2d(m, shape):
    return dict(eps=m.eps, affine=m.elementwise_affine)


register(LayerSpec(
    type="LayerNorm2d", category="normalisation", title="Layer norm 2d",
    help="Layer normalisation over the channels of a C×H×W image at each position (ConvNeXt's "
         "stem and downsampling layers): the channels-first form of LayerNorm.",
    params=(Param("eps", "float", 1e-6, "Added to the variance", min=0.0),
            Param("affine", "bool", True, "Learn scale and shift")),
    rule=_channel_norm_rule,
    build=lambda p, s: modules.LayerNorm2d(s[0][0], eps=p.eps, elementwise_affine=p.affine),
    summary=lambda p: f"eps={p.eps:g}",
    imports={"torchvision.models.convnext.LayerNorm2d": _import_layer_norm_2d,
             "timm.layers.norm.LayerNorm2d": _import_layer_norm_2d},
))


def _group_norm_rule(p, shapes):
    c = require_image(shapes[0])[0]
    if c % p.groups:
        raise ShapeError(f"groups {p.groups} does not divide the {c} input channels")
    return LayerInfo((shapes[0],), 2 * c if p.affine else 0)


register(LayerSpec(
    type="GroupNorm", category="normalisation", title="Group norm",
    help="Group normalisation (Wu & He 2018): normalises groups of channels per sample, so it "
         "does not depend on the batch size (detection, small batches). 1 group is layer norm "
         "over C×H×W; C groups is instance norm.",
    params=(Param("groups", "int", 32, "Channel groups (must divide the channels)",
                  min=1, max=65536),
            Param("eps", "float", 1e-5, "Added to the variance", min=0.0),
            Param("affine", "bool", True, "Learn scale and shift per channel")),
    rule=_group_norm_rule,
    build=lambda p, s: nn.GroupNorm(p.groups, s[0][0], eps=p.eps, affine=p.affine),
    summary=lambda p: f"g={p.groups}",
    imports={"torch.nn.modules.normalization.GroupNorm":
             lambda m, shape: dict(groups=m.num_groups, eps=m.eps, affine=m.affine)},
))


def _scale_shape(shape):
    """C×1×1 for images (channels first), else the last dimension."""
    return (shape[0], 1, 1) if len(shape) == 3 else (shape[-1],)


def _layer_scale_rule(p, shapes):
    shape = shapes[0]
    if p.channels_last or len(shape) != 3:
        return LayerInfo((shape,), shape[-1])
    return LayerInfo((shape,), shape[0])


register(LayerSpec(
    type="LayerScale", category="utility", title="Layer scale",
    help="Multiplies each channel by a learned factor initialised small (1e-6), so a deep "
         "network's residual branches start near zero (CaiT, ConvNeXt). One factor per channel "
         "of a C×H×W image, or per feature of the last dimension when channels-last is set.",
    params=(Param("init", "float", 1e-6, "Initial value of every factor"),
            Param("channels_last", "bool", False, "Scale the last dimension (H×W×C tensors)")),
    rule=_layer_scale_rule,
    build=lambda p, s: modules.LayerScale((s[0][-1],) if p.channels_last or len(s[0]) != 3
                                  else _scale_shape(s[0]), p.init),
    summary=lambda p: f"{p.init:g}",
))


def _positionwise_rule(p, shapes):
    shape = shapes[0]
    if len(shape) < 2:
        raise ShapeError(f"input is {format_shape(shape)}: a position-wise linear layer needs "
                         "positions × features (use Linear on a vector)")
    weights = shape[-1] * p.out_features
    positions = prod(shape[:-1])
    return LayerInfo((tuple(shape[:-1]) + (p.out_features,),),
                     weights + (p.out_features if p.bias else 0), weights * positions)


def _import_positionwise(m, shape):
    if len(shape) == 1:
        raise NotImportable("a position-wise linear layer on a vector")  # Linear's
    return dict(out_features=m.out_features, bias=m.bias is not None)


register(LayerSpec(
    type="PositionwiseLinear", category="convolution", title="Position-wise linear",
    help="A fully connected layer applied at every position over the last dimension: the same "
         "as a 1×1 convolution on a channels-last tensor (ConvNeXt's inverted bottleneck, "
         "transformer MLPs).",
    params=(Param("out_features", "int", 256, "Output features", min=1, max=1 << 20),
            Param("bias", "bool", True, "Learn a bias")),
    rule=_positionwise_rule,
    build=lambda p, s: nn.Linear(s[0][-1], p.out_features, p.bias),
    summary=lambda p: f"→{p.out_features}",
    imports={"torch.nn.modules.linear.Linear": _import_positionwise},
))
