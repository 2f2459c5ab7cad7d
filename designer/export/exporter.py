"""One entry point for every export format, shared by `designer export` and File ▸ Export….

`export_design(graph, fmt, path, weights=None, input_shape=None)` compiles the design for inference
(auxiliary heads dropped, eval mode), optionally loads weights first, writes `path` atomically and
returns an `ExportResult` whose `str()` is the sentence to show. Every failure is an `ExportError`
(or another `DesignError`) with a sentence meant for a person.
"""

from dataclasses import dataclass, field
from pathlib import Path

import torch

from designer.core.compile import compile_graph, output_nodes
from designer.core.errors import CompileError
from designer.core.infer import analyze
from designer.core.memory import check_fits, design_needs
from designer.core.registry import Role
from designer.weights import WeightsError, load_into, match, read_state_dict

from .files import ExportError, atomic_path, check_writable
from .onnx import save_onnx
from .python_source import generate_source
from .torchscript import save_torch_export, save_torchscript

# format -> (title, usual file suffix)
FORMATS = {
    "torchscript": ("TorchScript", ".pt"),
    "torch_export": ("torch.export program", ".pt2"),
    "onnx": ("ONNX", ".onnx"),
    "python": ("PyTorch source", ".py"),
    "state_dict": ("state_dict", ".pth"),
}
EXAMPLE_BATCH = 2  # batch 1 would let torch.export specialise the batch dimension


@dataclass
class ExportResult:
    format: str
    path: Path
    method: str = ""             # "scripted" or "traced" for TorchScript
    notes: list = field(default_factory=list)
    extra_paths: list = field(default_factory=list)
    weights_report: object = None

    def __str__(self):
        title = FORMATS[self.format][0]
        how = f", {self.method}" if self.method else ""
        text = f"wrote {self.path} ({title}{how})"
        if self.extra_paths:
            text += " and " + ", ".join(map(str, self.extra_paths))
        if self.weights_report is not None:
            text += f"; weights: {self.weights_report}"
        return "; ".join([text] + self.notes)


def design_errors(graph):
    """'node: sentence' for every node in error, in graph order."""
    results = analyze(graph)
    return [f"{nid}: {r.error}" for nid, r in results.items() if r.error]


def with_input_shape(graph, shape):
    """A copy of `graph` whose (first) Input node has `shape`; the graph itself is untouched."""
    inputs = graph.nodes_of_role(Role.INPUT)
    if not inputs:
        raise ExportError("the design has no Input node")
    graph = graph.copy()
    graph.set_params(inputs[0].id, shape=tuple(shape))
    return graph


def input_nodes(graph):
    """Input nodes in the order the compiled model takes them (its placeholders)."""
    order, _ = graph.topological_order()
    return [graph.nodes[nid] for nid in order if graph.nodes[nid].role is Role.INPUT]


def example_inputs(graph, batch=EXAMPLE_BATCH):
    generator = torch.Generator().manual_seed(0)
    return [torch.randn((batch,) + tuple(n.params["shape"]), generator=generator)
            for n in input_nodes(graph)]


def prepare(graph, weights=None, input_shape=None, partial=False):
    """(graph, module, weights report): the design compiled for inference, weights loaded.

    A weights file must supply every tensor of the model; tensors it holds beyond them (an
    auxiliary head trained alongside, say) are ignored and reported. `partial` lets the nodes
    the weights do not fit (after an edit) keep their initial weights; the report names them."""
    if input_shape is not None:
        graph = with_input_shape(graph, input_shape)
    errors = design_errors(graph)
    if errors:
        raise CompileError(f"the design has {len(errors)} error(s) to fix before export:\n  "
                           + "\n  ".join(errors))
    # Refuse before allocating: the example batch traced below holds every activation.
    check_fits(*design_needs(graph), EXAMPLE_BATCH, "exporting")
    module = compile_graph(graph, include_auxiliary=False).eval()
    report = None
    if weights is not None:
        state = read_state_dict(weights) if isinstance(weights, (str, Path)) else weights
        report = load_into(module, state)
        if not report.loaded:
            raise WeightsError(f"the weights do not fit this design: none of their "
                               f"{len(state)} tensors matches ({report})")
        if not report.complete and not partial:
            raise WeightsError(f"the weights do not fit this design: {report}")
    return graph, module, report


def weights_fit(graph, state_dict, input_shape=None):
    """The `WeightsReport` exporting `state_dict` would give, known before anything is built:
    the design compiles on the meta device, so no weights are allocated."""
    if input_shape is not None:
        graph = with_input_shape(graph, input_shape)
    with torch.device("meta"):
        module = compile_graph(graph, include_auxiliary=False)
    return match(module, state_dict)[0]


def export_design(graph, fmt, path, weights=None, input_shape=None, partial=False):
    """Write the design in format `fmt` (a key of FORMATS) to `path`; an `ExportResult`.
    `weights` is a weights file path or a state_dict; `input_shape` (C, H, W) overrides the
    design's input for this export only; `partial` exports weights that fit only some nodes
    (the others untrained, as the report says)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    path = Path(path)
    check_writable(path)
    graph, module, report = prepare(graph, weights, input_shape, partial)
    result = ExportResult(fmt, path, weights_report=report)
    examples = example_inputs(graph)
    if fmt == "torchscript":
        result.method, note = save_torchscript(module, path, examples)
        result.notes += [note] if note else []
    elif fmt == "torch_export":
        note = save_torch_export(module, path, examples)
        result.notes += [note] if note else []
    elif fmt == "onnx":
        names = [n.id for n in input_nodes(graph)]
        returned = output_nodes(graph, include_auxiliary=False)
        outputs = [n.params["name"] or n.id for n in returned]
        if len(set(outputs)) < len(outputs):  # ONNX needs distinct names; node ids are
            outputs = [n.id for n in returned]
        note = save_onnx(module, path, examples, names, outputs)
        result.notes += [note] if note else []
    elif fmt == "python":
        source = generate_source(graph, module)
        with atomic_path(path) as tmp:
            Path(tmp).write_text(source, encoding="utf-8")
        if report is not None:
            # The loaded weights travel beside the source, with the keys it expects.
            weights_path = path.with_suffix(".pth")
            with atomic_path(weights_path) as tmp:
                torch.save(module.state_dict(), tmp)
            result.extra_paths.append(weights_path)
    else:
        with atomic_path(path) as tmp:
            torch.save(module.state_dict(), tmp)
    return result
