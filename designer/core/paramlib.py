"""Parameters that many layers and blocks share, declared once so their ranges agree: one
`out_channels` with one maximum, one kernel, stride, padding, dilation and bias.

    from ..paramlib import KERNEL, STRIDE, out_channels
    params=(out_channels(64, "Number of filters"), KERNEL, STRIDE)
"""

from .params import Param

MAX_CHANNELS = 65536

KERNEL = Param("kernel", "pair", (3, 3), "Kernel height × width (e.g. 3, or [1, 7])", min=1, max=64)
STRIDE = Param("stride", "pair", (1, 1), "Stride", min=1, max=64)
PADDING = Param("padding", "padding", "same", "'same', 'valid', or explicit [h, w] zeros", min=0, max=64)
DILATION = Param("dilation", "pair", (1, 1), "Dilation (atrous rate)", min=1, max=64)
BIAS = Param("bias", "bool", True, "Learn a bias per output channel (off before BatchNorm)")


def out_channels(default=64, help="Output channels", min=1):
    """The number of output channels (filters), up to MAX_CHANNELS for every layer and block."""
    return Param("out_channels", "int", default, help, min=min, max=MAX_CHANNELS)
