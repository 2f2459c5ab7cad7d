"""Design rewrites shared by the techniques: find the design node behind a compiled module path,
opening the catalogue blocks on the way into editable Groups.

A catalogue block's inside is generated from its parameters and input shapes, so its widths
cannot change one layer at a time. Opening it turns the node into a `Group` with the same id whose
sub-graph is a copy of the current expansion: module paths (and so state_dict keys) stay the same,
and every layer inside becomes an ordinary node whose parameters can be edited. Work on a copy of
the user's graph (`Graph.copy()`): nodes are replaced in place, without notifications.
"""

from designer.core.graph import Node, validate_params
from designer.core.infer import analyze, input_states
from designer.core.registry import get_spec

from .measure import CompressError


def open_block(graph, node_id, results):
    """Turn the catalogue block `node_id` into a Group holding a copy of its expansion; return
    the Group's sub-graph and the states feeding its BlockInputs (by port name)."""
    node = graph.nodes[node_id]
    states = input_states(graph, results, node_id)
    if node.subgraph is None:
        inner = node.spec.subgraph(node.params, [s.shape for s in states.values()]).copy()
        params = validate_params(get_spec("Group"), {"label": node.type})
        graph.nodes[node_id] = Node(node_id, "Group", params, node.pos, inner)
        node = graph.nodes[node_id]
    return node.subgraph, states


def _split(graph, parts):
    """The longest leading run of `parts` that names a node of `graph`, and the rest."""
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        if name in graph.nodes:
            return name, parts[cut:]
    return None, parts


def locate(graph, path, open_blocks=True):
    """(graph holding the node, node id) for the compiled module `path`, opening blocks on the
    way (the caller's `graph` is changed); CompressError when no node compiles to `path`."""
    parts = path.split(".")
    current, states = graph, None
    while True:
        node_id, rest = _split(current, parts)
        if node_id is None:
            raise CompressError(f"no layer of the design compiles to {path!r}")
        if not rest:
            return current, node_id
        node = current.nodes[node_id]
        if not node.is_block:
            raise CompressError(f"no layer of the design compiles to {path!r}")
        if node.subgraph is None:
            if not open_blocks:
                raise CompressError(f"{path} lies inside the block {node_id}")
            current, states = open_block(current, node_id, analyze(current, states))
        else:
            # A Group: its input states are only needed to open blocks further in.
            inner_states = None
            if open_blocks and _has_closed_block(node.subgraph):
                results = analyze(current, states)
                inner_states = input_states(current, results, node_id)
            current, states = node.subgraph, inner_states
        parts = rest


def _has_closed_block(graph):
    return any(n.is_block and n.subgraph is None for n in graph.nodes.values())


def block_of(graph, path):
    """The outermost block whose inside holds module `path` ("" when it is a top-level layer)."""
    node_id, rest = _split(graph, path.split("."))
    return node_id if rest and node_id else ""
