"""The graph model: the one owner of a design's state.

A `Graph` holds nodes (a layer or block type, validated parameters, a position, and for a user's
group its own sub-graph) and edges between named ports. Every mutation validates first, then
changes state, then notifies observers through `Signal`s, so views never hold a copy of the truth.
Cycles are not refused by `connect` (a file may contain one); inference marks the nodes on a
cycle as errors, and editors call `check_connect()` before connecting. Mistakes raise
`DesignError` subclasses, each with a sentence for a person.
"""

from contextlib import contextmanager
from dataclasses import dataclass
import re

from .errors import CycleError, NodeNameError, ParamError, PortError, ShapeError, UnknownNodeError
from .events import Signal
from .infer import PortState, compute_node, input_state
from .params import ParamValues
from .registry import Role, get_spec

NODE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")


@dataclass(frozen=True)
class Edge:
    src: str
    src_port: str
    dst: str
    dst_port: str

    def __str__(self):
        return f"{self.src}.{self.src_port} -> {self.dst}.{self.dst_port}"


@dataclass
class Change:
    """What a mutation touched: nodes whose own result must be recomputed, and whether the
    topology (nodes or edges) changed."""
    dirty: set
    structure: bool = False

    def merge(self, other):
        self.dirty |= other.dirty
        self.structure = self.structure or other.structure


class Node:
    __slots__ = ("id", "type", "spec", "params", "pos", "subgraph", "_ports", "frozen",
                 "lr_factor")

    def __init__(self, node_id, type_name, params, pos=(0.0, 0.0), subgraph=None):
        self.id = node_id
        self.type = type_name
        self.spec = get_spec(type_name)  # a node never changes type
        self.params = params
        self.pos = pos
        self.subgraph = subgraph
        self._ports = None   # (the params they follow, (input ports, output ports))
        # How training treats the node's tensors (transfer learning): frozen ones get no
        # gradient and their batch norms keep their statistics; the learning rate of the others
        # is scaled by lr_factor. Not part of what the design computes (`design_hash`).
        self.frozen = False
        self.lr_factor = 1.0

    @property
    def is_block(self):
        return self.spec.is_block

    @property
    def role(self):
        return self.spec.role

    def block_graph(self, input_shapes):
        """The sub-graph inside a block node: its own for a user's group, else the block's
        expansion for these input shapes (one per input port)."""
        if self.subgraph is not None:
            return self.subgraph
        return self.spec.subgraph(self.params, input_shapes)

    def input_ports(self):
        return list(self.port_names()[0])

    def output_ports(self):
        return list(self.port_names()[1])

    def port_names(self):
        """(input ports, output ports) as tuples, the same objects until the ports change (for
        inference, which asks for every node on every edit). Ports follow the parameters (a
        Concat's input count) and, for a group, its inside, which is read-only once grouped."""
        cached = self._ports
        if cached is None or cached[0] is not self.params:
            if self.subgraph is not None:
                inputs = [n.params["name"] for n in self.subgraph.nodes_of_role(Role.BLOCK_INPUT)]
                outputs = [n.params["name"] for n in self.subgraph.nodes_of_role(Role.OUTPUT)]
            else:
                inputs, outputs = self.spec.input_ports(self.params), self.spec.output_ports(self.params)
            cached = self._ports = (self.params, (tuple(inputs), tuple(outputs)))
        return cached[1]

    def __repr__(self):
        return f"Node({self.id!r}, {self.type!r})"


def unique_id(wanted, taken, counters=None):
    """The one way a new node gets its id: `wanted` made a valid node name, and when that is taken
    the first free `wanted1`, `wanted2` ... (trailing digits replaced). An importer adding
    thousands of nodes of one name passes `counters` (base -> the number to try next), so each
    search starts where the last one ended instead of at 1 (a chain of n ReLUs was n² checks)."""
    name = re.sub(r"\.{2,}", ".", re.sub(r"[^A-Za-z0-9_.]", "_", wanted)).strip(".") or "node"
    if not re.match(r"[A-Za-z_]", name):
        name = "n" + name
    if name not in taken:
        return name
    base = re.sub(r"\d+$", "", name) or name
    i = counters.get(base, 1) if counters is not None else 1
    while f"{base}{i}" in taken:
        i += 1
    if counters is not None:
        counters[base] = i + 1
    return f"{base}{i}"


def check_lr_factor(value, node_id):
    """A node's learning-rate factor as a float above 0 and finite, else ParamError."""
    try:
        factor = float(value)
    except (TypeError, ValueError):
        raise ParamError(f"{node_id}: the learning-rate factor must be a number, not "
                         f"{value!r}") from None
    if not (0 < factor < float("inf")):
        raise ParamError(f"{node_id}: the learning-rate factor must be above 0 (freeze the node "
                         f"to stop it learning); got {value!r}")
    return factor


def validate_params(spec, values, base=None):
    """Merge `values` over `base` (or the defaults) and coerce each; unknown names are refused."""
    params = ParamValues(base if base is not None else spec.defaults())
    schema = spec.param_map
    for name, value in values.items():
        if name not in schema:
            raise ParamError(f"{spec.type} has no parameter {name!r}")
        params[name] = schema[name].coerce(value)
    # Defaults and strictly coerced values are in range; a base loaded from a file may not be.
    params.in_range = base is None or getattr(base, "in_range", False)
    return params


class Graph:
    def __init__(self, name="untitled", description=""):
        self.name = name
        self.description = description
        self.nodes = {}
        self._in_edges = {}     # (dst, dst_port) -> Edge
        self._out_edges = {}    # src -> {Edge: None} (an ordered set: O(1) removal)
        self._successors = {}   # src -> tuple of successor ids, dropped when src's edges change
        self.version = 0        # bumped on every mutation; caches key on it
        self.search = {}        # node id -> {param: Searchable}: the search space (core/space.py)
        self._batch = None
        self.node_added = Signal()      # (node)
        self.node_removed = Signal()    # (node)
        self.edge_added = Signal()      # (edge)
        self.edge_removed = Signal()    # (edge)
        self.node_changed = Signal()    # (node, aspect) aspect in {"params", "pos", "id"}
        self.metadata_changed = Signal()
        self.changed = Signal()         # (Change) once per mutation or once per batch

    # ---- queries -------------------------------------------------------------------------
    @property
    def edges(self):
        return list(self._in_edges.values())

    def node(self, node_id):
        try:
            return self.nodes[node_id]
        except KeyError:
            raise UnknownNodeError(f"no node {node_id!r}") from None

    def in_edge(self, node_id, port):
        return self._in_edges.get((node_id, port))

    def in_edges(self, node_id):
        return [e for e in (self._in_edges.get((node_id, p)) for p in self.nodes[node_id].input_ports()) if e]

    def edges_of(self, node_id):
        """Every edge into or out of `node_id` (edges exist only on current ports): O(degree)."""
        return list(dict.fromkeys(self.in_edges(node_id) + list(self._out_edges.get(node_id, ()))))

    def out_edges(self, node_id):
        return list(self._out_edges.get(node_id, ()))

    def predecessors(self, node_id):
        return [e.src for e in self.in_edges(node_id)]

    def successors(self, node_id):
        """The nodes `node_id` feeds, each once, as a tuple: kept until an edge out of it changes
        (an edit's re-flow asks for the successors of every node it visits)."""
        found = self._successors.get(node_id)
        if found is None:
            found = self._successors[node_id] = tuple(
                dict.fromkeys(e.dst for e in self._out_edges.get(node_id, ())))
        return found

    def nodes_of_type(self, type_name):
        return [n for n in self.nodes.values() if n.type == type_name]

    def nodes_of_role(self, role):
        return [n for n in self.nodes.values() if n.spec.role is role]

    def unique_id(self, wanted, counters=None):
        """A free node id based on `wanted` (see `unique_id`)."""
        return unique_id(wanted, self.nodes, counters)

    def creates_cycle(self, src, dst):
        """Would an edge src -> dst close a cycle? (Is src reachable from dst?)"""
        if src == dst:
            return True
        stack, seen = [dst], {dst}
        while stack:
            for nxt in self.successors(stack.pop()):
                if nxt == src:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    def check_connect(self, src, src_port, dst, dst_port, results=None, new_node=None):
        """Raise the DesignError that connecting src.src_port -> dst.dst_port would meet: a missing
        node, a layer feeding itself, a cycle, or, given the analysis `results`, an input the
        destination cannot take. `new_node` stands for a destination about to be added."""
        if src == dst:
            raise CycleError("a layer cannot feed itself")
        if src not in self.nodes or (new_node is None and dst not in self.nodes):
            raise PortError(f"cannot connect {src} to {dst}: no such node")
        if new_node is None and self.creates_cycle(src, dst):
            raise CycleError(f"connecting {src} to {dst} would close a cycle; {CycleError.REASON}")
        source = results.get(src) if results is not None else None
        if source is None or not source.ok or src_port not in source.outputs:
            return
        state = source.outputs[src_port]
        node = new_node or self.nodes[dst]
        inputs = {}
        for port in node.input_ports():
            other = (input_state(self, results, dst, port)
                     if new_node is None and port != dst_port else None)
            # Unconnected or unknown inputs are assumed to fit, so only this edge is judged.
            inputs[port] = other if isinstance(other, PortState) else state
        result = compute_node(node, inputs)
        if result.error:
            raise ShapeError(f"cannot connect {src} to {dst}: {result.error}")

    # ---- notifications -------------------------------------------------------------------
    def _notify(self, change):
        self.version += 1
        if self._batch is not None:
            self._batch.merge(change)
        else:
            self.changed.emit(change)

    @contextmanager
    def batch(self):
        """Group mutations so observers recompute once at the end."""
        if self._batch is not None:
            yield
            return
        self._batch = Change(set())
        try:
            yield
        finally:
            change, self._batch = self._batch, None
            if change.dirty or change.structure:
                self.changed.emit(change)

    # ---- mutations -----------------------------------------------------------------------
    def add_node(self, type_name, node_id=None, params=None, pos=(0.0, 0.0), subgraph=None):
        spec = get_spec(type_name)
        node_id = node_id or self.unique_id(type_name.lower())
        if not NODE_ID.match(node_id):
            raise NodeNameError(f"{node_id!r} is not a valid node name: use letters, digits, '_' "
                                "and '.' between parts, starting with a letter")
        if node_id in self.nodes:
            raise NodeNameError(f"a node named {node_id!r} already exists")
        values = validate_params(spec, params or {})
        node = Node(node_id, type_name, values, (float(pos[0]), float(pos[1])), subgraph)
        self.nodes[node_id] = node
        self.node_added.emit(node)
        self._notify(Change({node_id}, structure=True))
        return node

    def remove_node(self, node_id):
        node = self.node(node_id)
        with self.batch():
            for edge in self.edges_of(node_id):
                self.disconnect(edge)
            del self.nodes[node_id]
            self.node_removed.emit(node)
            self._notify(Change(set(), structure=True))
        return node

    def connect(self, src, src_port, dst, dst_port):
        """Connect an output port to an input port; an input port takes one edge."""
        if src not in self.nodes or dst not in self.nodes:
            raise PortError(f"cannot connect {src} to {dst}: no such node")
        if src_port not in self.nodes[src].output_ports():
            raise PortError(f"{src} has no output port {src_port!r}")
        if dst_port not in self.nodes[dst].input_ports():
            raise PortError(f"{dst} has no input port {dst_port!r}")
        if (dst, dst_port) in self._in_edges:
            raise PortError(f"input {dst}.{dst_port} is already connected")
        edge = Edge(src, src_port, dst, dst_port)
        self._in_edges[(dst, dst_port)] = edge
        self._out_edges.setdefault(src, {})[edge] = None
        self._successors.pop(src, None)
        self.edge_added.emit(edge)
        self._notify(Change({dst}, structure=True))
        return edge

    def disconnect(self, edge):
        if self._in_edges.get((edge.dst, edge.dst_port)) != edge:
            raise PortError(f"no edge {edge}")
        del self._in_edges[(edge.dst, edge.dst_port)]
        del self._out_edges[edge.src][edge]
        self._successors.pop(edge.src, None)
        self.edge_removed.emit(edge)
        self._notify(Change({edge.dst} if edge.dst in self.nodes else set(), structure=True))

    def set_params(self, node_id, **values):
        """Validate and apply parameter values. Edges to ports that no longer exist are removed
        (and returned, so an undo can restore them)."""
        node = self.node(node_id)
        return self._apply_params(node, validate_params(node.spec, values, node.params))

    def restore_params(self, node_id, params):
        """Put back a node's exact earlier `ParamValues` (undo, paste): they were valid when
        recorded, or came from a file as they are, so they are not range-checked again."""
        return self._apply_params(self.node(node_id), params)

    def _apply_params(self, node, new):
        node_id = node.id
        if new == node.params:
            return []
        with self.batch():
            before = self.edges_of(node_id)  # read while the old ports still list them
            node.params = new
            inputs, outputs = set(node.input_ports()), set(node.output_ports())
            dropped = [e for e in before
                       if (e.dst == node_id and e.dst_port not in inputs)
                       or (e.src == node_id and e.src_port not in outputs)]
            for edge in dropped:
                self.disconnect(edge)
            self.node_changed.emit(node, "params")
            self._notify(Change({node_id}))
        return dropped

    def move(self, node_id, pos):
        node = self.node(node_id)
        node.pos = (float(pos[0]), float(pos[1]))
        self.version += 1
        self.node_changed.emit(node, "pos")

    def rename(self, node_id, new_id):
        if new_id == node_id:
            return
        if not NODE_ID.match(new_id):
            raise NodeNameError(f"{new_id!r} is not a valid node name")
        if new_id in self.nodes:
            raise NodeNameError(f"a node named {new_id!r} already exists")
        node = self.node(node_id)
        with self.batch():
            edges = self.edges_of(node_id)
            for edge in edges:
                self.disconnect(edge)
            self.nodes = {(new_id if k == node_id else k): v for k, v in self.nodes.items()}
            if node_id in self.search:      # the search space follows the node
                self.search[new_id] = self.search.pop(node_id)
            node.id = new_id
            self.node_changed.emit(node, "id")
            for e in edges:
                self.connect(new_id if e.src == node_id else e.src, e.src_port,
                             new_id if e.dst == node_id else e.dst, e.dst_port)
            self._notify(Change({new_id}, structure=True))

    def set_training(self, node_id, frozen=None, lr_factor=None):
        """Set how training treats a node's tensors: `frozen` (no gradient, batch norms kept in
        eval mode) and `lr_factor` (its learning rate is the run's times this, above 0)."""
        node = self.node(node_id)
        if lr_factor is not None:
            lr_factor = check_lr_factor(lr_factor, node_id)
        new = (node.frozen if frozen is None else bool(frozen),
               node.lr_factor if lr_factor is None else lr_factor)
        if new == (node.frozen, node.lr_factor):
            return
        node.frozen, node.lr_factor = new
        self.version += 1
        self.node_changed.emit(node, "training")
        self._notify(Change({node_id}))

    def training_marks(self):
        """{module path: (frozen, lr_factor)} of every node not trained as usual, the layers
        inside a Group included (they are its module's children: `group.conv1`)."""
        marks = {}
        for nid, node in self.nodes.items():
            if node.frozen or node.lr_factor != 1.0:
                marks[nid] = (node.frozen, node.lr_factor)
            if node.subgraph is not None:
                marks.update({f"{nid}.{path}": mark
                              for path, mark in node.subgraph.training_marks().items()})
        return marks

    def frozen_nodes(self):
        return [path for path, (frozen, _) in self.training_marks().items() if frozen]

    def set_searchable(self, node_id, param, searchable):
        """Mark `node_id`'s `param` as searched over `searchable` (a core.space.Searchable,
        checked by the caller), or unmark it with None."""
        self.node(node_id)
        params = self.search.setdefault(node_id, {})
        if searchable is None:
            params.pop(param, None)
            if not params:
                del self.search[node_id]
        else:
            params[param] = searchable
        self.version += 1
        self.metadata_changed.emit()

    def set_metadata(self, name=None, description=None):
        if name is not None:
            self.name = name
        if description is not None:
            self.description = description
        self.version += 1
        self.metadata_changed.emit()

    def set_order(self, node_ids, edges):
        """Reorder nodes and edges to the given sequences (same members). Order carries no meaning
        but is what a saved file lists, so undo restores it and files stay byte-identical."""
        self.nodes = {nid: self.nodes[nid] for nid in node_ids}
        self._in_edges = {(e.dst, e.dst_port): e for e in edges}
        self._out_edges = {}
        self._successors = {}
        for e in edges:
            self._out_edges.setdefault(e.src, {})[e] = None

    # ---- whole-graph helpers ---------------------------------------------------------------
    def copy(self):
        """A deep copy with no observers."""
        other = Graph(self.name, self.description)
        for n in self.nodes.values():
            sub = n.subgraph.copy() if n.subgraph is not None else None
            copied = other.nodes[n.id] = Node(n.id, n.type, ParamValues(n.params), n.pos, sub)
            copied.frozen, copied.lr_factor = n.frozen, n.lr_factor
        for e in self._in_edges.values():
            other._in_edges[(e.dst, e.dst_port)] = e
            other._out_edges.setdefault(e.src, {})[e] = None
        other.search = {nid: dict(params) for nid, params in self.search.items()}
        return other

    def topological_order(self):
        """Kahn's order of the nodes that are not on or behind a cycle, then the rest."""
        indegree = {nid: 0 for nid in self.nodes}
        for e in self._in_edges.values():
            indegree[e.dst] += 1
        ready = [nid for nid, d in indegree.items() if d == 0]
        order = []
        while ready:
            nid = ready.pop()
            order.append(nid)
            for e in self._out_edges.get(nid, ()):
                indegree[e.dst] -= 1
                if indegree[e.dst] == 0:
                    ready.append(e.dst)
        # Keep the result stable and readable: a DFS-free Kahn with a stack is deterministic.
        placed = set(order)
        rest = [nid for nid in self.nodes if nid not in placed]
        return order, rest

    def cycle_nodes(self):
        """Nodes that lie on a cycle (Tarjan's strongly connected components, iterative)."""
        index, low, on_stack, stack, result = {}, {}, set(), [], set()
        counter = 0
        for root in self.nodes:
            if root in index:
                continue
            work = [(root, iter(self.successors(root)))]
            index[root] = low[root] = counter
            counter += 1
            stack.append(root)
            on_stack.add(root)
            while work:
                nid, children = work[-1]
                advanced = False
                for child in children:
                    if child not in index:
                        index[child] = low[child] = counter
                        counter += 1
                        stack.append(child)
                        on_stack.add(child)
                        work.append((child, iter(self.successors(child))))
                        advanced = True
                        break
                    if child in on_stack:
                        low[nid] = min(low[nid], index[child])
                if advanced:
                    continue
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[nid])
                if low[nid] == index[nid]:
                    component = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        component.append(top)
                        if top == nid:
                            break
                    if len(component) > 1 or nid in self.successors(nid):
                        result.update(component)
        return result
