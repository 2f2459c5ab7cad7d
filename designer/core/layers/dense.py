"""Fully connected layers."""

from ..categories import HEAD
from ..lazy import lazy_module
from ..params import Param
from ..registry import LayerInfo, LayerSpec, NotImportable, register
from ..shapes import require_vector

nn = lazy_module("torch.nn")


def _linear_rule(p, shapes):
    (features,) = require_vector(shapes[0])
    weights = features * p.out_features
    return LayerInfo(((p.out_features,),), weights + (p.out_features if p.bias else 0), weights)


def _import_linear(m, shape):
    if len(shape) != 1:
        raise NotImportable("a linear layer on more than a vector")  # PositionwiseLinear's
    return dict(out_features=m.out_features, bias=m.bias is not None)


register(LayerSpec(
    type="Linear", category=HEAD, title="Fully connected",
    help="Fully connected layer: every input feature to every output feature.",
    params=(Param("out_features", "int", 1000, "Output features", min=1, max=1 << 20),
            Param("bias", "bool", True, "Learn a bias")),
    rule=_linear_rule,
    build=lambda p, s: nn.Linear(s[0][0], p.out_features, p.bias),
    summary=lambda p: str(p.out_features),
    imports={"torch.nn.modules.linear.Linear": _import_linear},
))
