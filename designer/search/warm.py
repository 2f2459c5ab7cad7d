"""Warm starts for a structure search (`designer sweep --warm-start`): a trial starts from the
trained weights of a parent, an earlier complete trial whose design grows into the trial's by
function-preserving edits (designer.search.grow), instead of from scratch.

A parent's design values (NODE.PARAM, `width`) equal the trial's except widths that grew: the
out_channels of a Conv2d or PointwiseConv2d, the out_features of a Linear (`grow.widen`). Its
training settings (lr, ...) may differ; a trial of the same design as an earlier one is not
grown from it (nothing grows: its settings are what the sweep compares). Of the parents, the one
with the lowest validation error is chosen (ties: the latest). No design parameter says how many
blocks a stage repeats, so `grow.deepen` has no search value to follow here.
"""

from designer.core import fileformat
from designer.core.errors import DesignError

from .grow import WIDENABLE, widen

# Relative noise in how a copied unit's outgoing weights are split (the sum is kept, so the
# function is too): equal halves get equal gradients and would never learn apart (Net2Net).
NOISE = 0.05
WARM_WEIGHTS = "warm_start.pt"    # the grown start state, in the trial's run folder


def _is_design_value(name):
    return name == "width" or "." in name


def growth_edits(parent, child, graph):
    """The widenings [(node, parent width, child width)] that grow the design of the settings
    `parent` into that of `child` (graph: the child's design, for its node types), or None when
    some design value differs otherwise, or none grew."""
    if set(parent) != set(child):
        return None
    edits = []
    for name, value in child.items():
        if not _is_design_value(name) or parent[name] == value:
            continue
        node_id, _, param = name.rpartition(".")
        node = graph.nodes.get(node_id)
        old = parent[name]
        if (node is None or WIDENABLE.get(node.type) != param
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in (old, value))
                or value <= old):
            return None
        edits.append((node_id, old, value))
    order = list(graph.nodes)
    return sorted(edits, key=lambda e: order.index(e[0])) or None


def choose_parent(records, settings, graph):
    """(the record of the complete trial to start from, its edits) or None. `records` are the
    study's trial records (Sweep.records()), `settings` and `graph` the new trial's."""
    found = []
    for record in records:
        if record["state"] != "complete" or record.get("val_top1_error") is None:
            continue
        edits = growth_edits(record["settings"], settings, graph)
        if edits:
            found.append((record["val_top1_error"], -record["number"], record, edits))
    if not found:
        return None
    _, _, record, edits = min(found, key=lambda f: f[:2])
    return record, edits


def grow_parent(record, edits, seed=0):
    """(the grown design, its state_dict, what was done) from the parent trial's run folder: its
    design.json and best weights, widened by `edits`. Raises a DesignError (GrowError,
    WeightsError, DesignFileError) with its sentence when that cannot be done."""
    from designer.train import runs
    from designer.weights import read_state_dict
    graph = runs.read_design(record["run_dir"])
    if graph is None:
        raise DesignError(f"trial {record['number']}'s run folder has no design.json")
    state = read_state_dict(record["run_dir"])       # best.pt: the error the parent is chosen by
    for node_id, _, width in edits:
        growth = widen(graph, state, node_id, width, noise=NOISE, seed=seed)
        growth.command.redo()
        state = growth.state
    done = ", ".join(f"{node_id} {old}→{width}" for node_id, old, width in edits)
    return graph, state, f"from trial {record['number']}: widened {done}"


def same_design(a, b):
    return fileformat.design_hash(a) == fileformat.design_hash(b)
