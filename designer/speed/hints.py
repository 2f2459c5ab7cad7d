"""ShuffleNet V2's four guidelines for fast networks, as hints on the nodes that break them.

Ma et al. (2018) show FLOPs are a poor proxy for speed and give four guidelines:
G1 equal input and output channels minimise memory access cost (MAC) at a given FLOP count;
G2 heavy group convolution raises MAC; G3 fragmented (multi-branch) structures cut parallelism;
G4 element-wise operations are not free. Each hint is a sentence starting with "G1: " ... "G4: ";
hints are advice with the severity "hint" and never block compiling or training. They are computed
from the live shape analysis alone (no torch), so the Issues panel can show them as a design changes.
"""

from dataclasses import dataclass
from math import sqrt

from designer.core.categories import MERGE
from designer.core.infer import analyze
from designer.core.registry import Role

# Thresholds. G1: the paper's 1:6 and 1:12 ratios run clearly slower than 1:1 and 1:2; a layer
# within 10 % of the minimum (weights dominate, as on the 1×1 maps of an SE gate) is left alone.
G1_RATIO = 6
G1_EXCESS = 1.1
# G2: g = 1 or 2 costs little; g = 4 and 8 are the paper's slow cases. Depthwise is exempt.
G2_GROUPS = 4
# G3: a plain residual block has two paths; Inception-like blocks have three or more.
G3_BRANCHES = 3
# G4: "add → ReLU" after a residual block is the minimum; three or more in a row is a chain.
G4_CHAIN = 3
# A G4 sentence names this many of the chain's nodes (a 20k-node chain named all of them in
# 229,049 characters), then counts the rest.
G4_NAMED = 5

ELEMENTWISE = {"ReLU", "ReLU6", "LeakyReLU", "ELU", "PReLU", "GELU", "SiLU", "Sigmoid", "Tanh",
               "Hardswish", "Hardsigmoid", "Add", "Multiply", "Scale"}


@dataclass(frozen=True)
class Problem:
    """A sentence about one node. "error" blocks compiling and training; "hint" is advice (the
    ShuffleNet V2 speed guidelines) that never blocks anything."""
    node_id: str
    text: str
    severity: str = "error"


def design_problems(analyzer):
    """Errors, then hints, each in topological order (the Issues panel's list), for a live
    `Analyzer`. Here, not in the core: the core knows nothing of the speed guidelines."""
    # The core's problems: nodes in error, then the design's own (no Output: node_id None).
    found = [Problem(nid, text) for nid, text in analyzer.problems()]
    hints = design_hints(analyzer.graph, analyzer.results)
    for nid in analyzer.in_order(hints):
        found.extend(Problem(nid, text, "hint") for text in hints[nid])
    return found


def _conv_geometry(node, states, result):
    """(c1, c2, groups, kernel area, input h·w, output h·w) of a convolution layer, else None."""
    if node.type not in ("Conv2d", "PointwiseConv2d") or len(states) != 1:
        return None
    shape_in, shape_out = states[0].shape, result.output_shape
    if len(shape_in) != 3 or shape_out is None:
        return None
    kh, kw = node.params["kernel"] if node.type == "Conv2d" else (1, 1)
    return (shape_in[0], shape_out[0], node.params["groups"], kh * kw,
            shape_in[1] * shape_in[2], shape_out[1] * shape_out[2])


def one_by_one_mac(h_w, c1, c2):
    """ShuffleNet V2's MAC of a 1×1 convolution (elements): hw(c1 + c2) + c1·c2."""
    return h_w * (c1 + c2) + c1 * c2


def _g1(label, geometry):
    c1, c2, groups, area, hw_in, hw_out = geometry
    if area != 1 or groups != 1 or hw_in != hw_out or max(c1, c2) < G1_RATIO * min(c1, c2):
        return None
    flops = hw_in * c1 * c2
    least = 2 * sqrt(hw_in * flops) + flops / hw_in        # the bound, reached at c1 = c2
    excess = one_by_one_mac(hw_in, c1, c2) / least
    if excess < G1_EXCESS:
        return None
    ratio = f"1:{c2 / c1:.3g}" if c2 > c1 else f"{c1 / c2:.3g}:1"
    return (f"G1: {label} is a 1×1 convolution from {c1} to {c2} channels ({ratio}); equal input "
            f"and output widths minimise memory access at the same FLOPs, and this one moves "
            f"{excess:.2f}× that minimum.")


def _g2(label, geometry):
    c1, c2, groups, area, hw_in, hw_out = geometry
    if groups < G2_GROUPS or groups == c1:        # depthwise (groups = c1) is exempt
        return None
    grouped = hw_in * c1 + hw_out * c2 + area * c1 * c2 / groups
    dense = hw_in * c1 + hw_out * c2 / groups + area * c1 * c2 / groups   # same FLOPs, g = 1
    return (f"G2: {label} is a group convolution with g={groups}; heavy grouping raises memory "
            f"access: at the same FLOPs a dense convolution would move {grouped / dense:.2f}× "
            f"less. Fewer groups run faster.")


def _g3(label, branches):
    return (f"G3: {label} splits into {branches} parallel branches; fragmented structures cut "
            f"parallelism and add launch and synchronisation overhead, so fewer, wider paths run "
            f"faster at equal FLOPs.")


def _g4(labels):
    named = " → ".join(labels[:G4_NAMED])
    if len(labels) > G4_NAMED:
        named += f" → … ({len(labels) - G4_NAMED:,} more)"
    return (f"G4: {named} are {len(labels):,} element-wise operations in a row; each "
            f"costs few FLOPs but reads and writes the whole tensor, so fuse or drop the ones that "
            f"do not earn their keep.")


def _states(graph, results, nid):
    states = []
    for port in graph.nodes[nid].input_ports():
        edge = graph.in_edge(nid, port)
        source = results.get(edge.src) if edge else None
        if source is None or edge.src_port not in source.outputs:
            return None
        states.append(source.outputs[edge.src_port])
    return states


def _computes(node):
    """A node that starts a computing path: not one that only joins paths or hands a result out."""
    return node.spec.category is not MERGE and node.role is not Role.OUTPUT


def _fragmentation(graph):
    """(node id, branches) for nodes whose output feeds `G3_BRANCHES` or more computing paths."""
    found = []
    for nid in graph.nodes:
        targets = {e.dst for e in graph.out_edges(nid) if _computes(graph.nodes[e.dst])}
        if len(targets) >= G3_BRANCHES:
            found.append((nid, len(targets)))
    return found


def _elementwise_chains(graph):
    """Chains of `G4_CHAIN` or more element-wise nodes, each feeding only the next. Each node is
    in one chain at most (a chain that runs into another's node ends there), so the walk is
    linear in the graph's size."""
    def next_in_chain(nid):
        successors = {e.dst for e in graph.out_edges(nid)}
        if len(successors) == 1:
            (succ,) = successors
            if graph.nodes[succ].type in ELEMENTWISE:
                return succ
        return None
    continued = {next_in_chain(n) for n in graph.nodes if graph.nodes[n].type in ELEMENTWISE}
    chains, chained = [], set()
    for nid, node in graph.nodes.items():
        if node.type not in ELEMENTWISE or nid in continued:
            continue
        chain = [nid]
        chained.add(nid)
        while (succ := next_in_chain(chain[-1])) is not None and succ not in chained:
            chain.append(succ)
            chained.add(succ)
        if len(chain) >= G4_CHAIN:
            chains.append(chain)
    return chains


def _graph_hints(graph, results, prefix=""):
    """(node id in `graph`, sentence) for every guideline broken in `graph`, blocks included;
    `prefix` names the enclosing block in the sentences."""
    found = []
    for nid, node in graph.nodes.items():
        result = results.get(nid)
        if result is None or not result.ok:
            continue
        states = _states(graph, results, nid)
        if states is None:
            continue
        if node.is_block:
            found.extend((nid, text) for text in _block_hints(node, states, prefix + nid + "/"))
            continue
        geometry = _conv_geometry(node, states, result)
        if geometry is not None:
            for rule in (_g1, _g2):
                text = rule(prefix + nid, geometry)
                if text:
                    found.append((nid, text))
    for nid, branches in _fragmentation(graph):
        block_input = graph.nodes[nid].role is Role.BLOCK_INPUT and prefix
        label = f"{prefix.rstrip('/')}'s input" if block_input else prefix + nid
        found.append((nid, _g3(label, branches)))
    for chain in _elementwise_chains(graph):
        found.append((chain[0], _g4([prefix + n for n in chain])))
    return found


# A preset repeats the same block many times: hints are computed once per (block, input shapes).
_block_cache = {}


_HERE = "\x00"   # stands for the block's path in cached sentences


def _block_hints(node, states, prefix):
    shapes = [s.shape for s in states]
    if node.subgraph is not None:
        key = (id(node.subgraph), node.subgraph.version, tuple(shapes))
    else:
        key = (node.type, node.params.key(), tuple(shapes))
    texts = _block_cache.get(key)
    if texts is None:
        inner = node.block_graph(shapes)
        inner_results = analyze(inner, dict(zip(node.input_ports(), states)))
        texts = [text for _, text in _graph_hints(inner, inner_results, _HERE + "/")]
        if len(_block_cache) > 4096:
            _block_cache.clear()
        _block_cache[key] = texts
    return [text.replace(_HERE, prefix.rstrip("/")) for text in texts]


def design_hints(graph, results=None):
    """Node id -> list of hint sentences ("G1: ..."), for the nodes of `graph` that have any."""
    results = results if results is not None else analyze(graph)
    hints = {}
    for nid, text in _graph_hints(graph, results):
        hints.setdefault(nid, []).append(text)
    return hints
