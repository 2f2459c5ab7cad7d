"""Every preset exports to TorchScript (scripted, not traced) and to Python source whose class
holds the compiled model's state_dict keys. Presets are picked up from `designer/presets/` automatically.

To stay fast on 2 cores: each preset runs at the smallest square input that leaves its parameter
count unchanged (adaptive pooling heads allow it), outputs are compared only where a forward pass
is cheap, and models over 30M parameters are checked on the meta device (scripting and the
source's keys) without allocating weights or writing files."""

import pytest
import torch

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.core.presets import load_design, preset_names
from designer.export.exporter import design_errors, export_design, input_nodes, with_input_shape
from designer.export.python_source import generate_source
from designer.export.torchscript import to_torchscript

BIG_PARAMS = 30_000_000
CHEAP_MACS = 400_000_000
TOL = 1e-5


def small_version(graph):
    """The design at the smallest square input (of a few) with the same parameter count."""
    (inp, *_) = graph.nodes_of_type("Input")
    shape = inp.params["shape"]
    if len(shape) != 3:
        return graph
    base = Analyzer(graph).totals.params
    for size in (32, 48, 64, 96, 128, 160):
        if size >= min(shape[1:]):
            break
        candidate = with_input_shape(graph, (shape[0], size, size))
        if not design_errors(candidate) and Analyzer(candidate).totals.params == base:
            return candidate
    return graph


def _source_model(text, class_name):
    namespace = {"__name__": "exported_source"}
    exec(compile(text, "<exported>", "exec"), namespace)
    return namespace[class_name]


@pytest.mark.parametrize("name", preset_names())
def test_preset_exports_to_torchscript_and_source(name, tmp_path):
    graph = small_version(load_design(name))
    totals = Analyzer(graph).totals
    if totals.params > BIG_PARAMS:
        with torch.device("meta"):
            module = compile_graph(graph, include_auxiliary=False).eval()
        _, method, note = to_torchscript(module, [])
        assert method == "scripted", note
        text = generate_source(graph, module)  # raises unless the keys and shapes match
        assert f"class {type(module).__name__}(nn.Module):" in text
        return

    torch.manual_seed(0)
    reference = compile_graph(graph, include_auxiliary=False).eval()
    state = reference.state_dict()
    scripted = export_design(graph, "torchscript", tmp_path / "m.pt", weights=state)
    assert scripted.method == "scripted", scripted.notes
    source = export_design(graph, "python", tmp_path / "m.py", weights=state)
    text = source.path.read_text()
    assert "designer" not in text.split('"""', 2)[2], "the source must not depend on designer"

    model = _source_model(text, type(reference).__name__)()
    model.load_state_dict(torch.load(tmp_path / "m.pth", weights_only=True), strict=True)
    model.eval()
    loaded = torch.jit.load(str(tmp_path / "m.pt"))
    if totals.macs > CHEAP_MACS:
        return
    inputs = [torch.randn((2,) + tuple(n.params["shape"])) for n in input_nodes(graph)]
    with torch.no_grad():
        want = reference(*inputs)
        for got in (loaded(*inputs), model(*inputs)):
            for g, w in zip(got if isinstance(got, tuple) else (got,),
                            want if isinstance(want, tuple) else (want,)):
                assert (g - w).abs().max().item() <= TOL
