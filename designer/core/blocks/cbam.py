"""CBAM, the Convolutional Block Attention Module (Woo et al. 2018): channel attention, then
spatial attention.

Named like timm's `CbamModule` (`channel.fc1`, `channel.fc2`, `spatial.conv.conv`,
`spatial.conv.bn`), so its state_dict loads unchanged and a model using CbamModule imports with
CBAM folded into this one block. The channel attention applies one MLP to two pooled
descriptors, which a graph of nodes cannot share weights for, so it is one layer here, as it is
one module (`ChannelAttn`) in timm.
"""

from ..builder import GraphBuilder
from ..errors import ShapeError
from ..lazy import lazy_module
from ..params import Param
from ..registry import BlockSpec, LayerInfo, LayerSpec, NotImportable, register
from ..shapes import require_image
from .attention import DIVISOR, REDUCTION, gate_of, reduction_for, squeezed_channels

nn = lazy_module("torch.nn")
modules = lazy_module("designer.core.modules")   # imports torch


def _channel_attention_rule(p, shapes):
    c, h, w = require_image(shapes[0])
    squeezed = squeezed_channels(c, p.reduction, p.divisor)
    weights = 2 * c * squeezed
    biases = squeezed + c if p.bias else 0
    # The MLP runs twice (both descriptors); the gate sees the whole map, on the input's grid.
    return LayerInfo((shapes[0],), weights + biases, 2 * weights, (h, w), (1, 1))


def _build_channel_attention(p, shapes):
    c = shapes[0][0]
    return modules.ChannelAttention(c, squeezed_channels(c, p.reduction, p.divisor), p.bias)


BIAS = Param("bias", "bool", False, "Biases in the shared MLP (timm's mlp_bias)")

register(LayerSpec(
    type="ChannelAttention", category="attention", title="Channel attention (CBAM)",
    help="CBAM's channel attention (Woo et al. 2018): average and max pooling each squeeze a "
         "channel to one number, one shared MLP (C → C/r → C, ReLU) scores both descriptors, "
         "and the sigmoid of their sum reweights the channels. The max-pooled descriptor adds "
         "what SE's average alone misses: the most distinctive response of each channel.",
    params=(REDUCTION, DIVISOR, BIAS),
    rule=_channel_attention_rule,
    build=_build_channel_attention,
    summary=lambda p: f"r={p.reduction}",
))


def _expand_cbam(p, shapes):
    require_image(shapes[0])
    if p.kernel % 2 == 0:
        raise ShapeError(f"the spatial kernel {p.kernel} must be odd, so the attention map keeps "
                         "the input's height and width")
    b = GraphBuilder("CBAM")
    x = b.block_input("in")
    x = b.add("ChannelAttention", "channel", x, reduction=p.reduction, divisor=p.divisor,
              bias=p.bias)
    s = b.add("ChannelPool", "spatial.pool", x)
    s = b.conv_norm_act(s, ("spatial.conv.conv", "spatial.conv.bn"), act=None, out_channels=1,
                        kernel=p.kernel)
    s = b.add("Sigmoid", "spatial.gate", s)
    b.output(b.add("Multiply", "spatial.scale", x, s), "out", name="out")
    return b.finish()


def _import_timm_cbam(m, shape):
    channel, spatial = m.channel, m.spatial
    if type(channel.act) is not nn.ReLU:
        raise NotImportable("a CBAM whose MLP activation is not ReLU")
    if gate_of(channel.gate) != "sigmoid" or gate_of(spatial.gate) != "sigmoid":
        raise NotImportable("a CBAM with a hard-sigmoid gate")
    reduction, divisor = reduction_for(shape[0], channel.fc1.out_channels)
    return dict(reduction=reduction, divisor=divisor, kernel=spatial.conv.conv.kernel_size[0],
                bias=channel.fc1.bias is not None)


register(BlockSpec(
    type="CBAM", category="attention", title="CBAM",
    help="Convolutional Block Attention Module (Woo et al. 2018): channel attention (a shared "
         "MLP on the average- and max-pooled descriptors, sigmoid) tells the network what to "
         "look at, then spatial attention (the mean and max over channels, a 7×7 convolution "
         "with batch norm, sigmoid) tells it where. Either gate multiplies the features; the "
         "output keeps the input's shape, so it goes after any block or inside a residual "
         "branch, for about 2·C²/r extra parameters.",
    params=(REDUCTION, DIVISOR,
            Param("kernel", "int", 7, "Kernel of the spatial attention's convolution (odd)",
                  min=1, max=15),
            BIAS),
    expand=_expand_cbam,
    summary=lambda p: f"r={p.reduction}, {p.kernel}×{p.kernel}",
    imports={"timm.layers.cbam.CbamModule": _import_timm_cbam},
))
