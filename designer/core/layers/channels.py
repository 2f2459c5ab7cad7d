"""Channel selection layers: keep n channels from a start (GhostNet trims its concatenation to the
requested width; DPN and ReXNet take the first channels for a residual sum and the rest as they
are), and gather channels by a stored index (CondenseNet's condensed learned group
convolutions, whose learned connectivity becomes an index of input channels).
"""

from ..categories import UTILITY
from ..errors import ShapeError
from ..lazy import lazy_module
from ..params import Param
from ..registry import LayerInfo, LayerSpec, register
from ..shapes import require_image

modules = lazy_module("designer.core.modules")   # imports torch


def _slice_rule(p, shapes):
    c = shapes[0][0]
    if p.start + p.channels > c:
        raise ShapeError(f"cannot keep {p.channels} channels from channel {p.start} of an input "
                         f"with {c}")
    return LayerInfo(((p.channels,) + tuple(shapes[0][1:]),))


def _slice_summary(p):
    return f"[{p.start or ''}:{p.start + p.channels}]"


register(LayerSpec(
    type="ChannelSlice", category=UTILITY, title="Channel slice",
    help="Keeps n channels from a start channel and drops the rest: GhostNet trims the primary "
         "and cheap features to the requested width; DPN's dual path block adds its first "
         "channels to the residual path and concatenates the rest (x[:, start:start + n]).",
    params=(Param("channels", "int", 16, "Channels to keep", min=1, max=65536),
            Param("start", "int", 0, "The first channel kept (0: the first)", min=0,
                  max=65535)),
    rule=_slice_rule, build=lambda p, s: modules.ChannelSlice(p.channels, p.start),
    summary=_slice_summary,
))


def _gather_rule(p, shapes):
    if len(shapes[0]) == 3:
        require_image(shapes[0])
    return LayerInfo(((p.channels,) + tuple(shapes[0][1:]),))


register(LayerSpec(
    type="ChannelGather", category=UTILITY, title="Channel gather",
    help="Picks channels by an index stored with the weights (a channel may be picked more than "
         "once): the index layer of CondenseNet's condensed learned group convolution, which "
         "routes to each group the input channels that training kept for it.",
    params=(Param("channels", "int", 16, "Channels selected (the index length)",
                  min=1, max=65536),),
    rule=_gather_rule, build=lambda p, s: modules.ChannelGather(s[0][0], p.channels),
    summary=lambda p: f"{p.channels} by index",
))
