"""ShuffleNet units: v1 (Zhang et al. 2017) with pointwise group convolutions and channel
shuffle, and v2 (Ma et al. 2018) with channel split.

Inner names follow the reference implementations so weights load by name: the v1 unit like
pytorchcv's `ShuffleUnit` (`compress_conv1`, `dw_conv2`, `expand_conv3` and their norms), the v2
unit like torchvision's `InvertedResidual` (`branch1.0` ... `branch2.7`).
"""

from ..builder import GraphBuilder
from ..errors import ShapeError
from ..paramlib import out_channels
from ..params import Param
from ..registry import BlockSpec, register
from ..shapes import check_divides, require_image


def _stride():
    return Param("stride", "int", 1, "1 (residual add) or 2 (halve the size)", min=1, max=2)


def _expand_shuffle_v1(p, shapes):
    c = require_image(shapes[0])[0]
    mid = p.out_channels // p.bottleneck_ratio
    branch = p.out_channels - c if p.stride == 2 else p.out_channels
    if p.stride == 1 and c != p.out_channels:
        raise ShapeError(f"a stride-1 unit adds its input ({c} channels) to the output "
                         f"({p.out_channels}): they must match")
    if branch < 1:
        raise ShapeError(f"a stride-2 unit concatenates its input ({c} channels): the output "
                         f"must have more than {c} channels")
    first_groups = p.groups if p.group_first else 1
    check_divides(first_groups, c, "input channels")
    check_divides(p.groups, mid, "bottleneck channels")
    check_divides(p.groups, branch, "branch output channels")
    b = GraphBuilder("ShuffleUnitV1")
    x = b.block_input("in")
    y = b.conv_norm_act(x, ("compress_conv1", "compress_bn1", "compress_activ"),
                        out_channels=mid, kernel=1, groups=first_groups)
    y = b.add("ChannelShuffle", "c_shuffle", y, groups=p.groups)
    y = b.conv_norm_act(y, ("dw_conv2", "dw_bn2"), conv="DepthwiseConv2d", act=None, kernel=3,
                        stride=p.stride)
    y = b.conv_norm_act(y, ("expand_conv3", "expand_bn3"), act=None, out_channels=branch,
                        kernel=1, groups=p.groups)
    if p.stride == 2:
        shortcut = b.add("AvgPool2d", "avgpool", x, kernel=3, stride=2, padding=1)
        y = b.add("Concat", "cat", y, shortcut)
    else:
        y = b.add("Add", "add", y, x)
    y = b.add("ReLU", "activ", y)
    b.output(y, "out", name="out")
    return b.finish()


register(BlockSpec(
    type="ShuffleUnitV1", category="efficient", title="ShuffleNet v1 unit",
    help="ShuffleNet's unit (Zhang et al. 2017): a bottleneck whose 1×1 convolutions are group "
         "convolutions (g groups), which makes the dense 1×1 layers g times cheaper; a channel "
         "shuffle after the first one lets information flow between groups. A 3×3 depthwise "
         "convolution sits between them, with no ReLU after it. At stride 1 the input is added; "
         "at stride 2 a 3×3 average pool of the input is concatenated instead, widening the "
         "output cheaply. The bottleneck is a quarter of the output width.",
    params=(out_channels(384, "Output channels (at stride 2 including the "
                         "concatenated input)"),
            Param("groups", "int", 3, "Groups g of the 1×1 group convolutions", min=1, max=64),
            _stride(),
            Param("group_first", "bool", True, "Group the first 1×1 too (the paper leaves it "
                  "dense in the first unit, whose input is narrow)"),
            Param("bottleneck_ratio", "int", 4, "Output channels per bottleneck channel",
                  min=1, max=16)),
    expand=_expand_shuffle_v1,
    summary=lambda p: f"{p.out_channels} g{p.groups}" + (f" /{p.stride}" if p.stride > 1 else ""),
))


def _branch2(b, x, channels, stride):
    y = b.conv_norm_act(x, ("branch2.0", "branch2.1", "branch2.2"), out_channels=channels,
                        kernel=1)
    y = b.conv_norm_act(y, ("branch2.3", "branch2.4"), conv="DepthwiseConv2d", act=None,
                        kernel=3, stride=stride)
    return b.conv_norm_act(y, ("branch2.5", "branch2.6", "branch2.7"), out_channels=channels,
                           kernel=1)


def _expand_shuffle_v2(p, shapes):
    c = require_image(shapes[0])[0]
    if p.out_channels % 2:
        raise ShapeError(f"the output ({p.out_channels} channels) joins two equal branches: "
                         "it must be even")
    half = p.out_channels // 2
    b = GraphBuilder("ShuffleUnitV2")
    x = b.block_input("in")
    if p.stride == 1:
        if c != p.out_channels:
            raise ShapeError(f"a stride-1 unit keeps half its input ({c} channels) as is: the "
                             f"output ({p.out_channels}) must have as many channels")
        kept, rest = b.add("Split", "split", x, sections=2)
        y = b.add("Concat", "cat", kept, _branch2(b, rest, half, 1))
    else:
        left = b.conv_norm_act(x, ("branch1.0", "branch1.1"), conv="DepthwiseConv2d", act=None,
                               kernel=3, stride=p.stride)
        left = b.conv_norm_act(left, ("branch1.2", "branch1.3", "branch1.4"), out_channels=half,
                               kernel=1)
        y = b.add("Concat", "cat", left, _branch2(b, x, half, p.stride))
    y = b.add("ChannelShuffle", "shuffle", y, groups=2)
    b.output(y, "out", name="out")
    return b.finish()


register(BlockSpec(
    type="ShuffleUnitV2", category="efficient", title="ShuffleNet v2 unit",
    help="ShuffleNet v2's unit (Ma et al. 2018), designed from measured speed rather than FLOPs: "
         "a channel split sends half the channels through untouched and the other half through "
         "1×1 → 3×3 depthwise → 1×1 (equal widths, no group convolutions, no element-wise add), "
         "then the halves are concatenated and shuffled. The stride-2 unit skips the split: both "
         "branches see the whole input, the left one as 3×3 depthwise stride 2 → 1×1, doubling "
         "the channels.",
    params=(out_channels(64, "Output channels (even)", min=2),
            _stride()),
    expand=_expand_shuffle_v2,
    # The unit concatenates two branches as wide as torchvision's last 1×1 (branch2[5]).
    imports={"torchvision.models.shufflenetv2.InvertedResidual":
             lambda m, shape: dict(out_channels=2 * m.branch2[5].out_channels, stride=m.stride)},
    summary=lambda p: f"{p.out_channels}" + (f" /{p.stride}" if p.stride > 1 else ""),
))
