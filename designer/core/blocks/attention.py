"""Channel attention: the Squeeze-and-Excitation block (Hu et al. 2018).

The SE block's inside is named like timm's `SEModule` (`fc1`, `act`, `fc2`, `gate`), so a block
node called `se` inside a bottleneck yields the state_dict keys `...se.fc1.weight`, `...se.fc2.bias`
of timm's SE-ResNets. SE-Inception (and SE-anything) is an SE block placed after the module it
recalibrates: it takes any C×H×W input and returns the same shape.
"""

from ..builder import GraphBuilder
from ..lazy import lazy_module
from ..params import Param
from ..registry import BlockSpec, NotImportable, class_name, register
from ..shapes import require_image

nn = lazy_module("torch.nn")


def squeezed_channels(channels, reduction, divisor=1):
    """C / r rounded to the nearest multiple of `divisor` (at least `divisor`): timm's
    `make_divisible(C / r, divisor, round_limit=0)`, which is plain C / r for divisor 1."""
    value = channels / reduction
    return max(divisor, int(value + divisor / 2) // divisor * divisor)


REDUCTION = Param("reduction", "int", 16, "Reduction ratio r: the squeezed width is C / r",
                  min=1, max=1024)
DIVISOR = Param("divisor", "int", 1, "Round the squeezed width to a multiple of this (timm and "
                "MobileNetV3 use 8)", min=1, max=64)


def reduction_for(channels, squeezed):
    """(reduction, divisor) whose `squeezed_channels` is `squeezed`, for a module that only shows
    its widths: C/r as is, else rounded to a multiple of 8 (MobileNetV3, timm's rd_divisor)."""
    reduction = max(1, round(channels / squeezed))
    for divisor in (1, 8):
        if squeezed_channels(channels, reduction, divisor) == squeezed:
            return reduction, divisor
    raise NotImportable(f"a squeezed width of {squeezed} from {channels} channels")


# The gate modules of torch and timm, by class name: timm's `create_act_layer("sigmoid")` makes
# its own Sigmoid.
GATES = {"torch.nn.modules.activation.Sigmoid": "sigmoid",
         "timm.layers.activations.Sigmoid": "sigmoid",
         "torch.nn.modules.activation.Hardsigmoid": "hardsigmoid",
         "timm.layers.activations.HardSigmoid": "hardsigmoid"}


def gate_of(module):
    """The `gate` parameter for a gate module, or NotImportable."""
    gate = GATES.get(class_name(module))
    if gate is None:
        raise NotImportable(f"a {type(module).__name__} gate (the catalogue's are a sigmoid or "
                            "a hard sigmoid)")
    return gate


def _se_params(channels, squeezed, act, gate):
    if type(act) is not nn.ReLU:
        raise NotImportable("an SE block whose activation is not ReLU")
    reduction, divisor = reduction_for(channels, squeezed)
    return dict(reduction=reduction, divisor=divisor, gate=gate_of(gate))


def _import_torchvision_se(m, shape):
    return _se_params(shape[0], m.fc1.out_channels, m.activation, m.scale_activation)


def _import_timm_se(m, shape):
    if m.add_maxpool or not isinstance(m.bn, nn.Identity):
        raise NotImportable("an SE block with max pooling or a norm inside")
    return _se_params(shape[0], m.fc1.out_channels, m.act, m.gate)


def _expand_se(p, shapes):
    c = require_image(shapes[0])[0]
    b = GraphBuilder("SEBlock")
    x = b.block_input("in")
    s = b.add("GlobalAvgPool2d", "pool", x)
    s = b.add("Conv2d", "fc1", s, out_channels=squeezed_channels(c, p.reduction, p.divisor),
              kernel=1, padding=0, bias=True)
    s = b.add("ReLU", "act", s)
    s = b.add("Conv2d", "fc2", s, out_channels=c, kernel=1, padding=0, bias=True)
    s = b.add("Sigmoid" if p.gate == "sigmoid" else "Hardsigmoid", "gate", s)
    y = b.add("Multiply", "scale", x, s)
    b.output(y, "out", name="out")
    return b.finish()


register(BlockSpec(
    type="SEBlock", category="attention", title="Squeeze-and-excitation",
    help="Squeeze-and-Excitation (Hu et al. 2018): global average pooling squeezes each channel to "
         "one number, a two-layer bottleneck (C → C/r → C, ReLU then a sigmoid) turns those into a "
         "weight per channel, and the input is rescaled channel by channel. It lets the network "
         "recalibrate which features matter for this image at about 2·C²/r extra parameters. Put "
         "it after any block (SE-Inception) or inside a residual branch before the addition "
         "(SE-ResNet).",
    params=(REDUCTION, DIVISOR,
            Param("gate", "choice", "sigmoid", "Gate nonlinearity (hard sigmoid in MobileNetV3)",
                  choices=("sigmoid", "hardsigmoid"))),
    expand=_expand_se,
    summary=lambda p: f"r={p.reduction}",
    imports={"torchvision.ops.misc.SqueezeExcitation": _import_torchvision_se,
             "timm.layers.squeeze_excite.SEModule": _import_timm_se},
))
