"""Capsule layers (Sabour, Frosst & Hinton 2017, 'Dynamic Routing Between Capsules').

A capsule is a vector whose length is the probability that an entity is present and whose
orientation describes it. Tensors of capsules have the shape capsules × dimensions (batch left
out). `PrimaryCapsules` turns a feature map into capsules, `CapsuleRouting` routes them to the
next layer's capsules by agreement, `CapsuleLength` gives class scores (trained with the margin
loss) and `CapsuleMask` keeps only the longest capsule for the reconstruction decoder.
"""

from ..errors import ShapeError
from ..lazy import lazy_module
from ..params import Param, format_shape
from ..registry import LayerInfo, LayerSpec, register
from ..shapes import require_image, window_output

modules = lazy_module("designer.core.modules")   # imports torch


def _require_capsules(shape):
    if len(shape) != 2:
        raise ShapeError(f"input is {format_shape(shape)}, but capsules × dimensions is needed "
                         "(after PrimaryCapsules or CapsuleRouting)")
    return shape


def _primary_rule(p, shapes):
    c, h, w = require_image(shapes[0])
    oh, ow = window_output((h, w), (p.kernel, p.kernel), (p.stride, p.stride), (0, 0))
    channels = p.capsules * p.capsule_dim
    weights = channels * c * p.kernel * p.kernel
    return LayerInfo(((p.capsules * oh * ow, p.capsule_dim),), weights + channels,
                     weights * oh * ow, (p.kernel, p.kernel), (p.stride, p.stride))


register(LayerSpec(
    type="PrimaryCapsules", category="capsules", title="Primary capsules",
    help="CapsNet's primary capsule layer (Sabour et al. 2017): a convolution (no padding) to "
         "capsules × dimensions channels, regrouped so each position of each capsule type is one "
         "capsule vector, then squashed to a length below 1. On MNIST: 32 types of 8-D capsules "
         "from a 9×9/2 convolution, 6×6×32 = 1152 capsules.",
    params=(Param("capsules", "int", 32, "Capsule types (channels / dimensions)", min=1, max=1024),
            Param("capsule_dim", "int", 8, "Dimensions of each capsule", min=1, max=64),
            Param("kernel", "int", 9, "Kernel size", min=1, max=31),
            Param("stride", "int", 2, "Stride", min=1, max=8)),
    rule=_primary_rule,
    build=lambda p, s: modules.PrimaryCapsules(s[0][0], p.capsules, p.capsule_dim, p.kernel,
                                               p.stride),
    summary=lambda p: f"{p.capsules}×{p.capsule_dim}D, {p.kernel}×{p.kernel}/{p.stride}",
))


def _routing_rule(p, shapes):
    n, d = _require_capsules(shapes[0])
    weights = n * p.capsules * p.capsule_dim * d
    return LayerInfo(((p.capsules, p.capsule_dim),), weights, weights)


register(LayerSpec(
    type="CapsuleRouting", category="capsules", title="Capsule routing",
    help="A capsule layer with dynamic routing by agreement (Sabour et al. 2017, Procedure 1): "
         "each input capsule predicts each output capsule through its own learned matrix; the "
         "predictions are summed with coupling coefficients that, over a few iterations, "
         "concentrate on the outputs they agree with, and the sums are squashed. MNIST's "
         "DigitCaps: 10 capsules of 16 dimensions, 3 iterations.",
    params=(Param("capsules", "int", 10, "Output capsules (e.g. one per class)", min=1, max=1024),
            Param("capsule_dim", "int", 16, "Dimensions of each output capsule", min=1, max=128),
            Param("iterations", "int", 3, "Routing iterations", min=1, max=10)),
    rule=_routing_rule,
    build=lambda p, s: modules.CapsuleRouting(s[0][0], s[0][1], p.capsules, p.capsule_dim,
                                              p.iterations),
    summary=lambda p: f"{p.capsules}×{p.capsule_dim}D, r={p.iterations}",
))


register(LayerSpec(
    type="CapsuleLength", category="capsules", title="Capsule length",
    help="The length of each capsule: the probability that its entity is present. As a main "
         "output it trains with the margin loss (Sabour et al. 2017, Eq. 4) instead of the "
         "cross-entropy.",
    rule=lambda p, shapes: LayerInfo(((_require_capsules(shapes[0])[0],),)),
    build=lambda p, s: modules.CapsuleLength(),
))


register(LayerSpec(
    type="CapsuleMask", category="capsules", title="Capsule mask",
    help="Keeps only the longest capsule (zeroing the others) and flattens, feeding CapsNet's "
         "reconstruction decoder. (The paper masks with the true label in training; a design "
         "sees only images, so the predicted capsule is used throughout.)",
    rule=lambda p, shapes: LayerInfo(((_require_capsules(shapes[0])[0] * shapes[0][1],),)),
    build=lambda p, s: modules.CapsuleMask(),
))
