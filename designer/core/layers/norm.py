"""Normalisation: batch norm and local response norm."""

from ..categories import NORMALISATION
from ..lazy import lazy_module
from ..params import Param
from ..registry import LayerInfo, LayerSpec, NotImportable, register
from ..shapes import require_image

nn = lazy_module("torch.nn")


def _bn_rule(p, shapes):
    shape = shapes[0]
    if len(shape) not in (1, 3):
        require_image(shape)
    return LayerInfo((shape,), 2 * shape[0] if p.affine else 0)


def _bn_build(p, shapes):
    cls = nn.BatchNorm2d if len(shapes[0]) == 3 else nn.BatchNorm1d
    return cls(shapes[0][0], eps=p.eps, momentum=p.momentum, affine=p.affine)


def _import_bn(m, shape):
    if not m.track_running_stats or m.momentum is None:
        raise NotImportable("batch norm without running statistics")
    return dict(eps=m.eps, momentum=m.momentum, affine=m.affine)


register(LayerSpec(
    type="BatchNorm", category=NORMALISATION, title="Batch norm",
    help="Batch normalisation (Ioffe & Szegedy 2015): normalises each channel over the batch, "
         "then scales and shifts. 2-D on images, 1-D on feature vectors.",
    params=(Param("eps", "float", 1e-5, "Added to the variance", min=0.0),
            Param("momentum", "float", 0.1, "Running-statistics momentum", min=0.0, max=1.0),
            Param("affine", "bool", True, "Learn scale and shift")),
    rule=_bn_rule, build=_bn_build,
    imports={"torch.nn.modules.batchnorm.BatchNorm2d": _import_bn,
             "torch.nn.modules.batchnorm.BatchNorm1d": _import_bn},
))


def _lrn_rule(p, shapes):
    require_image(shapes[0])
    return LayerInfo((shapes[0],))


register(LayerSpec(
    type="LocalResponseNorm", category=NORMALISATION, title="Local response norm",
    help="AlexNet's local response normalisation across neighbouring channels "
         "(k=2, n=5, α=1e-4, β=0.75 in the paper).",
    params=(Param("size", "int", 5, "Neighbouring channels", min=1, max=64),
            Param("alpha", "float", 1e-4, "α"),
            Param("beta", "float", 0.75, "β"),
            Param("k", "float", 2.0, "k")),
    rule=_lrn_rule,
    build=lambda p, s: nn.LocalResponseNorm(p.size, p.alpha, p.beta, p.k),
    summary=lambda p: f"n={p.size}",
    imports={"torch.nn.modules.normalization.LocalResponseNorm":
             lambda m, shape: dict(size=m.size, alpha=m.alpha, beta=m.beta, k=m.k)},
))
