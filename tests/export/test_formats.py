"""Each export format, end to end: the written file loads with the plain tool for that format
(TorchScript and the generated source in a process where `designer` is not importable,
onnxruntime for ONNX, torch.export.load for .pt2) and gives the compiled design's outputs."""

import ast

import pytest
import torch

from designer.core.compile import compile_graph
from designer.core.errors import CompileError
from designer.core.presets import load_design
from designer.export.exporter import FORMATS, export_design, prepare
from designer.export.files import ExportError
from designer.weights import WeightsError

from .designs import broken_net, mixed_net, nested_net
from .isolated import run_without_designer

TOL = 1e-5


def _reference(graph, seed=0, batch=3):
    """A compiled inference model with non-trivial BatchNorm statistics, its state_dict, an input
    and its output (eval mode)."""
    torch.manual_seed(seed)
    module = compile_graph(graph, include_auxiliary=False)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
    module.eval()
    (inp,) = graph.nodes_of_type("Input")
    x = torch.randn((batch,) + tuple(inp.params["shape"]))
    with torch.no_grad():
        y = module(x)
    return module, x, y


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """lenet5 and the mixed test net, each exported to every format with known weights."""
    root = tmp_path_factory.mktemp("exported")
    cases = {}
    for name, graph in (("lenet5", load_design("lenet5")), ("mixed", mixed_net()),
                        ("nested", nested_net())):
        module, x, y = _reference(graph)
        weights = root / f"{name}-weights.pth"
        # A training checkpoint, with the auxiliary head's tensors that export drops.
        torch.save({"model": compile_graph(graph).state_dict() | module.state_dict(), "epoch": 3},
                   weights)
        files, results = {}, {}
        for fmt, (_, suffix) in FORMATS.items():
            files[fmt] = root / f"{name}{suffix}"
            results[fmt] = export_design(graph, fmt, files[fmt], weights=weights)
        torch.save(x, root / f"{name}-input.pt")
        cases[name] = dict(graph=graph, module=module, x=x, y=y, files=files, results=results)
    return root, cases


def test_results_describe_what_was_written(exported):
    _, cases = exported
    for case in cases.values():
        results = case["results"]
        assert results["torchscript"].method == "scripted"
        assert str(results["torchscript"]).startswith(f"wrote {case['files']['torchscript']}")
        assert "scripted" in str(results["torchscript"])
        for result in results.values():
            assert result.weights_report.complete
        # The python export carries the loaded weights beside the source.
        assert results["python"].extra_paths == [case["files"]["python"].with_suffix(".pth")]
    # The checkpoint held the auxiliary head too: reported as ignored, not an error.
    mixed = cases["mixed"]["results"]["torchscript"].weights_report
    assert "aux_fc.weight" in mixed.unexpected and not mixed.missing


def test_torchscript_and_source_run_without_designer(exported):
    root, cases = exported
    code = (
        "import importlib.util, json, torch\n"
        "out = {}\n"
        f"for name in {sorted(cases)!r}:\n"
        "    x = torch.load(f'{name}-input.pt', weights_only=True)\n"
        "    scripted = torch.jit.load(f'{name}.pt')\n"
        "    spec = importlib.util.spec_from_file_location(name + '_src', f'{name}.py')\n"
        "    source = importlib.util.module_from_spec(spec); spec.loader.exec_module(source)\n"
        "    classes = [v for k, v in vars(source).items() if isinstance(v, type)"
        " and issubclass(v, torch.nn.Module) and v.__module__ == source.__name__]\n"
        "    model = classes[-1]()\n"
        "    model.load_state_dict(torch.load(f'{name}.pth', weights_only=True), strict=True)\n"
        "    model.eval()\n"
        "    with torch.no_grad():\n"
        "        out[name] = {'scripted': scripted(x).tolist(), 'source': model(x).tolist(),\n"
        "                     'class': classes[-1].__name__, 'training': scripted.training}\n"
        "print(json.dumps(out))\n")
    got = run_without_designer(code, cwd=root)
    for name, case in cases.items():
        assert got[name]["training"] is False
        assert got[name]["class"] == type(case["module"]).__name__
        for kind in ("scripted", "source"):
            diff = (torch.tensor(got[name][kind]) - case["y"]).abs().max().item()
            assert diff <= TOL, (name, kind, diff)


def test_onnx_runs_in_onnxruntime_with_any_batch(exported):
    ort = pytest.importorskip("onnxruntime")
    import onnx
    _, cases = exported
    for name, case in cases.items():
        path = case["files"]["onnx"]
        model = onnx.load(str(path))
        assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (inp,) = session.get_inputs()
        assert isinstance(inp.shape[0], str), "the batch axis is dynamic"
        assert [o.name for o in session.get_outputs()] == ["output"]  # the aux head is gone
        for batch in (1, 3):
            x = case["x"][:batch]
            (y,) = session.run(None, {inp.name: x.numpy()})
            assert abs(torch.from_numpy(y) - case["y"][:batch]).max().item() <= TOL


def test_torch_export_program_has_dynamic_batch(exported):
    _, cases = exported
    for name, case in cases.items():
        assert not case["results"]["torch_export"].notes, case["results"]["torch_export"].notes
        program = torch.export.load(str(case["files"]["torch_export"]))
        for batch in (1, 3):
            y = program.module()(case["x"][:batch])
            assert (y - case["y"][:batch]).abs().max().item() <= TOL


def test_state_dict_export_loads_strictly(exported):
    _, cases = exported
    for case in cases.values():
        state = torch.load(case["files"]["state_dict"], weights_only=True)
        fresh = compile_graph(case["graph"], include_auxiliary=False)
        fresh.load_state_dict(state, strict=True)
        assert all(torch.equal(state[k], v) for k, v in case["module"].state_dict().items())


def test_source_is_readable_and_standalone(exported):
    _, cases = exported
    text = cases["mixed"]["files"]["python"].read_text()
    tree = ast.parse(text)
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"torch", "typing"}
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    # The custom modules are copied in; each block shape has one class; the network is last.
    assert {"Add", "Concat", "ChannelShuffle", "DropPath", "Split", "Multiply"} <= set(classes)
    assert classes[-1] == "MixedNet"
    assert "BasicBlock" in classes and "BasicBlockDownsample" in classes
    assert len([c for c in classes if c.startswith("BasicBlock")]) == 2
    # Chains of numbered ids read as torchvision writes them.
    assert "self.layer1 = nn.Sequential(BasicBlock(" in text
    assert "self.downsample = nn.Sequential(" in text
    assert "aux" not in text  # the auxiliary head is not part of the inference model


def test_nested_blocks_and_branches_read_in_order(exported):
    _, cases = exported
    text = cases["nested"]["files"]["python"].read_text()
    assert "self.blocks = nn.Sequential(BasicBlock(), BasicBlock())" in text  # a group in a group
    assert "heads_a, heads_b = self.heads(x)" in text and "return (a, b)" in text
    assert "unused" not in text  # feeds nothing that is returned, like the compiled model
    assert text.index("self.branch1 =") < text.index("self.branch2 =") < text.index("self.branch3 =")
    assert "self.branch2 = nn.Sequential(nn.Conv2d(8, 4, 1), nn.Conv2d(4, 6, 3, padding=1))" in text


def test_block_parameters_are_named_after_what_varies():
    """Instances of one block that differ in channels share a class taking `in_channels`."""
    from designer.export.python_source import generate_source
    text = generate_source(mixed_net())
    assert "class BasicBlock(nn.Module):" in text
    assert "def __init__(self, in_channels):" in text
    assert "nn.Conv2d(in_channels, in_channels, 3, padding=1, bias=False)" in text
    assert "BasicBlock(in_channels=8), BasicBlock(in_channels=8)" in text


def test_traced_fallback_is_reported(tmp_path):
    """A module that cannot be scripted is traced, and the result says so."""
    from designer.export.torchscript import save_torchscript

    class Unscriptable(torch.nn.Module):
        def forward(self, x):
            try:  # TorchScript has no try statement
                return x * 3
            except RuntimeError:
                return x
    module = Unscriptable()
    method, note = save_torchscript(module, tmp_path / "t.pt", [torch.ones(2, 3)])
    assert method == "traced" and "traced" in note and "2×3" in note
    assert torch.equal(torch.jit.load(str(tmp_path / "t.pt"))(torch.ones(4, 3)), 3 * torch.ones(4, 3))


def test_design_errors_are_listed(tmp_path):
    with pytest.raises(CompileError) as error:
        export_design(broken_net(), "torchscript", tmp_path / "b.pt")
    assert "conv:" in str(error.value) and "1 error" in str(error.value)
    assert not (tmp_path / "b.pt").exists()


def test_unwritable_paths_are_refused(tmp_path):
    graph = load_design("lenet5")
    with pytest.raises(ExportError, match="does not exist"):
        export_design(graph, "onnx", tmp_path / "missing" / "x.onnx")
    with pytest.raises(ExportError, match="is a folder"):
        export_design(graph, "torchscript", tmp_path)
    # /proc refuses new files even to root, so this holds whoever runs the tests.
    with pytest.raises(ExportError, match="cannot write /proc/x.py"):
        export_design(graph, "python", "/proc/x.py")


def test_weights_that_do_not_fit_are_refused(tmp_path):
    graph = load_design("lenet5")
    other = compile_graph(mixed_net(), include_auxiliary=False).state_dict()
    torch.save(other, tmp_path / "other.pth")
    with pytest.raises(WeightsError, match="none of their"):
        export_design(graph, "torchscript", tmp_path / "x.pt", weights=tmp_path / "other.pth")
    state = compile_graph(graph).state_dict()
    state["f7.weight"] = torch.zeros(5, 84)
    torch.save(state, tmp_path / "wrong.pth")
    with pytest.raises(WeightsError, match=r"f7.weight is 10×84 in the design but 5×84 in the file"):
        export_design(graph, "onnx", tmp_path / "x.onnx", weights=tmp_path / "wrong.pth")
    assert not list(tmp_path.glob("x.*"))


def test_input_shape_override(tmp_path):
    graph = mixed_net(size=16)
    result = export_design(graph, "onnx", tmp_path / "m.onnx", input_shape=(3, 24, 24))
    import onnx
    dims = onnx.load(str(result.path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims[1:]] == [3, 24, 24]
    assert graph.nodes["input"].params["shape"] == (3, 16, 16)  # the design itself is untouched


def test_unknown_format():
    with pytest.raises(ExportError, match="unknown export format"):
        export_design(load_design("lenet5"), "tflite", "x.tflite")


def test_prepare_drops_auxiliary_heads():
    _, module, _ = prepare(mixed_net())
    assert not any("aux" in k for k in module.state_dict())
    assert module.training is False
