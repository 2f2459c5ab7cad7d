"""Xception's residual block of depthwise-separable convolutions (Chollet 2017).

One block type covers the entry, middle and exit flows; its inner names follow timm's
legacy_xception (`rep.N`, `skip`, `skipbn`), with each separable convolution as a depthwise node
`rep.N.conv1` and a pointwise node `rep.N.pointwise`, so a block node `block4` compiles to timm's
state_dict keys.
"""

from ..builder import GraphBuilder
from ..paramlib import out_channels
from ..params import Param
from ..registry import BlockSpec, register


def separable(b, name, x, out, inner_activation=False):
    """A 3×3 depthwise then 1×1 pointwise convolution, without bias (Xception's SeparableConv2d);
    with `inner_activation` a ReLU between them, the variant the paper found worse."""
    y = b.add("DepthwiseConv2d", f"{name}.conv1", x, kernel=3, padding=1)
    if inner_activation:
        y = b.add("ReLU", f"{name}.relu", y)
    return b.add("PointwiseConv2d", f"{name}.pointwise", y, out_channels=out)


def _expand_block(p, shapes):
    c = shapes[0][0]
    b = GraphBuilder("XceptionBlock")
    x = b.block_input("in")
    # timm's layout: [ReLU, SeparableConv, BN] per repetition, numbered as one Sequential.
    layers = []
    for i in range(p.reps):
        if p.grow_first:
            out = p.out_channels
        else:
            out = c if i < p.reps - 1 else p.out_channels
        if i > 0 or p.start_with_relu:
            layers.append(("relu", None))
        layers.append(("sep", out))
        layers.append(("bn", None))
    y = x
    for index, (kind, out) in enumerate(layers):
        name = f"rep.{index}"
        if kind == "relu":
            y = b.add("ReLU", name, y)
        elif kind == "sep":
            y = separable(b, name, y, out, p.inner_activation)
        else:
            y = b.add("BatchNorm", name, y)
    if p.stride != 1:
        y = b.add("MaxPool2d", f"rep.{len(layers)}", y, kernel=3, stride=p.stride,
                  padding=1)
    shortcut = x
    if p.stride != 1 or c != p.out_channels:
        shortcut = b.conv_norm_act(x, ("skip", "skipbn"), act=None, out_channels=p.out_channels,
                                   kernel=1, stride=p.stride)
    b.output(b.add("Add", "add", y, shortcut), "out", name="out")
    return b.finish()


register(BlockSpec(
    type="XceptionBlock", category="blocks/xception", title="Xception block",
    help="Xception's building block (Chollet 2017, 'Xception: Deep Learning with Depthwise "
         "Separable Convolutions'): Inception taken to the extreme, where every convolution is "
         "split into a depthwise 3×3 that looks at space per channel and a pointwise 1×1 that "
         "mixes channels. Each repetition is ReLU → separable conv → BN; a stride-2 block ends "
         "in a 3×3/2 max pool and its shortcut is a 1×1 stride-2 convolution with BN, otherwise "
         "the input is added unchanged. Entry flow: 3 stride-2 blocks (128, 256, 728) of 2 "
         "repetitions, the first without the leading ReLU; middle flow: 8 blocks of 3 at 728; "
         "exit flow: one stride-2 block 728 → 1024 that widens at its last repetition. The "
         "paper found no activation between depthwise and pointwise works best (inner "
         "activation off).",
    params=(out_channels(728, "Output channels"),
            Param("reps", "int", 3, "Separable convolutions in the block", min=1, max=16),
            Param("stride", "int", 1, "2 ends the block in a 3×3/2 max pool and strides the "
                  "shortcut", min=1, max=2),
            Param("start_with_relu", "bool", True, "ReLU before the first separable "
                  "convolution (off for the first entry-flow block, which follows a ReLU)"),
            Param("grow_first", "bool", True, "Widen at the first repetition (off: at the last, "
                  "as the exit flow does)"),
            Param("inner_activation", "bool", False, "ReLU between depthwise and pointwise")),
    expand=_expand_block,
    summary=lambda p: f"{p.out_channels} ×{p.reps}" + (" /2" if p.stride > 1 else ""),
))
