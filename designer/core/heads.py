"""The classifier of a design, and giving it a new number of classes (transfer learning).

The classifier is the last layer with weights before the main output: a fully connected layer
(its outputs set by `out_features`) or a 1×1 convolution (`out_channels`, as SqueezeNet's), found
by walking back from the main Output through layers without parameters (ReLU, pooling, flatten,
dropout). `new_head_command` sets its outputs to a dataset's class count as one undoable edit;
the training engine (`--new-head`) and the window's "Adapt to dataset" both use it.
"""

from dataclasses import dataclass

from .commands import Compound, SetParams
from .compile import output_nodes
from .errors import DesignError
from .infer import Analyzer


class HeadError(DesignError):
    """A design whose classifier cannot be found or replaced."""


@dataclass(frozen=True)
class Head:
    node_id: str
    param: str          # the parameter that sets its outputs: out_features or out_channels
    outputs: int


def _head_param(node):
    params = node.spec.param_map
    if "out_features" in params:
        return "out_features"
    if "out_channels" in params and "kernel" in params and \
            tuple(node.params["kernel"]) in ((1, 1), (1,)) and node.params.get("groups", 1) == 1:
        return "out_channels"
    return None


def find_head(graph, results=None):
    """The `Head` feeding the main output, or HeadError saying what stands in the way."""
    outputs = output_nodes(graph, include_auxiliary=False)
    if not outputs:
        raise HeadError("the design has no main Output node, so it has no classifier to replace")
    if results is None:
        analyzer = Analyzer(graph)
        analyzer.detach()
        results = analyzer.results
    node_id, seen = outputs[0].id, set()
    while True:
        feeding = graph.predecessors(node_id)
        if len(feeding) != 1 or feeding[0] in seen:
            raise HeadError(f"no fully connected layer or 1×1 convolution feeds the main output "
                            f"through a single path (stopped at {node_id!r})")
        node_id = feeding[0]
        seen.add(node_id)
        node = graph.nodes[node_id]
        param = _head_param(node)
        if param is not None:
            return Head(node_id, param, int(node.params[param]))
        result = results.get(node_id)
        if node.is_block or result is None or result.params:
            raise HeadError(f"{node_id!r} ({node.spec.title}) is the last layer with weights "
                            "before the main output; the classifier to replace must be a fully "
                            "connected layer or a 1×1 convolution")


def new_head_command(graph, classes):
    """One undoable edit giving the classifier `classes` outputs ("Adapt to dataset"), and the
    `Head` as it was; the command is None when it already has that many."""
    head = find_head(graph)
    if head.outputs == classes:
        return None, head
    command = Compound(graph, f"Adapt to dataset: {head.node_id} gives {classes} outputs",
                       [SetParams(graph, head.node_id, **{head.param: classes})])
    return command, head
