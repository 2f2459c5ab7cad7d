"""Pruning. Structured filter/channel pruning rewrites the design: fewer `out_channels`, and every
layer that reads those channels (BatchNorm, the next convolution or fully connected layer, a
depthwise convolution, residual `Add`s, `Concat`s, SE gates) follows. Unstructured magnitude
pruning (`torch.nn.utils.prune`) zeroes single weights and keeps the design.

How channels are tracked: the compiled `torch.fx` graph is walked once. Every convolution or
fully connected layer *produces* a new channel space; channel-wise layers (BatchNorm, activations,
pooling, depthwise convolutions) pass their input's layout through; `Concat` joins layouts end to
end; `Add` and `Multiply` tie the spaces they combine into one group that must keep the same
channels (union-find). Layers that mix channels in ways a kept-index list cannot follow (grouped
convolutions, channel shuffle, split, slice, gather) and the network's outputs *pin* the spaces
they touch, which are then left whole and listed with the reason.

Importance: the L1 norm of each filter (Li et al. 2017) or the |scale| of the BatchNorm that
follows (network slimming, Liu et al. 2017), summed over the tied layers of a group; channels are
removed per layer (`amount` of each group) or globally (the lowest `amount` of all channels).
"""

from dataclasses import dataclass, field
import math
import operator

import torch
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp

from designer.core import modules as core_modules
from designer.core.compile import compile_graph
from designer.weights import load_into
from .measure import CompressError, input_shape
from .rewrite import block_of, locate

METHODS = ("l1", "bn", "magnitude")

# Layers that keep each channel separate, so a channel index passes through them unchanged.
_CHANNELWISE = (nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish,
                nn.Hardsigmoid, nn.LeakyReLU, nn.ELU, nn.Softmax, nn.Identity, nn.Dropout,
                nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
                nn.LocalResponseNorm, core_modules.DropPath, core_modules.Scale,
                core_modules.GlobalPool, core_modules.BlurPool2d)


@dataclass
class Space:
    """The channels one layer produces (or one input provides)."""
    size: int
    producers: list = field(default_factory=list)   # (module path, kind)
    pinned: list = field(default_factory=list)      # sentences saying why it must stay whole


@dataclass
class ChannelPlan:
    """The channel analysis of a compiled model: spaces, tied groups and the slicing to do."""
    spaces: list
    parent: list
    edits: list                 # (module path, kind, layout, factor)
    bn_scales: dict             # space index -> [(bn path, offset)]

    def root(self, index):
        while self.parent[index] != index:
            self.parent[index] = self.parent[self.parent[index]]
            index = self.parent[index]
        return index

    def union(self, a, b):
        ra, rb = self.root(a), self.root(b)
        if ra != rb:
            self.parent[rb] = ra

    def groups(self):
        """root -> list of space indices, for spaces with a producer."""
        found = {}
        for index, space in enumerate(self.spaces):
            found.setdefault(self.root(index), []).append(index)
        return found

    def group_pins(self, members):
        return [reason for m in members for reason in self.spaces[m].pinned] + (
            ["it is an input of the network"] if any(not self.spaces[m].producers
                                                     for m in members) else [])


def _new_space(plan, size, pinned=None):
    plan.spaces.append(Space(size, pinned=[pinned] if pinned else []))
    plan.parent.append(len(plan.parent))
    return len(plan.spaces) - 1


def _pin(plan, layout, reason):
    for space, _ in layout:
        plan.spaces[space].pinned.append(reason)


def _same_split(layouts):
    sizes = [[size for _, size in layout] for layout in layouts]
    return all(s == sizes[0] for s in sizes)


def analyse(model, shape, describe):
    """The `ChannelPlan` of a compiled `model` for inputs of `shape` (C, H, W). `describe(path)`
    names a module for refusal sentences (its block, if any)."""
    ShapeProp(model.eval()).propagate(torch.zeros(1, *shape))
    plan = ChannelPlan([], [], [], {})
    layouts, factors = {}, {}

    def channels(node):
        meta = node.meta.get("tensor_meta")
        return meta.shape[1] if meta is not None and hasattr(meta, "shape") else 0

    for node in model.graph.nodes:
        if node.op == "placeholder":
            layouts[node] = [(_new_space(plan, channels(node), "it is the network's input"),
                              channels(node))]
            factors[node] = 1
            continue
        if node.op == "output":
            values = node.args[0] if isinstance(node.args[0], (tuple, list)) else [node.args[0]]
            for value in values:
                _pin(plan, layouts[value], "it feeds an output of the network")
            continue
        if node.op == "call_function" and node.target is operator.getitem:
            layouts[node] = [(_new_space(plan, channels(node), "it comes out of a split"),
                              channels(node))]
            factors[node] = 1
            continue
        if node.op != "call_module":
            raise CompressError(f"cannot follow channels through {node.format_node()}")
        path = node.target
        module = model.get_submodule(path)
        arg = node.args[0]
        inputs = list(arg) if isinstance(arg, (list, tuple)) else [arg]
        layout_in = layouts[inputs[0]]
        factor_in = factors[inputs[0]]
        factors[node] = 1
        where = describe(path)
        out = channels(node)

        if isinstance(module, core_modules.SeparableConv2d):
            plan.edits.append((path, "separable_in", layout_in, 1))
            space = _new_space(plan, out)
            plan.spaces[space].producers.append((path, "separable"))
            layouts[node] = [(space, out)]
        elif isinstance(module, nn.Conv2d):
            if module.groups == 1:
                plan.edits.append((path, "conv_in", layout_in, 1))
                space = _new_space(plan, out)
                plan.spaces[space].producers.append((path, "conv"))
                layouts[node] = [(space, out)]
            elif module.groups == module.in_channels == module.out_channels:
                plan.edits.append((path, "channelwise", layout_in, 1))
                layouts[node] = layout_in
            else:
                reason = f"the grouped convolution {where} mixes channels within fixed groups"
                _pin(plan, layout_in, reason)
                layouts[node] = [(_new_space(plan, out, reason), out)]
        elif isinstance(module, nn.Linear):
            plan.edits.append((path, "linear_in", layout_in, factor_in))
            space = _new_space(plan, out)
            plan.spaces[space].producers.append((path, "linear"))
            layouts[node] = [(space, out)]
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            plan.edits.append((path, "channelwise", layout_in, 1))
            offset = 0
            for space, size in layout_in:
                plan.bn_scales.setdefault(space, []).append((path, offset))
                offset += size
            layouts[node] = layout_in
            factors[node] = factor_in
        elif isinstance(module, nn.PReLU):
            if module.num_parameters > 1:
                plan.edits.append((path, "channelwise", layout_in, 1))
            layouts[node] = layout_in
            factors[node] = factor_in
        elif isinstance(module, _CHANNELWISE):
            layouts[node] = layout_in
            factors[node] = factor_in
        elif isinstance(module, nn.Flatten):
            meta = inputs[0].meta["tensor_meta"].shape
            layouts[node] = layout_in
            factors[node] = factor_in * math.prod(meta[2:])
        elif isinstance(module, core_modules.Concat):
            if any(factors[i] != 1 for i in inputs):
                reason = f"the concatenation {where} joins flattened features"
                for i in inputs:
                    _pin(plan, layouts[i], reason)
                layouts[node] = [(_new_space(plan, out, reason), out)]
            else:
                layouts[node] = [seg for i in inputs for seg in layouts[i]]
        elif isinstance(module, (core_modules.Add, core_modules.Multiply)):
            these = [layouts[i] for i in inputs]
            if _same_split(these) and len({factors[i] for i in inputs}) == 1:
                for other in these[1:]:
                    for (a, _), (b, _) in zip(these[0], other):
                        plan.union(a, b)
            else:
                reason = f"{where} combines inputs whose channels come from differently split layers"
                for layout in these:
                    _pin(plan, layout, reason)
            layouts[node] = layout_in
            factors[node] = factor_in
        else:
            kind = type(module).__name__
            reason = f"{where} ({kind}) rearranges channels"
            for i in inputs:
                _pin(plan, layouts[i], reason)
            layouts[node] = [(_new_space(plan, out, reason), out)]
    return plan


def _describe(graph):
    def describe(path):
        block = block_of(graph, path)
        if block:
            return f"{path} in the block {block} ({graph.nodes[block].type})"
        return path
    return describe


def _importance(plan, members, state, method):
    """Per-channel importance of a group of tied spaces (None when the method has no signal)."""
    size = plan.spaces[members[0]].size
    score = torch.zeros(size, dtype=torch.float64)
    found = False
    for m in members:
        if method == "l1":
            for path, kind in plan.spaces[m].producers:
                key = f"{path}.pointwise.weight" if kind == "separable" else f"{path}.weight"
                weight = state[key].double()
                score += weight.abs().flatten(1).mean(1)
                found = True
        else:
            for path, offset in plan.bn_scales.get(m, ()):
                gamma = state.get(f"{path}.weight")
                if gamma is not None:
                    score += gamma[offset:offset + size].double().abs()
                    found = True
    return score if found else None


def _keep_count(size, amount):
    return max(1, min(size, int(math.floor(size * (1 - amount) + 0.5))))


@dataclass
class PruneResult:
    graph: object
    state_dict: dict
    kept: dict = field(default_factory=dict)      # producer path -> (before, after, kept index)
    left_whole: list = field(default_factory=list)  # (producer paths, reason)
    notes: list = field(default_factory=list)


def _check_layer_names(model, plan, names):
    """Every layer named by --layers or --layer-amounts produces prunable channels; a name that
    matches nothing would otherwise be ignored without a word."""
    producers = list(dict.fromkeys(p for members in plan.groups().values() for m in members
                                   for p, _ in plan.spaces[m].producers))
    modules = dict(model.named_modules())
    for name in names:
        if name in producers:
            continue
        shown = ", ".join(producers[:8]) + (" ..." if len(producers) > 8 else "")
        what = ("the design has no layer" if name not in modules
                else "no filters can be pruned in the layer")
        raise CompressError(f"{what} {name!r}; the layers whose filters can be pruned are "
                            f"{shown}")


def plan_pruning(graph, state, method="l1", amount=0.5, global_=False, layers=None,
                 layer_amounts=None):
    """Which channels each prunable group keeps: {group root: kept indices}, plus the plan.
    `layer_amounts` ({layer: amount}) overrides `amount` for the group holding that layer."""
    layer_amounts = dict(layer_amounts or {})
    for layer, share in layer_amounts.items():
        if not 0 < share < 1:
            raise CompressError(f"the amount for {layer} must be between 0 and 1 (exclusive); "
                                f"got {share:g}")
    if not 0 < amount < 1:
        raise CompressError(f"the amount must be between 0 and 1 (exclusive); got {amount:g}")
    if method not in ("l1", "bn"):
        raise CompressError(f"unknown structured pruning method {method!r}; choose l1 or bn")
    model = compile_graph(graph)
    model.load_state_dict(state)      # full_state() gave every tensor
    plan = analyse(model, input_shape(graph), _describe(graph))
    _check_layer_names(model, plan, list(layers or []) + list(layer_amounts))
    prunable, left_whole, notes, group_amounts = {}, [], [], {}
    for root, members in plan.groups().items():
        producers = [p for m in members for p, _ in plan.spaces[m].producers]
        if not producers:
            continue
        if layers is not None and not set(producers) & set(layers):
            continue
        pins = plan.group_pins(members)
        if pins:
            left_whole.append((producers, pins[0]))
            continue
        score = _importance(plan, members, state, method)
        if score is None:
            notes.append(f"{', '.join(producers)} kept whole: no BatchNorm scale follows it")
            continue
        prunable[root] = score
        group_amounts[root] = next((layer_amounts[p] for p in producers if p in layer_amounts),
                                   amount)
    if not prunable:
        reasons = "; ".join(f"{paths[0]}: {reason}" for paths, reason in left_whole[:3])
        raise CompressError("nothing in the design can be pruned"
                            + (f" ({reasons})" if reasons else ""))
    keep = {}
    if global_:
        scores = {r: s / (s.mean() if method == "l1" and s.mean() > 0 else 1)
                  for r, s in prunable.items()}
        everything = torch.cat(list(scores.values()))
        total = everything.numel()
        remove = int(math.floor(total * amount + 0.5))
        threshold = everything.sort().values[remove - 1] if remove else -math.inf
        for root, s in scores.items():
            chosen = (s > threshold).nonzero().flatten()
            if chosen.numel() == 0:
                chosen = s.argmax().reshape(1)
            keep[root] = chosen
    else:
        for root, s in prunable.items():
            count = _keep_count(s.numel(), group_amounts[root])
            keep[root] = s.topk(count).indices.sort().values
    return plan, keep, left_whole, notes


def _layout_index(plan, layout, keep):
    pieces, offset = [], 0
    for space, size in layout:
        root = plan.root(space)
        kept = keep.get(root)
        pieces.append((kept if kept is not None else torch.arange(size)) + offset)
        offset += size
    return torch.cat(pieces) if pieces else torch.zeros(0, dtype=torch.long)


def _expand(index, factor):
    if factor == 1:
        return index
    return (index[:, None] * factor + torch.arange(factor)).flatten()


def apply_plan(graph, state, plan, keep):
    """The pruned design and its state_dict; the compiled design equals the pruned module."""
    new_state = {k: v.clone() for k, v in state.items()}
    touched = set()

    def take(key, index, dim):
        if key in new_state:
            new_state[key] = new_state[key].index_select(dim, index).contiguous()

    kept = {}
    for root, index in keep.items():
        for member in [i for i in range(len(plan.spaces)) if plan.root(i) == root]:
            for path, kind in plan.spaces[member].producers:
                prefix = f"{path}.pointwise" if kind == "separable" else path
                take(f"{prefix}.weight", index, 0)
                take(f"{prefix}.bias", index, 0)
                kept[path] = (plan.spaces[member].size, int(index.numel()), index)
                touched.add(path)
    for path, kind, layout, factor in plan.edits:
        if not any(plan.root(space) in keep for space, _ in layout):
            continue
        index = _layout_index(plan, layout, keep)
        touched.add(path)
        if kind == "conv_in":
            take(f"{path}.weight", index, 1)
        elif kind == "linear_in":
            take(f"{path}.weight", _expand(index, factor), 1)
        elif kind == "separable_in":
            take(f"{path}.depthwise.weight", index, 0)
            take(f"{path}.pointwise.weight", index, 1)
        elif kind == "channelwise":
            for name in ("weight", "bias", "running_mean", "running_var"):
                take(f"{path}.{name}", index, 0)

    pruned = graph.copy()
    # Open every block first, while all shapes still agree; then change the widths.
    for path in sorted(touched):
        locate(pruned, path)
    for path in sorted(kept):
        holder, node_id = locate(pruned, path, open_blocks=False)
        field_name = "out_features" if holder.nodes[node_id].type == "Linear" else "out_channels"
        holder.set_params(node_id, **{field_name: kept[path][1]})
    _check_fits(graph, pruned, new_state)
    return pruned, new_state, kept


def _check_fits(original, pruned, state):
    try:
        model = compile_graph(pruned)
    except Exception as error:
        raise CompressError(f"the pruned design does not compile: {error}") from None
    report = load_into(model, state)
    if not report.exact:
        names = [n for n, *_ in report.mismatched] + report.missing + report.unexpected
        block = block_of(original, names[0]) if names else ""
        where = f"the block {block} cannot be pruned" if block else "the design cannot be pruned"
        raise CompressError(f"{where}: its layers do not follow the kept channels ({report})")


def full_state(graph, state):
    """The compiled design's whole state_dict (auxiliary heads included) filled from `state`."""
    model = compile_graph(graph)
    load_into(model, state)
    return model.state_dict()


def prune_structured(graph, state, method="l1", amount=0.5, global_=False, layers=None,
                     rewind=None, layer_amounts=None):
    """Filter/channel pruning; a `PruneResult` with the smaller design and its weights. With
    `rewind` (an earlier state_dict of the same design, e.g. its initialisation) the channels are
    chosen on `state` but the kept weights come from `rewind`: lottery-ticket rewinding."""
    state = full_state(graph, state)
    plan, keep, left_whole, notes = plan_pruning(graph, state, method, amount, global_, layers,
                                                 layer_amounts)
    source = full_state(graph, rewind) if rewind is not None else state
    pruned, new_state, kept = apply_plan(graph, source, plan, keep)
    return PruneResult(pruned, new_state, kept, left_whole, notes)


def prunable_weights(model):
    """(module, "weight") of every convolution and fully connected layer."""
    return [(m, "weight") for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def prune_magnitude(model, amount=0.5, global_=False):
    """Zero the smallest-magnitude weights of every conv/linear layer in place (per layer, or
    over all layers together) with torch.nn.utils.prune, made permanent; returns the masks
    {module path: mask} so fine-tuning can keep the zeros."""
    from torch.nn.utils import prune
    if not 0 < amount < 1:
        raise CompressError(f"the amount must be between 0 and 1 (exclusive); got {amount:g}")
    targets = prunable_weights(model)
    if not targets:
        raise CompressError("the design has no convolution or fully connected weights to prune")
    if global_:
        prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=amount)
    else:
        for module, name in targets:
            prune.l1_unstructured(module, name, amount=amount)
    names = {module: path for path, module in model.named_modules()}
    masks = {}
    for module, name in targets:
        masks[names[module]] = module.weight_mask.detach().clone()
        prune.remove(module, name)
    return masks


def sparsity(model):
    """Share of zero weights over all conv/linear weights."""
    zeros = total = 0
    for module, _ in prunable_weights(model):
        zeros += int((module.weight == 0).sum())
        total += module.weight.numel()
    return zeros / max(1, total)
