""""Make this layer cheaper": replace one convolution by a depthwise-separable convolution or a
Ghost module (Han et al. 2020) with the same output shape, as a design rewrite. The node keeps its
id, so its neighbours stay wired; the new layer's weights are fresh (fine-tune afterwards), every
other layer keeps its weights.
"""

from designer.core.graph import Node, validate_params
from designer.core.infer import analyze
from designer.core.registry import get_spec

from .measure import CompressError
from .rewrite import locate

KINDS = ("separable", "ghost")


def _replacement(node, kind):
    p = node.params
    if node.type != "Conv2d":
        raise CompressError(f"{node.id} is a {node.type}; only a Conv2d can be substituted")
    if p["groups"] != 1:
        raise CompressError(f"{node.id} is already a grouped convolution")
    if kind == "separable":
        return "SeparableConv2d", {"out_channels": p["out_channels"], "kernel": p["kernel"],
                                   "stride": p["stride"], "padding": p["padding"],
                                   "dilation": p["dilation"], "bias": p["bias"]}
    if kind == "ghost":
        (kh, kw), (sh, sw) = p["kernel"], p["stride"]
        if kh != kw or sh != sw or p["dilation"] != (1, 1):
            raise CompressError(f"{node.id} cannot become a Ghost module: it needs a square "
                                "kernel and stride without dilation")
        return "GhostModule", {"out_channels": p["out_channels"], "kernel": kh, "stride": sh,
                               "relu": False}
    raise CompressError(f"unknown substitution {kind!r}; choose separable or ghost")


def substitute(graph, path, kind):
    """A copy of `graph` with the convolution at module `path` replaced by `kind`."""
    result = graph.copy()
    holder, node_id = locate(result, path)
    node = holder.nodes[node_id]
    type_name, params = _replacement(node, kind)
    spec = get_spec(type_name)
    holder.nodes[node_id] = Node(node_id, type_name, validate_params(spec, params), node.pos)
    # Every top-level shape must stay as it was (a block's inside shows through its outputs).
    before, after = analyze(graph), analyze(result)
    for nid, state in after.items():
        shapes = {port: out.shape for port, out in state.outputs.items()}
        if state.error or shapes != {p: o.shape for p, o in before[nid].outputs.items()}:
            problem = state.error or f"{nid} would give {state.output_shape}"
            raise CompressError(f"{path} cannot become a {kind} layer with the same output "
                                f"shape ({problem})")
    return result
