"""Highway networks (Srivastava, Greff & Schmidhuber 2015): the convolutional highway block and
the gate convolution it needs, a convolution whose bias starts at a chosen negative value so that
every layer begins by carrying its input through.
"""

from ..categories import CONVOLUTION
from ..builder import GraphBuilder
from ..errors import ShapeError
from ..lazy import lazy_module
from ..paramlib import out_channels
from ..params import Param
from ..registry import BlockSpec, LayerInfo, LayerSpec, register
from ..shapes import require_image

modules = lazy_module("designer.core.modules")   # imports torch


def _require_odd(kernel):
    if kernel % 2 == 0:
        raise ShapeError(f"kernel {kernel} is even: an odd kernel keeps the height and width")


def _gate_rule(p, shapes):
    c, h, w = require_image(shapes[0])
    k = p.kernel
    _require_odd(k)
    weights = p.out_channels * c * k * k
    return LayerInfo(((p.out_channels, h, w),), weights + p.out_channels, weights * h * w,
                     (k, k), (1, 1))


register(LayerSpec(
    type="GateConv2d", category=CONVOLUTION, title="Gate convolution",
    help="A k×k convolution (stride 1, same padding) whose biases start at a chosen value. "
         "Highway networks start their transform gates negative (−1 to −3) so that, before "
         "training, each layer mostly carries its input through unchanged.",
    params=(out_channels(64, "Number of filters"),
            Param("kernel", "int", 3, "Kernel size (odd)", min=1, max=31),
            Param("bias_init", "float", -1.0, "Initial value of every bias")),
    rule=_gate_rule,
    build=lambda p, s: modules.GateConv2d(s[0][0], p.out_channels, p.kernel, p.bias_init),
    summary=lambda p: f"{p.kernel}, {p.out_channels}, b={p.bias_init:g}",
))


def _expand_highway(p, shapes):
    c = require_image(shapes[0])[0]
    _require_odd(p.kernel)
    b = GraphBuilder("HighwayBlock")
    x = b.block_input("in")
    h = b.add("Conv2d", "conv", x, out_channels=c, kernel=p.kernel, padding=p.kernel // 2)
    h = b.add("ReLU", "relu", h)
    t = b.add("GateConv2d", "gate", x, out_channels=c, kernel=p.kernel, bias_init=p.gate_bias)
    t = b.add("Sigmoid", "sigmoid", t)
    # y = H·T + x·(1 − T) computed as x + T·(H − x): one product, no "1 − T" node.
    d = b.add("Add", "difference", h, x, scale=-1.0)
    d = b.add("Multiply", "transform", d, t)
    y = b.add("Add", "carry", x, d)
    b.output(y, "out", name="out")
    return b.finish()


register(BlockSpec(
    type="HighwayBlock", category="highway", title="Highway block",
    help="A convolutional highway layer (Srivastava et al. 2015): y = H(x)·T(x) + x·(1 − T(x)), "
         "where H is a ReLU convolution and the transform gate T a sigmoid convolution. The gate "
         "decides, per position and channel, how much to transform and how much to carry the "
         "input through unchanged; with the gate biased negative at the start, information and "
         "gradients flow through hundreds of layers, the idea ResNets then simplified to a fixed "
         "identity. Input and output channels are equal; change widths with a plain convolution.",
    params=(Param("kernel", "int", 3, "Kernel size of H and T (odd)", min=1, max=31),
            Param("gate_bias", "float", -1.0, "Initial bias of the transform gate (negative: "
                  "carry at first)")),
    expand=_expand_highway,
    summary=lambda p: f"{p.kernel}×{p.kernel}, b={p.gate_bias:g}",
))
