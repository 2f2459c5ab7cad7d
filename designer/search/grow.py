"""Function-preserving edits of a trained design (Net2Net, Chen et al. 2016; the network
transformations of EAS, Cai et al. 2018): the grown network computes the same outputs as the
trained one, so training goes on from where it was instead of from scratch.

- `widen(graph, state, node, width)`: a Conv2d, PointwiseConv2d or Linear gets more filters
  (Net2WiderNet). The new units copy random existing ones; the layers between it and the next
  Conv2d/Linear that act per channel (batch norm, activations, pooling, dropout) copy theirs too,
  a Flatten on the way spreads each channel over its H×W features, and the next layer's weights
  from each copied unit are split between the copies (by 1/n, with optional noise that keeps the
  sum, so the copies can learn apart).
- `deepen(graph, state, node)`: after a layer, an identity-initialised Conv2d 3×3 (a centred 1
  per channel) and a BatchNorm that passes its input through (mean 0, variance 1 − eps, scale 1,
  shift 0), then a ReLU when the layer's output is never negative so the ReLU is identity too
  (Net2DeeperNet); after a vector, a Linear holding the identity matrix. After a residual block
  whose output has its input's shape, one more block of its kind (stride 1) whose residual
  branch ends in zeros (its last batch norm's scale and shift, or its last layer's weights), so
  it adds nothing to its shortcut: the stage grows by one block.

Each returns a `Growth`: the graph edit as one undoable core command (not yet done, for the
editor's undo stack or `command.redo()`; `plan(graph)` makes it again for another copy of the
same design, as the editor does after growing a copy in a worker), the grown design's
state_dict, and what was done. The
grown network is checked against the trained one on random inputs before anything is returned;
an edit that would change the outputs is refused with its sentence. Only top-level nodes are
edited (a layer inside a block is the block's: open it as a Group first).
"""

from dataclasses import dataclass

from designer.core.commands import AddNode, Compound, Connect, Disconnect, MoveNodes, SetParams
from designer.core.errors import DesignError
from designer.core.graph import Graph, Node, unique_id, validate_params
from designer.core.infer import analyze, input_states
from designer.core.layout import make_room
from designer.core.registry import Role, get_spec


class GrowError(DesignError):
    """A function-preserving edit that cannot be made; the sentence says why."""


# The width parameter of each layer that can be widened, and read by the next layer.
WIDENABLE = {"Conv2d": "out_channels", "PointwiseConv2d": "out_channels", "Linear": "out_features"}
# Layers that act on each channel (or feature) alone, holding at most one value per channel:
# widening the layer before them copies their channels with the layer's.
PER_CHANNEL = {"ReLU", "ReLU6", "GELU", "SiLU", "Sigmoid", "Tanh", "Hardswish", "Hardsigmoid",
               "LeakyReLU", "ELU", "PReLU", "BatchNorm", "MaxPool2d", "AvgPool2d",
               "GlobalAvgPool2d", "GlobalMaxPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
               "Dropout", "Identity", "DropPath", "Scale"}
# Layers whose output is never negative, and those that keep that (a max of non-negatives...).
NONNEGATIVE = {"ReLU", "ReLU6", "Sigmoid", "Hardsigmoid"}
KEEPS_SIGN = {"MaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "GlobalMaxPool2d", "AdaptiveAvgPool2d",
              "AdaptiveMaxPool2d", "Dropout", "Identity", "Flatten", "DropPath"}
# Between a residual branch's last weights and its Add: nodes that pass zeros on as zeros.
PASSES_ZERO = {"DropPath", "Identity", "Scale", "Dropout"}
# Layers whose weights (and bias) set to zero give zeros: a residual branch may end in one.
ZEROABLE = {"BatchNorm", "Conv2d", "PointwiseConv2d", "DepthwiseConv2d", "Linear", "LayerScale"}
# Checked on random inputs: the grown network's outputs may differ by this much (relative to
# the largest output), float32 rounding of split weights being the only difference.
TOLERANCE = 1e-5
STEP = 110.0      # canvas distance between a node and one inserted below it


@dataclass
class Growth:
    command: Compound        # the edit of the graph it was planned on, not yet done
    state: dict              # the grown design's state_dict
    text: str                # what was done, for a status line
    max_difference: float    # largest output difference measured on random inputs
    plan: object             # plan(graph) -> the same edit planned on another copy of the design


# ---- the graph edits -----------------------------------------------------------------------

def _top_node(graph, node_id):
    if node_id not in graph.nodes:
        inside = [n.id for n in graph.nodes.values()
                  if n.is_block and node_id.startswith(n.id + ".")]
        where = (f"; it lies inside the block {inside[0]} (open it as a Group to edit its layers)"
                 if inside else "")
        raise GrowError(f"no node {node_id!r} in the design{where}")
    return graph.nodes[node_id]


def _chain_command(graph, node_id, layers, text):
    """One compound that inserts `layers` ((type, id, params) ...) between `node_id` and every
    node it feeds, placed below it (the nodes in the way move down)."""
    node = graph.nodes[node_id]
    x, y = node.pos
    placed = {nid: (x, y + STEP * (i + 1)) for i, (_, nid, _) in enumerate(layers)}
    moves = make_room({n.id: n.pos for n in graph.nodes.values()}, placed, fixed=True)
    command = Compound(graph, text)
    out_edges = graph.out_edges(node_id)
    for edge in out_edges:
        command.add(Disconnect(graph, edge))
    in_ports = {}
    for type_name, nid, params in layers:
        values = validate_params(get_spec(type_name), params)
        in_ports[nid] = Node(nid, type_name, values).input_ports()[0]
        command.add(AddNode(graph, type_name, nid, values, placed[nid]))
    moved = {nid: pos for nid, pos in moves.items() if nid in graph.nodes}
    if moved:
        command.add(MoveNodes(graph, moved))
    previous, port = node_id, out_edges[0].src_port if out_edges else node.output_ports()[0]
    for _, nid, _ in layers:
        command.add(Connect(graph, previous, port, nid, in_ports[nid]))
        previous, port = nid, "out"
    for edge in out_edges:
        command.add(Connect(graph, previous, port, edge.dst, edge.dst_port))
    return command


def _nonnegative(graph, results, node_id):
    """Is `node_id`'s output never negative (a ReLU, or pooling after one, or a block ending so)?"""
    node = graph.nodes[node_id]
    if node.type in NONNEGATIVE:
        return True
    preds = graph.predecessors(node_id)
    if node.type in KEEPS_SIGN:
        return bool(preds) and _nonnegative(graph, results, preds[0])
    if node.is_block and results is not None and results[node_id].ok:
        states = input_states(graph, results, node_id)
        inner = node.block_graph([s.shape for s in states.values()])
        inner_results = analyze(inner, dict(zip(node.input_ports(), states.values())))
        outs = [n for n in inner.nodes_of_role(Role.OUTPUT)]
        if len(outs) == 1 and inner.predecessors(outs[0].id):
            return _nonnegative(inner, inner_results, inner.predecessors(outs[0].id)[0])
    return False


# ---- widen ---------------------------------------------------------------------------------

def widen(graph, state, node_id, width, noise=0.0, seed=0):
    """Give the Conv2d/PointwiseConv2d/Linear `node_id` `width` filters, keeping the function
    (see the module docstring); `noise` (a fraction of 1/n) splits a copied unit's outgoing
    weights unequally, still summing to the original."""
    import torch
    node = _top_node(graph, node_id)
    if node.type not in WIDENABLE:
        raise GrowError(f"{node_id} is a {node.type}; only a Conv2d, PointwiseConv2d or Linear "
                        "can be widened keeping its function")
    param = WIDENABLE[node.type]
    old = node.params[param]
    if isinstance(width, bool) or not isinstance(width, int) or width <= old:
        raise GrowError(f"{node_id} has {old} {param.replace('_', ' ')}; widening needs more "
                        f"than that, got {width!r}")
    if node.params.get("groups", 1) != 1:
        raise GrowError(f"{node_id} is a grouped convolution ({node.params['groups']} groups); "
                        "only ungrouped layers can be widened keeping the function")
    results = _checked_results(graph)
    generator = torch.Generator().manual_seed(seed)
    copied = torch.randint(old, (width - old,), generator=generator)
    mapping = torch.cat([torch.arange(old), copied])
    counts = torch.bincount(mapping, minlength=old).to(torch.float32)
    factor = 1.0 / counts[mapping]
    if noise:
        factor = factor * (1 + noise * torch.randn(width, generator=generator))
        # Re-scale each unit's copies so their factors sum to 1 again: the function is kept.
        sums = torch.zeros(old).index_add_(0, mapping, factor)
        factor = factor / sums[mapping]
    new = {}
    _need(state, f"{node_id}.weight")
    for key in (f"{node_id}.weight", f"{node_id}.bias"):
        if key in state:
            new[key] = state[key][mapping].clone()
    for succ in graph.successors(node_id):
        _follow_widening(graph, results, state, new, node_id, succ, mapping, factor)

    def edit(target):
        return Compound(target, f"Widen {node_id} to {width}, keep function",
                        [SetParams(target, node_id, **{param: width})])
    return _finish(graph, state, new, edit,
                   f"widened {node_id} from {old} to {width} {param.replace('_', ' ')}", seed)


def _follow_widening(graph, results, state, new, widened, node_id, index, factor):
    node = graph.nodes[node_id]
    arriving = input_states(graph, results, node_id)
    shape = next(iter(arriving.values())).shape
    if node.type in WIDENABLE:
        if node.params.get("groups", 1) != 1:
            raise GrowError(f"widening {widened} needs {node_id}, a grouped convolution, to read "
                            "more channels; only an ungrouped layer can")
        key = _need(state, f"{node_id}.weight")
        weight = state[key]
        scale = factor.view(1, -1, *([1] * (weight.dim() - 2))).to(weight.dtype)
        new[key] = (weight[:, index] * scale).contiguous()
        return
    if node.type in PER_CHANNEL:
        # Its per-channel tensors (a batch norm's scale, shift and statistics; a PReLU's slopes)
        # copy the channels; a PReLU with one slope for all keeps it.
        if node.params.get("per_channel", True):
            for key, tensor in state.items():
                if key.startswith(node_id + ".") and key.count(".") == node_id.count(".") + 1 \
                        and tensor.dim() >= 1 and tensor.shape[0] == shape[0]:
                    new[key] = tensor[index].clone()
    elif node.type == "Flatten" and len(shape) == 3:
        plane = shape[1] * shape[2]
        import torch
        index = (index[:, None] * plane + torch.arange(plane)).flatten()
        factor = factor.repeat_interleave(plane)
    elif node.role is Role.OUTPUT:
        raise GrowError(f"widening {widened} would change the design's outputs: its units "
                        f"reach the Output {node_id} with no Conv2d or Linear in between")
    else:
        raise GrowError(f"widening {widened} would give {node_id} ({node.type}) more channels; "
                        "the function is kept only through per-channel layers (batch norm, "
                        "activations, pooling, dropout) and Flatten up to the next Conv2d or "
                        "Linear, which reads the copies")
    for succ in graph.successors(node_id):
        _follow_widening(graph, results, state, new, widened, succ, index, factor)


# ---- deepen --------------------------------------------------------------------------------

def deepen(graph, state, node_id, seed=0):
    """Insert after `node_id` what computes the identity: a stage's next block after a residual
    block, else Conv2d 3×3 + BatchNorm (+ ReLU) on an image or Linear (+ ReLU) on a vector."""
    node = _top_node(graph, node_id)
    results = _checked_results(graph)
    if node.role is Role.OUTPUT:
        raise GrowError(f"{node_id} is an Output; insert layers before it")
    if len(node.output_ports()) != 1:
        raise GrowError(f"{node_id} has {len(node.output_ports())} outputs; insert the layer "
                        "after the one that is meant")
    if node.is_block and node.subgraph is None:
        reason = _block_growth_problem(graph, results, node_id)
        if reason is None:
            try:
                return _grow_stage(graph, state, node_id, results, seed)
            except GrowError as error:      # the new block would not be the identity here
                reason = str(error)
    else:
        reason = None
    shape = results[node_id].output_shape
    relu = _nonnegative(graph, results, node_id)
    base = f"{node_id}_deep".replace(".", "_")
    chosen = []

    def fresh(suffix):
        chosen.append(unique_id(base + suffix, set(graph.nodes) | set(chosen)))
        return chosen[-1]

    import torch
    new = {}
    if len(shape) == 3:
        channels = shape[0]
        conv, bn = fresh(""), fresh("_bn")
        layers = [("Conv2d", conv, dict(out_channels=channels, kernel=(3, 3), stride=(1, 1),
                                        padding="same", bias=False)),
                  ("BatchNorm", bn, {})]
        weight = torch.zeros(channels, channels, 3, 3)
        weight[torch.arange(channels), torch.arange(channels), 1, 1] = 1.0
        new[f"{conv}.weight"] = weight
        eps = 1e-5   # BatchNorm's default eps, which the added node keeps
        new.update({f"{bn}.weight": torch.ones(channels), f"{bn}.bias": torch.zeros(channels),
                    f"{bn}.running_mean": torch.zeros(channels),
                    f"{bn}.running_var": torch.full((channels,), 1.0 - eps),
                    f"{bn}.num_batches_tracked": torch.tensor(0)})
        what = "a Conv2d 3×3 and a BatchNorm"
    elif len(shape) == 1:
        features = shape[0]
        linear = fresh("")
        layers = [("Linear", linear, dict(out_features=features, bias=True))]
        new[f"{linear}.weight"] = torch.eye(features)
        new[f"{linear}.bias"] = torch.zeros(features)
        what = "a Linear"
    else:
        raise GrowError(f"{node_id}'s output has shape {shape}; layers are inserted after an "
                        "image or a vector")
    if relu:
        layers.append(("ReLU", fresh("_relu"), {}))
        what += " and a ReLU (its input is never negative)"
    text = f"inserted {what} after {node_id}, initialised to the identity"
    if reason:
        text += f" ({reason})"

    def edit(target):
        return _chain_command(target, node_id, layers, f"Insert layer after {node_id}, keep "
                                                       "function")
    return _finish(graph, state, new, edit, text, seed)


def _block_growth_problem(graph, results, node_id):
    """Why one more block of `node_id`'s kind cannot start as the identity, or None."""
    node = graph.nodes[node_id]
    if node.type == "Group":
        return "a Group is not repeated"
    params = _stage_params(node)
    shape = results[node_id].output_shape
    if len(shape) != 3:
        return "a block is repeated on images only"
    trial = Graph()
    trial.add_node("Input", "input", {"shape": list(shape)})
    try:
        trial.add_node(node.type, "block", params)
    except DesignError as error:
        return f"{node.type} with stride 1 is not valid: {error}"
    trial.connect("input", "out", "block", node.input_ports()[0])
    found = analyze(trial)["block"]
    if not found.ok or found.output_shape != shape:
        return f"{node.type} with stride 1 does not keep the shape {_shape_text(shape)}"
    return _residual_branch_end(trial, "block")[1]


def _stage_params(node):
    params = dict(node.params)
    if "stride" in params:
        params["stride"] = (1, 1) if isinstance(params["stride"], tuple) else 1
    return params


def _residual_branch_end(graph, node_id):
    """(the layer inside block `node_id` whose output is its residual branch, the Add's input
    that is not the shortcut, None) or (None, a sentence why there is none)."""
    node = graph.nodes[node_id]
    states = input_states(graph, analyze(graph), node_id)
    inner = node.block_graph([s.shape for s in states.values()])
    outs = inner.nodes_of_role(Role.OUTPUT)
    if len(outs) != 1:
        return None, f"{node.type} has {len(outs)} outputs"
    current = inner.predecessors(outs[0].id)[0]
    while inner.nodes[current].type != "Add":
        if inner.nodes[current].type not in NONNEGATIVE | KEEPS_SIGN:
            return None, f"{node.type} has no residual connection at its end"
        current = inner.predecessors(current)[0]
    branches = []
    for pred in inner.predecessors(current):
        if inner.nodes[pred].role is Role.BLOCK_INPUT:
            continue
        while inner.nodes[pred].type in PASSES_ZERO:
            pred = inner.predecessors(pred)[0]
        branches.append(pred)
    if len(branches) != 1 or len(inner.predecessors(current)) != 2:
        return None, f"{node.type}'s shortcut is not the identity"
    end = inner.nodes[branches[0]]
    if end.is_block:
        return None, f"{node.type}'s residual branch ends inside a block"
    if end.type not in ZEROABLE:
        return None, (f"{node.type}'s residual branch ends in a {end.type}, which cannot start "
                      "at zero")
    return end.id, None


def _grow_stage(graph, state, node_id, results, seed):
    node = graph.nodes[node_id]
    params = _stage_params(node)
    new_id = graph.unique_id(node_id)

    def edit(target):
        return _chain_command(target, node_id, [(node.type, new_id, params)],
                              f"Add a {node.type} after {node_id}, keep function")

    def zero_branch(work, new_state):
        end = _residual_branch_end(work, new_id)[0]
        for key in list(new_state):
            if key.startswith(f"{new_id}.{end}.") and key.rsplit(".", 1)[1] in ("weight", "bias"):
                new_state[key] = new_state[key].detach().clone().zero_()
        return end

    return _finish(graph, state, {}, edit,
                   f"added {new_id} ({node.type}) after {node_id}, its residual branch "
                   "starting at zero", seed, adjust=zero_branch)


# ---- shared --------------------------------------------------------------------------------

def _shape_text(shape):
    return "×".join(str(v) for v in shape)


def _need(state, key):
    if key not in state:
        raise GrowError(f"the weights have no {key!r}: they are not this design's")
    return key


def _checked_results(graph):
    results = analyze(graph)
    errors = [(nid, r.error) for nid, r in results.items() if r.error]
    if errors:
        raise GrowError(f"the design has errors ({errors[0][0]}: {errors[0][1]}); fix them first")
    return results


def _finish(graph, state, new, edit, text, seed, adjust=None):
    """Apply `edit` to a copy, build the grown state (fresh tensors only where nothing was
    carried over), check it computes what the trained network does, and plan `edit` on `graph`."""
    import torch
    from designer.core.compile import compile_graph
    work = graph.copy()
    edit(work).redo()
    torch.manual_seed(seed)
    model = compile_graph(work, include_auxiliary=True)
    grown = {}
    for key, fresh in model.state_dict().items():
        if key in new:
            grown[key] = new[key]
        elif key in state and tuple(state[key].shape) == tuple(fresh.shape):
            grown[key] = state[key]
        elif key in state:
            raise GrowError(f"the weights' {key} has shape {tuple(state[key].shape)}, the design "
                            f"expects {tuple(fresh.shape)}: they are not this design's")
        else:
            grown[key] = fresh.detach().clone()
    if adjust is not None:
        adjust(work, grown)
    difference = output_difference(graph, state, work, grown, seed)
    if difference > TOLERANCE:
        raise GrowError(f"this edit would change the network's outputs (by up to "
                        f"{difference:.2g} relative to the largest); not applied")
    return Growth(edit(graph), grown, text, difference, edit)


def output_difference(graph_a, state_a, graph_b, state_b, seed=0, batch=4):
    """The largest difference of the two networks' outputs (eval mode) on the same random
    inputs, relative to the largest output of the first."""
    import torch
    from designer.compress.measure import load_model
    inputs = graph_a.nodes_of_role(Role.INPUT)
    generator = torch.Generator().manual_seed(seed)
    x = [torch.randn(batch, *n.params["shape"], generator=generator) for n in inputs]
    with torch.no_grad():
        a = load_model(graph_a, dict(state_a))(*x)
        b = load_model(graph_b, dict(state_b))(*x)
    a, b = (a if isinstance(a, tuple) else (a,)), (b if isinstance(b, tuple) else (b,))
    scale = max(float(t.abs().max()) for t in a) or 1.0
    return max(float((p - q).abs().max()) for p, q in zip(a, b)) / max(scale, 1.0)
