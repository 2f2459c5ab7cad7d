"""CondenseNet's blocks (Huang et al. 2018): the learned group convolution in its condensed,
deployable form, and the CondenseNet dense layer.

How the learned grouping is represented. During training a learned group convolution is a dense
1×1 convolution whose weights are split into G output groups; a group-lasso penalty and C - 1
condensing stages prune, for each group, all but 1/C of the input channels. After training it is
'condensed' into an ordinary group convolution: each group reads its own in/C kept input channels,
which an index layer gathers (a channel may feed several groups, so the gathered tensor has
in·G/C channels), and a channel shuffle after the convolution restores the output order the
dense layer had. The design describes that post-training network: a `ChannelGather` whose index is
a buffer stored with the weights (the learned part), batch norm and ReLU on the gathered channels
(the norm's statistics are per gathered channel), the G-group 1×1 convolution and the shuffle.
Before weights are loaded the index is 0, 1, 2, ... so an untrained design still runs.

Inner names follow pytorchcv's converted CondenseNet (`conv1.bn`, `conv1.conv`, `conv2.bn`,
`conv2.conv`); the only key that differs is the index buffer, `conv1.gather.index` here for
`conv1.index` there, since a layer's buffer lives on its own node.
"""

from ..builder import GraphBuilder
from ..errors import ShapeError
from ..paramlib import out_channels
from ..params import Param
from ..registry import BlockSpec, register
from ..shapes import check_divides, require_image


def gathered_channels(in_channels, groups, condense_factor):
    """Channels a condensed group convolution reads: each of G groups keeps in/C inputs."""
    if in_channels % condense_factor:
        raise ShapeError(f"the condensation factor {condense_factor} does not divide the "
                         f"{in_channels} input channels")
    return in_channels // condense_factor * groups


def add_learned_group_conv(b, prefix, x, in_channels, out_channels, groups, condense_factor):
    check_divides(groups, out_channels, "output channels")
    gathered = gathered_channels(in_channels, groups, condense_factor)
    y = b.add("ChannelGather", f"{prefix}gather", x, channels=gathered)
    y = b.add("BatchNorm", f"{prefix}bn", y)
    y = b.add("ReLU", f"{prefix}activ", y)
    y = b.add("Conv2d", f"{prefix}conv", y, out_channels=out_channels, kernel=1, padding=0,
              groups=groups, bias=False)
    if groups > 1:
        y = b.add("ChannelShuffle", f"{prefix}c_shuffle", y, groups=groups)
    return y


def _expand_lgc(p, shapes):
    c = require_image(shapes[0])[0]
    b = GraphBuilder("LearnedGroupConv")
    x = b.block_input("in")
    y = add_learned_group_conv(b, "", x, c, p.out_channels, p.groups, p.condense_factor)
    b.output(y, "out", name="out")
    return b.finish()


LGC_HELP = (
    "CondenseNet's learned group convolution (Huang et al. 2018), in its condensed form. In "
    "training, a dense 1×1 convolution split into G groups learns which inputs each group "
    "needs: a group-lasso penalty and C - 1 pruning stages keep 1/C of the input channels per "
    "group. After training it becomes an ordinary G-group convolution preceded by an index layer "
    "that gathers each group's kept channels (the index is learned and stored with the weights) "
    "and followed by a channel shuffle; this block is that deployable network, BN-ReLU before "
    "the convolution as in DenseNet.")

register(BlockSpec(
    type="LearnedGroupConv", category="efficient", title="Learned group convolution",
    help=LGC_HELP,
    params=(out_channels(128, "Output channels"),
            Param("groups", "int", 4, "Groups G", min=1, max=64),
            Param("condense_factor", "int", 4, "Condensation factor C: each group keeps 1/C of "
                  "the inputs", min=1, max=64)),
    expand=_expand_lgc,
    summary=lambda p: f"{p.out_channels} G={p.groups} C={p.condense_factor}",
))


def _expand_condense_unit(p, shapes):
    c = require_image(shapes[0])[0]
    bottleneck = p.bottleneck * p.growth_rate
    check_divides(p.groups, p.growth_rate, "new channels")
    b = GraphBuilder("CondenseUnit")
    x = b.block_input("in")
    y = add_learned_group_conv(b, "conv1.", x, c, bottleneck, p.groups, p.condense_factor)
    y = b.add("BatchNorm", "conv2.bn", y)
    y = b.add("ReLU", "conv2.activ", y)
    y = b.add("Conv2d", "conv2.conv", y, out_channels=p.growth_rate, kernel=3, padding=1,
              groups=p.groups, bias=False)
    y = b.add("Concat", "cat", x, y)
    b.output(y, "out", name="out")
    return b.finish()


register(BlockSpec(
    type="CondenseUnit", category="efficient", title="CondenseNet layer",
    help="A CondenseNet dense layer (Huang et al. 2018): a condensed learned group convolution "
         "(1×1, G groups, to bottleneck × k channels), then BN-ReLU and a 3×3 group convolution "
         "to k new channels, concatenated onto the input as in DenseNet. CondenseNet connects "
         "every layer to all earlier layers of the whole network (pooling between stages) and "
         "doubles the growth rate k stage by stage.",
    params=(Param("growth_rate", "int", 32, "k: channels added", min=1, max=4096),
            Param("bottleneck", "int", 4, "Bottleneck width in multiples of k", min=1, max=16),
            Param("groups", "int", 4, "Groups G of both convolutions", min=1, max=64),
            Param("condense_factor", "int", 4, "Condensation factor C", min=1, max=64)),
    expand=_expand_condense_unit,
    summary=lambda p: f"+{p.growth_rate} G={p.groups} C={p.condense_factor}",
))
