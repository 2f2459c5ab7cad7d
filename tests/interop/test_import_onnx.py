"""ONNX files exported from presets import back to designs that compute what onnxruntime
computes from the file; an operator the catalogue lacks is reported with its node name."""

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import helper, TensorProto

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.core.presets import load_design
from designer.export.exporter import export_design
from designer.interop import UnsupportedOpsError
from designer.interop.onnx import import_onnx

from ..helpers import randomise_batch_norms

PRESETS = {"resnet18": (3, 64, 64), "mobilenet_v2": (3, 64, 64), "squeezenet1_1": (3, 64, 64),
           "convnext_tiny": (3, 64, 64), "lenet5": (1, 32, 32)}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_exported_preset_imports_back_equal(name, tmp_path):
    shape = PRESETS[name]
    graph = load_design(name)
    graph.set_params(graph.nodes_of_type("Input")[0].id, shape=shape)
    torch.manual_seed(0)
    module = compile_graph(graph, include_auxiliary=False)
    randomise_batch_norms(module)
    torch.save(module.state_dict(), tmp_path / "w.pt")
    path = tmp_path / f"{name}.onnx"
    export_design(graph, "onnx", path, weights=tmp_path / "w.pt")

    result = import_onnx(path)
    assert Analyzer(result.graph).totals.errors == 0
    imported = compile_graph(result.graph).eval()
    imported.load_state_dict(result.state_dict, strict=True)
    x = np.random.default_rng(0).standard_normal((2,) + shape).astype(np.float32)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {session.get_inputs()[0].name: x})
    with torch.no_grad():
        got = imported(torch.from_numpy(x)).numpy()
    scale = max(1.0, float(np.abs(expected).max()))
    assert np.abs(got - expected).max() / scale < 1e-4


def test_channel_ranges_import_as_channel_slices(tmp_path):
    """x[:, 0:8], x[:, 8:] and x[:, -3:-1] (DPN's and ReXNet's partial residual) as the exporter
    writes them: Slice nodes over the channels, each a ChannelSlice from its start."""
    from .test_odd_modules import ChannelRanges
    torch.manual_seed(0)
    model = ChannelRanges().eval()
    path = tmp_path / "ranges.onnx"
    torch.onnx.export(model, (torch.randn(1, 8, 5, 5),), path, dynamo=False,
                      input_names=["x"], output_names=["y"])
    assert "Slice" in {n.op_type for n in onnx.load(str(path)).graph.node}
    result = import_onnx(path)
    slices = [n for n in result.graph.nodes.values() if n.type == "ChannelSlice"]
    assert sorted((n.params["start"], n.params["channels"]) for n in slices) == \
        [(0, 8), (8, 4), (9, 2)]
    imported = compile_graph(result.graph).eval()
    imported.load_state_dict(result.state_dict, strict=True)
    x = torch.randn(2, 8, 5, 5)
    with torch.no_grad():
        assert (imported(x) - model(x)).abs().max() < 1e-6


def test_channel_shuffle_export_is_reported_not_approximated(tmp_path):
    # The exporter writes ShuffleNet's channel shuffle with run-time Shape arithmetic.
    graph = load_design("shufflenet_v2_x1_0")
    path = tmp_path / "shufflenet.onnx"
    export_design(graph, "onnx", path)
    with pytest.raises(UnsupportedOpsError) as caught:
        import_onnx(path)
    assert {op for op, _ in caught.value.items} == {"Shape"}
    assert all(where.startswith("/shuffle") for _, where in caught.value.items)


def test_unsupported_onnx_operator_is_reported(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 16, 16])
    scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="/stem/act/Relu"),
             helper.make_node("Resize", ["r", "", "scales"], ["y"], name="/up/Resize")]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], [scales]))
    onnx.save(model, tmp_path / "m.onnx")
    with pytest.raises(UnsupportedOpsError) as caught:
        import_onnx(tmp_path / "m.onnx")
    assert caught.value.items == [("Resize", "/up/Resize")]
