"""DenseNet's blocks (Huang et al. 2017): the dense layer, the dense block and the transition.

Inner names follow torchvision's `_DenseLayer` (`norm1`, `relu1`, `conv1`, `norm2`, `relu2`,
`conv2`), `_DenseBlock` (`denselayer1`, `denselayer2`, ...) and `_Transition` (`norm`, `relu`,
`conv`, `pool`), so a preset's `features.denseblock1` node compiles to torchvision's keys.

A dense layer here returns its input with its k new feature maps appended; chaining L of them
gives exactly torchvision's concatenation of all earlier outputs, in the same channel order.
"""

from ..builder import GraphBuilder
from ..params import Param
from ..registry import BlockSpec, register
from ..shapes import require_image

_LAYER_PARAMS = (
    Param("growth_rate", "int", 32, "New feature maps k each layer adds", min=1, max=4096),
    Param("bottleneck", "bool", True, "DenseNet-B: a 1×1 convolution to bn_size·k channels "
          "before the 3×3"),
    Param("bn_size", "int", 4, "Bottleneck width in multiples of k (the paper's 4k)",
          min=1, max=64),
    Param("drop_rate", "float", 0.0, "Dropout after each layer's 3×3 convolution",
          min=0.0, max=1.0),
)


def _expand_layer(p, shapes):
    require_image(shapes[0])
    b = GraphBuilder("DenseLayer")
    x = b.block_input("in")
    y = b.add("ReLU", "relu1", b.add("BatchNorm", "norm1", x))
    if p.bottleneck:
        y = b.add("Conv2d", "conv1", y, out_channels=p.bn_size * p.growth_rate, kernel=1,
                  padding=0, bias=False)
        y = b.add("ReLU", "relu2", b.add("BatchNorm", "norm2", y))
        y = b.add("Conv2d", "conv2", y, out_channels=p.growth_rate, kernel=3, padding=1,
                  bias=False)
    else:
        y = b.add("Conv2d", "conv1", y, out_channels=p.growth_rate, kernel=3, padding=1,
                  bias=False)
    if p.drop_rate > 0:
        y = b.add("Dropout", "dropout", y, p=p.drop_rate)
    y = b.add("Concat", "concat", x, y)
    b.output(y, "out", name="out")
    return b.finish()


def _expand_block(p, shapes):
    require_image(shapes[0])
    b = GraphBuilder("DenseBlock")
    x = b.block_input("in")
    for i in range(1, p.num_layers + 1):
        x = b.add("DenseLayer", f"denselayer{i}", x, growth_rate=p.growth_rate,
                  bottleneck=p.bottleneck, bn_size=p.bn_size, drop_rate=p.drop_rate)
    b.output(x, "out", name="out")
    return b.finish()


def transition_channels(channels, compression):
    """⌊θ·m⌋ output channels for m input channels (DenseNet-BC's compression)."""
    return max(1, int(compression * channels + 1e-9))


def _expand_transition(p, shapes):
    c = require_image(shapes[0])[0]
    b = GraphBuilder("Transition")
    x = b.block_input("in")
    y = b.add("ReLU", "relu", b.add("BatchNorm", "norm", x))
    y = b.add("Conv2d", "conv", y, out_channels=transition_channels(c, p.compression), kernel=1,
              padding=0, bias=False)
    y = b.add("AvgPool2d", "pool", y, kernel=2, stride=2)
    b.output(y, "out", name="out")
    return b.finish()


def _import_dense_block(m, shape):
    first = next(iter(m.values()))
    growth = first.conv2.out_channels
    return dict(num_layers=len(m), growth_rate=growth, bn_size=first.conv1.out_channels // growth,
                drop_rate=float(first.drop_rate))


register(BlockSpec(
    type="DenseLayer", category="dense", title="Dense layer",
    help="One layer of a DenseNet (Huang et al. 2017): BN-ReLU-Conv computes k new feature maps "
         "(the growth rate) and appends them to everything before, so each layer sees all earlier "
         "features and only needs to add a few. That reuse makes DenseNets accurate with few "
         "parameters and short gradient paths. The bottleneck (DenseNet-B) variant first reduces "
         "to 4k channels with BN-ReLU-1×1.",
    params=_LAYER_PARAMS,
    expand=_expand_layer,
    summary=lambda p: f"growth {p.growth_rate}" + (" · bottleneck" if p.bottleneck else ""),
))

register(BlockSpec(
    type="DenseBlock", category="dense", title="Dense block",
    help="A DenseNet dense block (Huang et al. 2017): L dense layers at one resolution, each "
         "receiving the concatenation of the block's input and every earlier layer's k new "
         "feature maps, so a block with input m channels outputs m + L·k. Blocks are separated by "
         "transition layers that compress and downsample.",
    params=(Param("num_layers", "int", 6, "Number of dense layers L", min=1, max=256),)
    + _LAYER_PARAMS,
    expand=_expand_block,
    summary=lambda p: f"{p.num_layers} layers · growth {p.growth_rate}",
    imports={"torchvision.models.densenet._DenseBlock": _import_dense_block},
))

register(BlockSpec(
    type="Transition", category="dense", title="Transition layer",
    help="DenseNet's transition between dense blocks (Huang et al. 2017): BN-ReLU, a 1×1 "
         "convolution to ⌊θ·m⌋ channels and 2×2 average pooling. The compression factor θ < 1 "
         "(0.5 in DenseNet-BC) keeps the model compact as features accumulate; θ = 1 keeps every "
         "channel.",
    params=(Param("compression", "float", 0.5, "Compression θ: output channels per input channel",
                  min=0.01, max=1.0),),
    expand=_expand_transition,
    summary=lambda p: f"θ={p.compression:g}",
    imports={"torchvision.models.densenet._Transition":
             lambda m, shape: dict(compression=m.conv.out_channels / shape[0])},
))
