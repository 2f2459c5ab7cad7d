"""Element-wise activations and softmax."""

from ..categories import ACTIVATION
from ..lazy import lazy_module
from ..params import Param
from ..registry import LayerInfo, LayerSpec, NotImportable, register

nn = lazy_module("torch.nn")


def _same(p, shapes):
    return LayerInfo((shapes[0],))


TORCH = "torch.nn.modules.activation."   # where torch defines its activation modules


def _no_params(m, shape):
    return {}


def _import_gelu(m, shape):
    if m.approximate != "none":
        raise NotImportable("GELU with the tanh approximation")
    return {}


_SIMPLE = {   # the torch.nn class of each type has the same name
    "ReLU": "max(0, x): the rectifier that made deep CNNs trainable (AlexNet).",
    "ReLU6": "min(max(0, x), 6): robust under low precision (MobileNet).",
    "GELU": "x·Φ(x), the Gaussian error linear unit.",
    "SiLU": "x·sigmoid(x) (Swish).",
    "Sigmoid": "1 / (1 + e^−x); gates in SE and Highway blocks.",
    "Tanh": "Hyperbolic tangent (LeNet-era networks).",
    "Hardswish": "x·ReLU6(x+3)/6, a cheap Swish (MobileNetV3).",
    "Hardsigmoid": "ReLU6(x+3)/6, a cheap sigmoid (MobileNetV3, GhostNet SE).",
}

for _name, _help in _SIMPLE.items():
    register(LayerSpec(type=_name, category=ACTIVATION, help=_help, rule=_same,
                       build=(lambda name: lambda p, s: getattr(nn, name)())(_name),
                       imports={TORCH + _name: _import_gelu if _name == "GELU" else _no_params}))

register(LayerSpec(
    type="LeakyReLU", category=ACTIVATION, help="max(0, x) + slope·min(0, x).",
    params=(Param("negative_slope", "float", 0.01, "Slope for x < 0"),),
    rule=_same, build=lambda p, s: nn.LeakyReLU(p.negative_slope),
    summary=lambda p: f"{p.negative_slope:g}",
    imports={TORCH + "LeakyReLU": lambda m, shape: dict(negative_slope=m.negative_slope)},
))

register(LayerSpec(
    type="ELU", category=ACTIVATION, help="Exponential linear unit.",
    params=(Param("alpha", "float", 1.0, "α"),),
    rule=_same, build=lambda p, s: nn.ELU(p.alpha),
    imports={TORCH + "ELU": lambda m, shape: dict(alpha=m.alpha)},
))


def _prelu_rule(p, shapes):
    return LayerInfo((shapes[0],), shapes[0][0] if p.per_channel else 1)


register(LayerSpec(
    type="PReLU", category=ACTIVATION, help="Leaky ReLU with a learned slope (He et al. 2015).",
    params=(Param("per_channel", "bool", True, "One slope per channel instead of one in all"),),
    rule=_prelu_rule,
    build=lambda p, s: nn.PReLU(s[0][0] if p.per_channel else 1),
))


def _import_softmax(m, shape):
    if m.dim not in (1, -1) or len(shape) != 1:
        raise NotImportable("softmax over a dimension other than the features")
    return {}


register(LayerSpec(
    type="Softmax", category=ACTIVATION,
    help="Normalises scores over channels (dim 1) into probabilities. Training uses the "
         "cross-entropy on the raw scores, so put Softmax only where probabilities are wanted.",
    rule=_same, build=lambda p, s: nn.Softmax(1),
    imports={TORCH + "Softmax": _import_softmax},
))
