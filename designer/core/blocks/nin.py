"""Network in Network's mlpconv layer (Lin et al. 2013)."""

from ..builder import GraphBuilder
from ..paramlib import out_channels
from ..params import Param
from ..registry import BlockSpec, register


def _expand_mlpconv(p, shapes):
    b = GraphBuilder("MLPConv")
    y = b.add("Conv2d", "conv", b.block_input("in"), out_channels=p.out_channels,
              kernel=p.kernel, stride=p.stride, padding=p.padding)
    y = b.add("ReLU", "relu", y)
    for i, width in enumerate(p.mlp, 1):
        y = b.add("Conv2d", f"cccp{i}", y, out_channels=width, kernel=1, padding=0)
        y = b.add("ReLU", f"relu{i}", y)
    b.output(y, "out", name="out")
    return b.finish()


register(BlockSpec(
    type="MLPConv", category="blocks/nin", title="mlpconv (NIN)",
    help="Network in Network's mlpconv layer (Lin et al. 2013): a convolution followed by a "
         "small multilayer perceptron applied at every position, implemented as 1×1 "
         "convolutions with ReLU ('cascaded cross-channel parametric pooling'). The micro "
         "network replaces the linear filter as a more powerful local feature extractor; "
         "stacking mlpconv layers and ending with global average pooling over class maps "
         "removes the fully connected layers. Set the first convolution's filters, kernel and "
         "stride, and the 1×1 widths of the MLP.",
    params=(out_channels(192, "Filters of the spatial convolution"),
            Param("kernel", "pair", (5, 5), "Kernel of the spatial convolution", min=1, max=64),
            Param("stride", "pair", (1, 1), "Stride of the spatial convolution", min=1, max=64),
            Param("padding", "padding", "same", "'same', 'valid', or explicit [h, w] zeros",
                  min=0, max=64),
            Param("mlp", "ints", (160, 96), "Widths of the 1×1 layers of the micro network",
                  min=1, max=65536)),
    expand=_expand_mlpconv,
    summary=lambda p: f"{p.kernel[0]}×{p.kernel[1]}, {p.out_channels}→" + "→".join(map(str, p.mlp)),
))
