"""Squeeze-and-expand blocks: SqueezeNet's Fire module (Iandola et al. 2016) and the SqueezeNext
block (Gholami et al. 2018).

Inner names follow the reference implementations so weights load by name: the Fire module like
torchvision's `Fire` (`squeeze`, `expand1x1`, `expand3x3`), the SqueezeNext block like
pytorchcv's `SqnxtUnit` (`conv1` ... `conv5`, `identity_conv`, each with `.conv` and `.bn`).
"""

from ..builder import GraphBuilder
from ..errors import ShapeError
from ..paramlib import out_channels
from ..params import Param
from ..registry import BlockSpec, register
from ..shapes import require_image


def _expand_fire(p, shapes):
    c = require_image(shapes[0])[0]
    out = p.expand1x1 + p.expand3x3
    if p.bypass == "simple" and c != out:
        raise ShapeError(f"a simple bypass adds the input ({c} channels) to the output ({out} "
                         "channels): they must match, or use the complex bypass")
    b = GraphBuilder("Fire")
    x = b.block_input("in")
    s = b.add("Conv2d", "squeeze", x, out_channels=p.squeeze, kernel=1, padding=0)
    s = b.add("ReLU", "squeeze_activation", s)
    e1 = b.add("Conv2d", "expand1x1", s, out_channels=p.expand1x1, kernel=1, padding=0)
    e1 = b.add("ReLU", "expand1x1_activation", e1)
    e3 = b.add("Conv2d", "expand3x3", s, out_channels=p.expand3x3, kernel=3, padding=1)
    e3 = b.add("ReLU", "expand3x3_activation", e3)
    y = b.add("Concat", "cat", e1, e3)
    if p.bypass != "none":
        shortcut = x
        if p.bypass == "complex" and c != out:
            shortcut = b.add("Conv2d", "bypass", x, out_channels=out, kernel=1, padding=0)
        y = b.add("Add", "add", y, shortcut)
    b.output(y, "out", name="out")
    return b.finish()


register(BlockSpec(
    type="Fire", category="efficient", title="Fire module",
    help="SqueezeNet's Fire module (Iandola et al. 2016): a 1×1 'squeeze' layer cuts the channels "
         "(s1x1 < e1x1 + e3x3), then an 'expand' layer of 1×1 and 3×3 filters side by side is "
         "concatenated. Squeezing before the 3×3 filters and using mostly 1×1 filters gives "
         "AlexNet-level accuracy with 50× fewer parameters. The optional bypass adds the input "
         "back: simple (identity, needs equal channels) or complex (a 1×1 projection).",
    params=(Param("squeeze", "int", 16, "s1x1: squeeze 1×1 filters", min=1, max=8192),
            Param("expand1x1", "int", 64, "e1x1: expand 1×1 filters", min=1, max=8192),
            Param("expand3x3", "int", 64, "e3x3: expand 3×3 filters", min=1, max=8192),
            Param("bypass", "choice", "none", "Residual bypass around the module",
                  choices=("none", "simple", "complex"))),
    expand=_expand_fire,
    imports={"torchvision.models.squeezenet.Fire":
             lambda m, shape: dict(squeeze=m.squeeze.out_channels,
                                   expand1x1=m.expand1x1.out_channels,
                                   expand3x3=m.expand3x3.out_channels)},
    summary=lambda p: f"{p.squeeze}/{p.expand1x1}+{p.expand3x3}"
                      + ("" if p.bypass == "none" else f" {p.bypass} bypass"),
))


def _conv_block(b, name, x, channels, kernel, stride=1, padding=0):
    """Conv (with bias, as in the reference) → BN → ReLU, named name.conv / name.bn / name.activ."""
    return b.conv_norm_act(x, (f"{name}.conv", f"{name}.bn", f"{name}.activ"),
                           out_channels=channels, kernel=kernel, stride=stride, padding=padding,
                           bias=True)


def sqnxt_reduction(in_channels, out_channels, stride):
    """The first squeeze's divisor: none at stride 2, 4 when the block narrows, else 2."""
    if stride == 2:
        return 1
    return 4 if in_channels > out_channels else 2


def _expand_sqnxt(p, shapes):
    c = require_image(shapes[0])[0]
    den = sqnxt_reduction(c, p.out_channels, p.stride)
    first, second = c // den, c // (2 * den)
    if second < 1:
        raise ShapeError(f"{c} input channels are too few to squeeze twice by {den}×2")
    b = GraphBuilder("SqueezeNextBlock")
    x = b.block_input("in")
    y = _conv_block(b, "conv1", x, first, 1, p.stride)
    y = _conv_block(b, "conv2", y, second, 1)
    y = _conv_block(b, "conv3", y, first, (1, 3), padding=(0, 1))
    y = _conv_block(b, "conv4", y, first, (3, 1), padding=(1, 0))
    y = _conv_block(b, "conv5", y, p.out_channels, 1)
    shortcut = x
    if p.stride != 1 or c != p.out_channels:
        shortcut = _conv_block(b, "identity_conv", x, p.out_channels, 1, p.stride)
    y = b.add("Add", "add", y, shortcut)
    y = b.add("ReLU", "activ", y)
    b.output(y, "out", name="out")
    return b.finish()


register(BlockSpec(
    type="SqueezeNextBlock", category="efficient", title="SqueezeNext block",
    help="The SqueezeNext block (Gholami et al. 2018): a two-stage squeeze (two 1×1 layers, each "
         "halving the channels), then a separable 3×3 as a 1×3 followed by a 3×1, and a 1×1 "
         "expansion, all with batch norm and ReLU, added to the input (a 1×1 projection when "
         "the shape changes). The low-rank 3×3 and the double squeeze cut parameters 112× "
         "against AlexNet. As in the reference code, a stride-2 block does not squeeze in its "
         "first 1×1 (which carries the stride) and a narrowing block squeezes by 4.",
    params=(out_channels(32, "Output channels"),
            Param("stride", "int", 1, "Stride (2 halves height and width)", min=1, max=2)),
    expand=_expand_sqnxt,
    summary=lambda p: f"{p.out_channels}" + (f" /{p.stride}" if p.stride > 1 else ""),
))
