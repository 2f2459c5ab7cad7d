"""Live inference: output shapes, parameters, multiply-adds, activation memory and receptive field.

Each layer's shape rule costs microseconds; tests check every rule against torch's own meta-device
forward and `FlopCounterMode`, so the fast path cannot drift from the truth. `Analyzer` observes a
graph and recomputes incrementally: an edit recomputes the touched nodes and walks downstream in
topological order only while a node's outputs actually changed. Problems are data: a node's
`NodeResult.error` holds a sentence; nothing here raises to the caller.
"""

import logging
from dataclasses import dataclass, field
import heapq
from math import prod
from typing import NamedTuple

from .errors import CycleError, ParamError, ShapeError
from .events import Signal
from .params import format_shape
from .registry import LastUsed, Role

log = logging.getLogger(__name__)

BYTES_PER_ELEMENT = 4  # activation memory is reported for fp32
BLOCKED = "blocked"    # an input whose source has no usable result (an error upstream)


class PortState(NamedTuple):
    """What flows out of one port: a shape (batch left out) and, for images, the receptive field
    size and jump (stride relative to the input), each as (height, width). A named tuple: an edit
    of a 900-layer design makes, compares and hashes thousands of these."""
    shape: tuple
    rf_size: tuple | None = None
    rf_jump: tuple | None = None


@dataclass(slots=True)
class NodeResult:
    outputs: dict = field(default_factory=dict)   # port -> PortState
    params: int = 0
    macs: int = 0
    memory: int = 0                                # bytes per sample, fp32
    error: str | None = None
    blocked: bool = False                          # not computable: an input has an error

    @property
    def ok(self):
        return self.error is None and not self.blocked

    @property
    def output_shape(self):
        """The shape of the first output port (None when not computable)."""
        for state in self.outputs.values():
            return state.shape
        return None

    @property
    def receptive_field(self):
        for state in self.outputs.values():
            return state.rf_size
        return None

    @property
    def rf_jump(self):
        for state in self.outputs.values():
            return state.rf_jump
        return None

    @property
    def message(self):
        return self.error or ("not computable: an input has an error" if self.blocked else "")

    def same_outputs(self, other):
        return (other is not None and self.outputs == other.outputs and self.error == other.error
                and self.blocked == other.blocked)


def _error(text):
    return NodeResult(error=text)


def _range_errors(node):
    for param in node.spec.params:
        problem = param.range_error(node.params[param.name])
        if problem:
            return problem
    return None


def _combine_rf(states):
    if len(states) == 1:
        return states[0].rf_size, states[0].rf_jump
    spatial = [s for s in states if s.rf_size is not None]
    if not spatial:
        return None, None
    size = (max(s.rf_size[0] for s in spatial), max(s.rf_size[1] for s in spatial))
    # A 1×1 gate broadcast over a feature map (squeeze-and-excitation) has the whole input in
    # view but does not set the output's grid: take the jump from the full-size inputs.
    grid = [s for s in spatial if s.shape[1:] != (1, 1)] or spatial
    return size, (max(s.rf_jump[0] for s in grid), max(s.rf_jump[1] for s in grid))


def input_state(graph, results, node_id, port):
    """What reaches input `port` of a node: the source port's PortState; None when nothing is
    connected; BLOCKED when the source has no usable result. The one place this is worked out."""
    edge = graph.in_edge(node_id, port)
    if edge is None:
        return None
    source = results.get(edge.src)
    if source is None or not source.ok or edge.src_port not in source.outputs:
        return BLOCKED
    return source.outputs[edge.src_port]


def input_states(graph, results, node_id):
    """{input port: `input_state`} for every input port of a node, in port order."""
    return {port: input_state(graph, results, node_id, port)
            for port in graph.nodes[node_id].port_names()[0]}


_INPUT, _OUTPUT = Role.INPUT, Role.OUTPUT


def compute_node(node, inputs, is_on_cycle=False):
    """The result of one node given its input port states (see `input_states`): a PortState per
    port, None for a missing input and BLOCKED for an input whose source has an error."""
    spec = node.spec
    title = spec.type
    if is_on_cycle:
        return _error(f"{title}: this node is on a cycle; {CycleError.REASON}")
    if not node.params.in_range:
        problem = _range_errors(node)
        if problem:
            return _error(f"{title}: {problem}")
        node.params.in_range = True
    ports, out_ports = node.port_names()
    states = [inputs.get(port) for port in ports]
    if None in states:
        names = ", ".join(repr(p) for p, state in zip(ports, states) if state is None)
        return _error(f"{title}: input {names} is not connected")
    if BLOCKED in states:
        return NodeResult(blocked=True)
    role = spec.role
    try:
        if role is _INPUT:
            shape = node.params["shape"]
            spatial = len(shape) == 3
            state = PortState(shape, (1, 1) if spatial else None, (1, 1) if spatial else None)
            return NodeResult({"out": state}, memory=prod(shape) * BYTES_PER_ELEMENT)
        if role is _OUTPUT:
            return NodeResult({"out": states[0]})
        if spec.is_block:
            return _compute_block(node, dict(zip(ports, states)))
        info = spec.rule(node.params, [s.shape for s in states])
    except (ShapeError, ParamError) as problem:
        return _error(f"{title}: {problem}")
    except Exception as problem:  # a rule's own bug must not take the editor down
        log.warning("%s: shape rule failed", title, exc_info=True)
        return _error(f"{title}: could not infer the shape ({type(problem).__name__}: {problem})")
    for shape in info.outputs:
        if min(shape) < 1:
            return _error(f"{title}: the output would be {format_shape(shape)}")
    in_size, in_jump = _combine_rf(states)
    outputs = {}
    for port, shape in zip(out_ports, info.outputs):
        if len(shape) == 3 and in_size is not None:
            (kh, kw), (sh, sw) = info.kernel, info.stride
            size = (in_size[0] + (kh - 1) * in_jump[0], in_size[1] + (kw - 1) * in_jump[1])
            outputs[port] = PortState(shape, size, (in_jump[0] * sh, in_jump[1] * sw))
        else:
            outputs[port] = PortState(shape)
    shapes = info.outputs
    memory = (prod(shapes[0]) if len(shapes) == 1 else sum(map(prod, shapes))) * BYTES_PER_ELEMENT
    return NodeResult(outputs, info.params, info.macs, memory)


# Expanded blocks are analysed once per (sub-graph, input states); presets reuse blocks heavily,
# and an edit upstream of many blocks asks for each again (kept least-recently-used first out).
_block_cache = LastUsed(16384)


def _compute_block(node, port_states):
    graph = node.block_graph([state.shape for state in port_states.values()])
    key = (id(graph), graph.version, tuple(sorted(port_states.items())))
    hit = _block_cache.get(key)
    if hit is not None and hit[0] is graph:
        return hit[1]
    results = analyze(graph, port_states)
    inner_errors = [(nid, r.error) for nid, r in results.items() if r.error]
    if inner_errors:
        nid, text = inner_errors[0]
        result = _error(f"{node.spec.type}: inside, {nid}: {text}")
    else:
        outputs = {}
        for inner in graph.nodes_of_role(Role.OUTPUT):
            outputs[inner.params["name"]] = results[inner.id].outputs["out"]
        result = NodeResult(outputs, *live_sums(graph, results))  # what the compiled block keeps
    _block_cache.put(key, (graph, result))
    return result


_NOT_ACTIVATIONS = (Role.OUTPUT, Role.BLOCK_INPUT)


def live_ports(graph, outputs=None):
    """What a compiled model keeps: node id -> the set of its output ports whose values reach the
    Output nodes `outputs` (ids; every Output when None). Those Outputs map to an empty set; a
    node missing from the result reaches no output. Inside a Group only the input ports that feed
    a used output count, so a layer feeding only a group's dead branch is not kept either."""
    order, rest = graph.topological_order()
    targets = outputs if outputs is not None else [n.id for n in graph.nodes_of_role(Role.OUTPUT)]
    used = {nid: set() for nid in targets}
    for nid in reversed(order + rest):       # consumers before their sources
        if nid not in used:
            continue
        for port in _needed_inputs(graph.nodes[nid], used[nid]):
            edge = graph.in_edge(nid, port)
            if edge is not None:
                used.setdefault(edge.src, set()).add(edge.src_port)
    return used


def _needed_inputs(node, ports):
    if node.subgraph is None:
        return node.input_ports()   # layers, and catalogue blocks, use every input they have
    inner = node.subgraph
    wanted = [n.id for n in inner.nodes_of_role(Role.OUTPUT) if n.params["name"] in ports]
    inner_used = live_ports(inner, wanted)
    return [n.params["name"] for n in inner.nodes_of_role(Role.BLOCK_INPUT) if n.id in inner_used]


def live_sums(graph, results, outputs=None, live=None):
    """(params, MACs, activation bytes) of what `live_ports` keeps (`live`, when the caller has
    it already). A block whose output ports are only partly used counts only the inside feeding
    those ports, as the compiled model prunes the rest."""
    params = macs = memory = 0
    for nid, ports in (live if live is not None else live_ports(graph, outputs)).items():
        node, result = graph.nodes[nid], results[nid]
        if node.is_block and result.ok and set(node.output_ports()) - ports:
            inputs = input_states(graph, results, nid)
            inner = node.block_graph([state.shape for state in inputs.values()])
            wanted = [n.id for n in inner.nodes_of_role(Role.OUTPUT) if n.params["name"] in ports]
            sums = live_sums(inner, analyze(inner, inputs), wanted)
        else:
            sums = (result.params, result.macs,
                    0 if node.role in _NOT_ACTIVATIONS else result.memory)
        params, macs, memory = params + sums[0], macs + sums[1], memory + sums[2]
    return params, macs, memory


def graph_problems(graph):
    """Sentences about the design as a whole (not one node) that stop export and training."""
    problems = []
    if not graph.nodes:
        return problems          # an empty canvas is a start, not a problem
    if not graph.nodes_of_role(Role.INPUT):
        problems.append("the design has no Input node: add one to say what the network takes")
    if not graph.nodes_of_role(Role.OUTPUT):
        problems.append("the design has no Output node: connect the last layer to an Output "
                        "so the network returns something")
    return problems


def analyze(graph, block_inputs=None):
    """A full pass over `graph`. `block_inputs` maps BlockInput names to PortStates (for the inside
    of a block); returns node id -> NodeResult."""
    block_inputs = block_inputs or {}
    order, rest = graph.topological_order()
    on_cycle = graph.cycle_nodes() if rest else set()
    results = {}
    for nid in order + rest:
        node = graph.nodes[nid]
        if node.role is Role.BLOCK_INPUT:
            state = block_inputs.get(node.params["name"])
            results[nid] = (NodeResult({"out": state}) if state is not None else
                            _error(f"BlockInput: no input named {node.params['name']!r} reaches this block"))
            continue
        results[nid] = compute_node(node, input_states(graph, results, nid), nid in on_cycle)
    return results


@dataclass(frozen=True)
class Totals:
    """Sums over the layers that reach an Output (the compiled model); `unused` counts the layers
    that reach none, left out of the sums as they are left out of the model. `macs` are what eval
    mode runs: the layers that reach a main Output. Auxiliary heads (GoogLeNet's, Inception v3's)
    run only in training; their own multiply-adds are `train_only_macs`. Parameters count them
    (the model holds and trains them)."""
    params: int
    macs: int
    memory: int
    errors: int
    unused: int = 0
    train_only_macs: int = 0


class Analyzer:
    """Keeps `results` current for a graph as it changes; emits `updated(changed_node_ids)`."""

    def __init__(self, graph):
        self.graph = graph
        self.results = {}
        self.updated = Signal()
        self._index = {}
        self._on_cycle = set()
        self._live = {}            # live_ports(graph): only wiring changes it (a group's inside
                                   # is read-only once grouped)
        self.unused = set()        # nodes that reach no Output (none flagged while there is none)
        self._totals = None        # computed when first asked after a change
        self._rebuild_order()
        # Everything is new: one pass in topological order (no heap of dirty nodes needed).
        for nid in self._index:
            node = graph.nodes[nid]
            self.results[nid] = compute_node(node, input_states(graph, self.results, nid),
                                             nid in self._on_cycle)
        graph.changed.connect(self._on_changed)

    def detach(self):
        self.graph.changed.disconnect(self._on_changed)

    def result(self, node_id):
        return self.results[node_id]

    @property
    def totals(self):
        """The design's `Totals`, kept until the next change (the window, the summary and the
        status bar all ask after each edit)."""
        if self._totals is None:
            self._totals = self._sum_totals()
        return self._totals

    def _sum_totals(self):
        errors = sum(1 for r in self.results.values() if r.error)
        if not self.graph.nodes_of_role(Role.OUTPUT):   # nothing to reach yet: count everything
            results = self.results.items()
            return Totals(sum(r.params for _, r in results), sum(r.macs for _, r in results),
                          sum(r.memory for nid, r in results
                              if self.graph.nodes[nid].role not in _NOT_ACTIVATIONS), errors)
        params, macs, memory = live_sums(self.graph, self.results, live=self._live)
        outputs = self.graph.nodes_of_role(Role.OUTPUT)
        main = [n.id for n in outputs if n.params.get("role") != "auxiliary"]
        eval_macs = macs
        if main and len(main) < len(outputs):   # auxiliary heads: eval mode never runs them
            eval_macs = live_sums(self.graph, self.results, outputs=main)[1]
        return Totals(params, eval_macs, memory, errors, len(self.unused), macs - eval_macs)

    def problems(self):
        """(node id, sentence) for every node in error, then (None, sentence) for each problem
        of the whole design (no Input, no Output)."""
        return self.errors() + [(None, text) for text in graph_problems(self.graph)]

    def in_order(self, node_ids):
        """`node_ids` sorted in the network's topological order."""
        return sorted(node_ids, key=self._index.get)

    def errors(self):
        """(node id, sentence) for every node with an error of its own, in topological order."""
        return [(nid, self.results[nid].error) for nid in self.in_order(self.results)
                if self.results[nid].error]

    def _rebuild_order(self):
        order, rest = self.graph.topological_order()
        self._index = {nid: i for i, nid in enumerate(order + rest)}
        self._find_live()
        old_cycle = self._on_cycle
        self._on_cycle = self.graph.cycle_nodes() if rest else set()
        return old_cycle ^ self._on_cycle

    def _find_live(self):
        self._live = live = live_ports(self.graph)
        self.unused = set(self.graph.nodes) - set(live) if live else set()

    def _on_changed(self, change):
        self._totals = None
        dirty = set(change.dirty)
        if change.structure:
            dirty |= self._rebuild_order()
            for nid in [n for n in self.results if n not in self.graph.nodes]:
                del self.results[nid]
        self._propagate(dirty)

    def _propagate(self, dirty):
        # The hot loop of every edit (a new input size walks all 900 nodes of a large design):
        # names bound locally, and each result compared once.
        graph, results, index, on_cycle = self.graph, self.results, self._index, self._on_cycle
        nodes = graph.nodes
        pop, push = heapq.heappop, heapq.heappush
        heap = [(index[nid], nid) for nid in dirty if nid in nodes]
        heapq.heapify(heap)
        queued = {nid for _, nid in heap}
        changed = set()
        while heap:
            _, nid = pop(heap)
            queued.discard(nid)
            new = compute_node(nodes[nid], input_states(graph, results, nid), nid in on_cycle)
            old = results.get(nid)
            results[nid] = new
            if new.same_outputs(old):     # downstream sees nothing new: stop here
                if new != old:            # its own figures changed (parameters, say)
                    changed.add(nid)
                continue
            changed.add(nid)
            for succ in graph.successors(nid):
                if succ not in queued:
                    queued.add(succ)
                    push(heap, (index[succ], succ))
        if changed:
            self.updated.emit(changed)
