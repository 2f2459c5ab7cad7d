"""Grouping a selection into a block, and exploding a block back into layers (Qt-free).

`group_command` turns selected nodes into one `Group` node whose `subgraph` holds them, with a
`BlockInput` for every distinct source feeding the selection from outside and an `Output` for every
distinct result used outside. `explode_command` does the reverse for a Group or for any catalogue
block (its expansion for the current input shapes): the inside becomes ordinary editable layers
wired to the block's neighbours. A catalogue block node `layer1.0` explodes into `layer1.0.conv1`...
so module paths, and hence state_dict keys, stay the same. Frozen marks and learning-rate factors
go with the layers both ways. Both return one `Compound` command.
"""

from .commands import AddNode, Compound, Connect, MoveNodes, RemoveNode, SetTraining
from .errors import DesignError
from .graph import Graph, unique_id
from .layout import layered_positions, make_room
from .registry import Role

NOT_GROUPABLE = (Role.INPUT, Role.OUTPUT, Role.BLOCK_INPUT)


class GroupingError(DesignError):
    """A selection that cannot become a block, or a node that cannot be exploded."""


def _port_name(base, index):
    return base if index == 0 else f"{base}{index}"


def group_command(graph, node_ids, group_id=None, label=""):
    wanted = set(node_ids)
    chosen = [nid for nid in graph.nodes if nid in wanted]
    if not chosen:
        raise GroupingError("select the layers to group first")
    inside = set(chosen)
    for nid in chosen:
        if graph.nodes[nid].role in NOT_GROUPABLE:
            raise GroupingError(f"{nid} is a {graph.nodes[nid].type} node; inputs and outputs of "
                                "the network stay outside blocks")
    _refuse_cycle_through_outside(graph, inside)

    edges = graph.edges
    incoming = [e for e in edges if e.dst in inside and e.src not in inside]
    outgoing = [e for e in edges if e.src in inside and e.dst not in inside]
    sources = list(dict.fromkeys((e.src, e.src_port) for e in incoming))
    results = list(dict.fromkeys((e.src, e.src_port) for e in outgoing))
    in_ports = {src: _port_name("in", i) for i, src in enumerate(sources)}
    out_ports = {src: _port_name("out", i) for i, src in enumerate(results)}

    sub = Graph(label or "group")
    with sub.batch():
        for name in in_ports.values():
            sub.add_node("BlockInput", name, {"name": name})
        for nid in chosen:
            node = graph.nodes[nid]
            sub.add_node(node.type, nid, None, node.pos,
                         node.subgraph.copy() if node.subgraph is not None else None)
            sub.restore_params(nid, node.params)
            sub.set_training(nid, frozen=node.frozen, lr_factor=node.lr_factor)
        for e in edges:
            if e.src in inside and e.dst in inside:
                sub.connect(e.src, e.src_port, e.dst, e.dst_port)
        for e in incoming:
            sub.connect(in_ports[(e.src, e.src_port)], "out", e.dst, e.dst_port)
        for (src, port), name in out_ports.items():
            taken = unique_id(name, sub.nodes)
            sub.add_node("Output", taken, {"name": name})
            sub.connect(src, port, taken, "in")
    for nid, pos in layered_positions(sub).items():
        sub.move(nid, pos)

    xs = [graph.nodes[n].pos[0] for n in chosen]
    ys = [graph.nodes[n].pos[1] for n in chosen]
    pos = (sum(xs) / len(xs), sum(ys) / len(ys))
    group_id = group_id or unique_id(label or "block", set(graph.nodes) - inside)
    command = Compound(graph, f"Group {len(chosen)} layers into {group_id}")
    for nid in chosen:
        command.add(RemoveNode(graph, nid))
    command.add(AddNode(graph, "Group", group_id, {"label": label}, pos, sub))
    for (src, port), name in in_ports.items():
        command.add(Connect(graph, src, port, group_id, name))
    for e in outgoing:
        command.add(Connect(graph, group_id, out_ports[(e.src, e.src_port)], e.dst, e.dst_port))
    return command


def _refuse_cycle_through_outside(graph, inside):
    """A path that leaves the selection and comes back would make the block feed itself."""
    downstream, stack = set(), [s for n in inside for s in graph.successors(n) if s not in inside]
    while stack:
        nid = stack.pop()
        if nid in downstream:
            continue
        downstream.add(nid)
        for succ in graph.successors(nid):
            if succ in inside:
                raise GroupingError(f"the path through {nid} leaves the selection and comes back "
                                    "into it; add the nodes on that path to the selection")
            stack.append(succ)


def explode_command(graph, node_id, input_shapes=None):
    """Replace the block `node_id` by its inside. `input_shapes` (one per input port) are needed
    for a catalogue block, whose expansion depends on them; a Group ignores them."""
    node = graph.node(node_id)
    if not node.is_block:
        raise GroupingError(f"{node_id} is a {node.type} layer, not a block")
    if node.subgraph is None and input_shapes is None:
        raise GroupingError(f"{node_id}: its input shapes are unknown (connect its inputs and fix "
                            "errors upstream first)")
    inner = node.block_graph(input_shapes)
    is_group = node.subgraph is not None
    taken = set(graph.nodes) - {node_id}
    names = {}
    for nid, inner_node in inner.nodes.items():
        if inner_node.role in (Role.BLOCK_INPUT, Role.OUTPUT):
            continue
        names[nid] = unique_id(nid if is_group else f"{node_id}.{nid}", taken)
        taken.add(names[nid])

    feeding = {e.dst_port: e for e in graph.in_edges(node_id)}
    block_inputs = {n.id: n.params["name"] for n in inner.nodes_of_role(Role.BLOCK_INPUT)}

    def outside_source(edge):
        """(src, port) outside for an inner edge's source, or None when the port is unfed."""
        if edge.src in block_inputs:
            fed = feeding.get(block_inputs[edge.src])
            return (fed.src, fed.src_port) if fed else None
        return (names[edge.src], edge.src_port)

    # Lay the inside out where the block was; the nodes in its way (and in turn the ones in
    # theirs) move down to make room, and nothing else moves.
    positions = layered_positions(inner)
    kept = [nid for nid in names]
    top = min((positions[n][1] for n in kept), default=0.0)
    xs = [positions[n][0] for n in kept] or [0.0]
    centre = (min(xs) + max(xs)) / 2
    bx, by = node.pos
    placed = {names[nid]: (bx + positions[nid][0] - centre, by + positions[nid][1] - top)
              for nid in kept}
    others = {nid: n.pos for nid, n in graph.nodes.items() if nid != node_id}
    moves = {nid: p for nid, p in make_room(others, placed).items() if nid not in placed}

    command = Compound(graph, f"Explode {node_id}")
    if moves:
        command.add(MoveNodes(graph, moves))
    outgoing = graph.out_edges(node_id)
    command.add(RemoveNode(graph, node_id))
    for nid, new_id in names.items():
        inner_node = inner.nodes[nid]
        command.add(AddNode(graph, inner_node.type, new_id, inner_node.params, placed[new_id],
                            inner_node.subgraph.copy() if inner_node.subgraph is not None else None))
    # The layers keep their own training marks; a frozen block's are all frozen, and its
    # learning-rate factor is theirs where they had none of their own.
    marks = {}
    for nid, new_id in names.items():
        inner_node = inner.nodes[nid]
        mark = (inner_node.frozen or node.frozen,
                inner_node.lr_factor if inner_node.lr_factor != 1.0 else node.lr_factor)
        if mark != (False, 1.0):
            marks.setdefault(mark, []).append(new_id)
    for (frozen, lr_factor), new_ids in marks.items():
        command.add(SetTraining(graph, new_ids, frozen=frozen, lr_factor=lr_factor))
    outputs = {n.params["name"]: n.id for n in inner.nodes_of_role(Role.OUTPUT)}
    for e in inner.edges:
        if e.dst in names:
            source = outside_source(e)
            if source is not None:
                command.add(Connect(graph, *source, names[e.dst], e.dst_port))
    for e in outgoing:
        inner_out = outputs.get(e.src_port)
        edge_in = inner.in_edge(inner_out, "in") if inner_out else None
        source = outside_source(edge_in) if edge_in else None
        if source is not None:
            command.add(Connect(graph, *source, e.dst, e.dst_port))
    return command
