"""Hostile ONNX files (issue 27, fuzzed): a Gemm weight of the wrong shape, a string-typed
initializer, a node name that is not UTF-8 and external data outside the model's folder each end
in one sentence naming the node or tensor (exit 2), and nothing is written."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from designer.cli import main


def _save(path, nodes, initializers, features=4):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, features])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], initializers))
    onnx.save(model, path)
    return model


def _gemm(*inputs):
    return helper.make_node("Gemm", ["x", *inputs], ["y"], name="/fc/Gemm", transB=1)


def _weight(shape, name="W"):
    return numpy_helper.from_array(np.zeros(shape, np.float32), name)


def wrong_gemm_shape(path):
    _save(path, [_gemm("W", "B")], [_weight((3, 5)), _weight((3,), "B")])
    return "'/fc/Gemm' (Gemm) has a weight of shape 3×5"


def string_initializer(path):
    _save(path, [_gemm("W")], [helper.make_tensor("W", TensorProto.STRING, [3, 4], [b"a"] * 12)])
    return "'/fc/Gemm' (Gemm) takes its weight from a tensor of object values, not numbers"


def name_not_utf8(path):
    model = _save(path, [_gemm("W")], [_weight((3, 4))])
    model.graph.node[0].name = "NAMEX"
    # Same length, so the protobuf stays well-formed; only the name's bytes are not UTF-8.
    path.write_bytes(model.SerializeToString().replace(b"NAMEX", b"\xff\xfeABC"))
    return "(number 1, Gemm) has a name that is not UTF-8 text"


def external_data_outside_folder(path):
    weight = _weight((3, 4))
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in {"location": "../secret.bin", "offset": "0", "length": "48"}.items():
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    (path.parent.parent / "secret.bin").write_bytes(bytes(48))
    _save(path, [_gemm("W")], [weight])
    return "'../secret.bin' points outside the directory"


@pytest.mark.parametrize("case", [wrong_gemm_shape, string_initializer, name_not_utf8,
                                  external_data_outside_folder], ids=lambda f: f.__name__)
def test_hostile_onnx_is_one_sentence(case, tmp_path, capsys):
    folder = tmp_path / "model"
    folder.mkdir()
    path = folder / "m.onnx"
    words = case(path)
    rc = main(["import", str(path), "-o", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert words in err
    assert not (tmp_path / "out.json").exists() and not (tmp_path / "out.pt").exists()
