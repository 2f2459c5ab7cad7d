"""Undoable edits of a `Graph`: do/undo objects that touch only the model.

Each command validates when it is first done and records what it needs to undo exactly (a removed
node's parameters and edges, the edges a parameter change dropped, old positions). A compound edit
is one `Compound` with children, so one undo restores a node and its links. Undo also puts nodes and
edges back in their earlier order, so a saved file is byte-identical after undo. The editor wraps
each command in a QUndoCommand; nothing here knows about Qt (after orange-canvas-core's
`document/commands.py`).
"""

from .graph import Node, unique_id
from .layout import make_room
from .params import ParamValues


class Command:
    """Base class: `redo()` applies the edit, `undo()` reverts it. `text` names it for a menu."""

    text = ""

    def __init__(self, graph):
        self.graph = graph
        self._order = None

    def redo(self):
        graph = self.graph
        order = (list(graph.nodes), graph.edges)
        try:
            with graph.batch():
                self._redo()
        except Exception:
            graph.set_order(*order)  # a refused compound has rolled back; restore the order too
            raise
        self._order = order

    def undo(self):
        graph = self.graph
        with graph.batch():
            self._undo()
        graph.set_order(*self._order)

    def _redo(self):
        raise NotImplementedError

    def _undo(self):
        raise NotImplementedError


class Compound(Command):
    """Several commands done in order and undone in reverse, as one step."""

    def __init__(self, graph, text, children=()):
        super().__init__(graph)
        self.text = text
        self.children = list(children)

    def add(self, child):
        self.children.append(child)
        return child

    def _redo(self):
        done = []
        try:
            for child in self.children:
                child._redo()
                done.append(child)
        except Exception:
            # Leave the graph as it was: a half-done compound must not stay applied.
            for child in reversed(done):
                child._undo()
            raise

    def _undo(self):
        for child in reversed(self.children):
            child._undo()


class AddNode(Command):
    def __init__(self, graph, type_name, node_id=None, params=None, pos=(0.0, 0.0), subgraph=None):
        super().__init__(graph)
        self.type_name = type_name
        self.node_id = node_id or graph.unique_id(type_name.lower())
        self.params = params
        self.pos = pos
        self.subgraph = subgraph
        self.text = f"Add {self.node_id}"

    def _redo(self):
        self.graph.add_node(self.type_name, self.node_id, None, self.pos, self.subgraph)
        if self.params is not None:
            values = ParamValues(self.graph.nodes[self.node_id].params)
            values.update(self.params)
            values.in_range = getattr(self.params, "in_range", False)
            self.graph.restore_params(self.node_id, values)

    def _undo(self):
        self.graph.remove_node(self.node_id)


class RemoveNode(Command):
    """Removes a node with its edges; undo puts back the node, its exact parameters and edges."""

    def __init__(self, graph, node_id):
        super().__init__(graph)
        self.node_id = node_id
        self.text = f"Delete {node_id}"
        self._node = None
        self._edges = []

    def _redo(self):
        graph = self.graph
        self._edges = graph.edges_of(self.node_id)
        self._node = graph.remove_node(self.node_id)

    def _undo(self):
        node = self._node
        graph = self.graph
        graph.add_node(node.type, node.id, None, node.pos, node.subgraph)
        graph.restore_params(node.id, node.params)
        graph.set_training(node.id, frozen=node.frozen, lr_factor=node.lr_factor)
        for e in self._edges:
            graph.connect(e.src, e.src_port, e.dst, e.dst_port)


class Connect(Command):
    """Connects an output port to an input port, refusing cycles. With `replace`, an edge already
    on the input port is removed first (and restored by undo)."""

    def __init__(self, graph, src, src_port, dst, dst_port, replace=False):
        super().__init__(graph)
        self.args = (src, src_port, dst, dst_port)
        self.replace = replace
        self.text = f"Connect {src} → {dst}"
        self._replaced = None

    def _redo(self):
        graph = self.graph
        src, src_port, dst, dst_port = self.args
        graph.check_connect(src, src_port, dst, dst_port)   # refuses cycles, with why
        existing = graph.in_edge(dst, dst_port)
        self._replaced = None
        if existing is not None and self.replace:
            graph.disconnect(existing)
            self._replaced = existing
        graph.connect(*self.args)

    def _undo(self):
        graph = self.graph
        src, src_port, dst, dst_port = self.args
        graph.disconnect(graph.in_edge(dst, dst_port))
        if self._replaced is not None:
            e = self._replaced
            graph.connect(e.src, e.src_port, e.dst, e.dst_port)


class Disconnect(Command):
    def __init__(self, graph, edge):
        super().__init__(graph)
        self.edge = edge
        self.text = f"Disconnect {edge.src} → {edge.dst}"

    def _redo(self):
        self.graph.disconnect(self.edge)

    def _undo(self):
        e = self.edge
        self.graph.connect(e.src, e.src_port, e.dst, e.dst_port)


class SetParams(Command):
    """Changes parameter values (validated: a bad value raises ParamError and changes nothing).
    Undo restores the exact earlier values and any edges the change dropped."""

    def __init__(self, graph, node_id, **values):
        super().__init__(graph)
        self.node_id = node_id
        self.values = values
        self.text = f"Edit {node_id}: " + ", ".join(values)
        self._old = None
        self._dropped = []

    def _redo(self):
        graph = self.graph
        self._old = graph.node(self.node_id).params
        self._dropped = graph.set_params(self.node_id, **self.values)

    def _undo(self):
        graph = self.graph
        graph.restore_params(self.node_id, self._old)
        for e in self._dropped:
            graph.connect(e.src, e.src_port, e.dst, e.dst_port)

    def merge(self, other):
        """Fold a later edit of the same parameters of the same node into this one (a spin box
        dragged through many values is one undo step). False when they cannot merge."""
        if (not isinstance(other, SetParams) or other.node_id != self.node_id
                or set(other.values) != set(self.values) or self._dropped or other._dropped):
            return False
        self.values = other.values
        return True


class SetTraining(Command):
    """Freezes or thaws nodes, or sets their learning-rate factor, as one step (`Graph.
    set_training`); undo restores each node's earlier state."""

    def __init__(self, graph, node_ids, frozen=None, lr_factor=None):
        super().__init__(graph)
        self.node_ids = list(node_ids)
        self.frozen, self.lr_factor = frozen, lr_factor
        names = self.node_ids[0] if len(self.node_ids) == 1 else f"{len(self.node_ids)} nodes"
        if frozen is not None:
            self.text = f"{'Freeze' if frozen else 'Unfreeze'} {names}"
        else:
            self.text = f"Learning-rate factor of {names}"
        self._old = {}

    def _redo(self):
        graph = self.graph
        self._old = {nid: (graph.node(nid).frozen, graph.node(nid).lr_factor)
                     for nid in self.node_ids}
        for nid in self.node_ids:
            graph.set_training(nid, frozen=self.frozen, lr_factor=self.lr_factor)

    def _undo(self):
        for nid, (frozen, lr_factor) in self._old.items():
            self.graph.set_training(nid, frozen=frozen, lr_factor=lr_factor)


class MoveNodes(Command):
    """Moves nodes to new positions: `moves` maps node id -> (x, y)."""

    def __init__(self, graph, moves, text="Move"):
        super().__init__(graph)
        self.moves = {nid: (float(x), float(y)) for nid, (x, y) in moves.items()}
        self.old = {nid: graph.node(nid).pos for nid in moves}
        self.text = text

    def _redo(self):
        for nid, pos in self.moves.items():
            self.graph.move(nid, pos)

    def _undo(self):
        for nid, pos in self.old.items():
            self.graph.move(nid, pos)


class Rename(Command):
    def __init__(self, graph, node_id, new_id):
        super().__init__(graph)
        self.node_id = node_id
        self.new_id = new_id
        self.text = f"Rename {node_id} to {new_id}"

    def _redo(self):
        self.graph.rename(self.node_id, self.new_id)

    def _undo(self):
        self.graph.rename(self.new_id, self.node_id)


class SetMetadata(Command):
    def __init__(self, graph, name=None, description=None):
        super().__init__(graph)
        self.new = (name, description)
        self.old = (graph.name, graph.description)
        self.text = "Edit design name" if name is not None else "Edit description"

    def _redo(self):
        self.graph.set_metadata(*self.new)

    def _undo(self):
        self.graph.set_metadata(*self.old)


def delete_nodes(graph, node_ids):
    """One compound that deletes the nodes (and their edges)."""
    wanted = set(node_ids)
    ids = [nid for nid in graph.nodes if nid in wanted]
    text = f"Delete {ids[0]}" if len(ids) == 1 else f"Delete {len(ids)} nodes"
    return Compound(graph, text, [RemoveNode(graph, nid) for nid in ids])


def layout(graph, positions, text="Auto-layout"):
    """Move every node to `positions` (e.g. from `layout.layered_positions`) as one step."""
    moves = {nid: pos for nid, pos in positions.items() if graph.nodes[nid].pos != tuple(pos)}
    return MoveNodes(graph, moves, text)


def paste(graph, clip, offset=(40.0, 40.0)):
    """Add the nodes and edges of the graph `clip` (a copied selection) with fresh ids where
    needed, shifted by `offset`. Returns (command, {clip id: new id})."""
    taken = set(graph.nodes)
    names = {}
    for nid in clip.nodes:
        names[nid] = unique_id(nid, taken)
        taken.add(names[nid])
    command = Compound(graph, f"Paste {len(names)} node" + ("s" if len(names) != 1 else ""))
    for node in clip.nodes.values():
        sub = node.subgraph.copy() if node.subgraph is not None else None
        pos = (node.pos[0] + offset[0], node.pos[1] + offset[1])
        command.add(AddNode(graph, node.type, names[node.id], node.params, pos, sub))
    for e in clip.edges:
        command.add(Connect(graph, names[e.src], e.src_port, names[e.dst], e.dst_port))
    return command, names


def selection_graph(graph, node_ids):
    """A new graph holding copies of the nodes and the edges among them (copy to the clipboard)."""
    chosen = set(node_ids)
    whole = graph.copy()
    for nid in [n for n in whole.nodes if n not in chosen]:
        whole.remove_node(nid)
    return whole


def insert_on_edge(graph, edge, type_name, node_id, pos):
    """One compound that adds a layer in the middle of `edge`: src → new layer → dst. The layer
    goes near `pos` (in line with a straight wire) and overlaps nothing: it settles below a layer
    in its way above and the layers in its way below move down (`layout.make_room`)."""
    src, dst = graph.node(edge.src), graph.node(edge.dst)
    if abs(src.pos[0] - dst.pos[0]) < 1:      # a straight wire: in line with it
        pos = (src.pos[0], pos[1])
    moves = make_room({n.id: n.pos for n in graph.nodes.values()}, {node_id: pos}, fixed=False)
    pos = moves.pop(node_id)
    command = Compound(graph, f"Insert {node_id}", [AddNode(graph, type_name, node_id, None, pos),
                                                      Disconnect(graph, edge)])
    if moves:
        command.add(MoveNodes(graph, moves))
    added = Node(node_id, type_name, None)
    added.params = added.spec.defaults()
    ins, outs = added.input_ports(), added.output_ports()
    if ins:
        command.add(Connect(graph, edge.src, edge.src_port, node_id, ins[0]))
    if outs:
        command.add(Connect(graph, node_id, outs[0], edge.dst, edge.dst_port))
    return command


def move_connection(graph, edge, dst, dst_port):
    """One compound that moves `edge`'s input end to another input port (replacing what was
    there)."""
    return Compound(graph, f"Move connection {edge.src} → {dst}",
                    [Disconnect(graph, edge), Connect(graph, edge.src, edge.src_port, dst, dst_port,
                                                      replace=True)])
