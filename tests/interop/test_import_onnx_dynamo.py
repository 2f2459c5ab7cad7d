"""ONNX files written by torch's default exporter (dynamo, opset 18) import back to designs that
compute what onnxruntime computes from them: its ReduceMean over height and width (global
average pooling), its order of the Erf-based GELU, its flatten-and-gather strided views, and a
one-input Concat (torchvision DenseNet's first layer). The models are the ones the legacy
exporter's round trip covers (test_import_onnx.py), at tiny sizes. An unsupported node does not
hide the ones after it: each is reported with its node name."""

import contextlib
import io

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.core.presets import load_design
from designer.interop import UnsupportedOpsError
from designer.interop.onnx import import_onnx

from ..helpers import randomise_batch_norms

PRESETS = {"resnet18": (3, 32, 32), "mobilenet_v2": (3, 32, 32), "squeezenet1_1": (3, 64, 64),
           "convnext_tiny": (3, 32, 32), "lenet5": (1, 32, 32)}


def _export(module, shape, path):
    with contextlib.redirect_stdout(io.StringIO()):   # the exporter narrates on stdout
        torch.onnx.export(module.eval(), (torch.randn((1,) + shape),), path, dynamo=True,
                          opset_version=18)


def _round_trip(path, shape):
    result = import_onnx(path)
    assert Analyzer(result.graph).totals.errors == 0
    imported = compile_graph(result.graph).eval()
    imported.load_state_dict(result.state_dict, strict=True)
    x = np.random.default_rng(0).standard_normal((1,) + shape).astype(np.float32)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {session.get_inputs()[0].name: x})
    with torch.no_grad():
        got = imported(torch.from_numpy(x)).numpy()
    assert got.shape == expected.shape
    scale = max(1.0, float(np.abs(expected).max()))
    assert np.abs(got - expected).max() / scale < 1e-4
    return result


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_dynamo_export_of_preset_imports_back_equal(name, tmp_path):
    shape = PRESETS[name]
    graph = load_design(name)
    graph.set_params(graph.nodes_of_type("Input")[0].id, shape=shape)
    torch.manual_seed(0)
    module = compile_graph(graph, include_auxiliary=False)
    randomise_batch_norms(module)
    path = tmp_path / f"{name}.onnx"
    _export(module, shape, path)
    result = _round_trip(path, shape)
    types = {n.type for n in result.graph.nodes.values()}
    if name == "convnext_tiny":
        assert "GELU" in types
    if name in ("resnet18", "mobilenet_v2", "squeezenet1_1"):
        assert "GlobalAvgPool2d" in types or "AdaptiveAvgPool2d" in types


@pytest.mark.parametrize("dynamo", [False, True])
def test_torchvision_densenet_one_input_concat_imports(dynamo, tmp_path):
    from torchvision.models import DenseNet
    torch.manual_seed(0)
    model = DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=2,
                     num_classes=5)
    randomise_batch_norms(model)
    path = tmp_path / "densenet.onnx"
    shape = (3, 32, 32)
    if dynamo:
        _export(model, shape, path)
    else:
        torch.onnx.export(model.eval(), (torch.randn((1,) + shape),), path, dynamo=False,
                          opset_version=17)
    if not dynamo:   # the legacy exporter writes the one-input Concat; dynamo leaves it out
        assert any(n.op_type == "Concat" and len(n.input) == 1
                   for n in onnx.load(path).graph.node)
    _round_trip(path, shape)


def test_every_unsupported_node_is_reported_with_its_name(tmp_path):
    # Two unsupported nodes on one path (the old walk reported only the first) and one beside.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 1, 1])
    axes = numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "axes")
    nodes = [helper.make_node("ReduceMax", ["x", "axes"], ["a"], name="/first/ReduceMax"),
             helper.make_node("Relu", ["a"], ["b"], name="/between/Relu"),
             helper.make_node("ReduceMax", ["b", "axes"], ["c"], name="/second/ReduceMax"),
             helper.make_node("Sqrt", ["c"], ["y"], name="/third/Sqrt")]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], [axes]),
                              opset_imports=[helper.make_opsetid("", 18)])
    onnx.save(model, tmp_path / "m.onnx")
    with pytest.raises(UnsupportedOpsError) as caught:
        import_onnx(tmp_path / "m.onnx")
    assert [(op, where) for op, where in caught.value.items] == [
        ("ReduceMax", "/first/ReduceMax"), ("ReduceMax", "/second/ReduceMax"),
        ("Sqrt", "/third/Sqrt")]


def test_a_mean_over_other_axes_is_reported_not_pooled(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")
    model = helper.make_model(helper.make_graph(
        [helper.make_node("ReduceMean", ["x", "axes"], ["y"], name="/m/ReduceMean")],
        "g", [x], [y], [axes]), opset_imports=[helper.make_opsetid("", 18)])
    onnx.save(model, tmp_path / "m.onnx")
    with pytest.raises(UnsupportedOpsError) as caught:
        import_onnx(tmp_path / "m.onnx")
    assert caught.value.items[0][1] == "/m/ReduceMean"
    assert "not height and width" in caught.value.items[0][0]
