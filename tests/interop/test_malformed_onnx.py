"""ONNX files that parse but are malformed (issue 28, item 4): each import ends in one sentence
and exit 2, writes nothing, and a node of a foreign operator domain is never taken for the
standard operator of its name."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from designer.cli import main


def _weight(name, value):
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


def _huge_initializer():
    tensor = TensorProto(name="big", data_type=TensorProto.FLOAT)
    tensor.dims.extend([10 ** 9, 10 ** 9])      # declares 10¹⁸ floats, holds none
    return tensor


def _node(op, inputs=("x",), **attributes):
    domain = attributes.pop("domain", "")
    return helper.make_node(op, list(inputs), ["y"], domain=domain, **attributes)


# name: (nodes, initializers, extra opset domains, --input, words of the sentence)
CASES = {
    "huge unused initializer": ([_node("Relu")], [_huge_initializer()], (), None,
                                "initializer 'big' declares shape 1000000000×1000000000"),
    "weights that do not fit": ([_node("Conv", ("x", "W"))], [_weight("W", np.zeros((4, 3, 3, 3)))],
                                (), None, "conv.weight is 4×1×3×3 in the design but 4×3×3×3"),
    "--input with other channels": ([_node("Conv", ("x", "W"))],
                                    [_weight("W", np.zeros((4, 1, 3, 3)))], (), "3x32x32",
                                    "does --input give the channels"),
    "undeclared domain": ([_node("Relu", domain="com.evil")], [], (), None,
                          "domain 'com.evil', which the model does not declare"),
    "foreign domain": ([_node("Relu", domain="com.evil")], [], ("com.evil",), None,
                       "Relu (in operator domain com.evil)"),
    "no kernel_shape": ([_node("MaxPool")], [], (), None, "lacks the attribute kernel_shape"),
    "no LRN size": ([_node("LRN")], [], (), None, "lacks the attribute size"),
    "no Transpose perm": ([_node("Transpose")], [], (), None, "a transpose that moves the batch"),
    "Conv without weight": ([_node("Conv")], [], (), None, "Conv node has 1 inputs"),
    "BatchNorm too few inputs": ([_node("BatchNormalization", ("x", "s"))], [_weight("s", [1.0])],
                                 (), None, "BatchNormalization node has 2 inputs"),
    "Div by 0": ([_node("Div", ("x", "z"))], [_weight("z", 0.0)], (), None, "dividing by 0.0"),
    "Clip vector minimum": ([_node("Clip", ("x", "lo", "hi"))],
                            [_weight("lo", [0.0, 1.0]), _weight("hi", 6.0)], (), None,
                            "a minimum of shape (2,), not a scalar"),
    "Conv out_channels 0": ([_node("Conv", ("x", "W"))], [_weight("W", np.zeros((0, 1, 3, 3)))],
                            (), None, "Conv node cannot be imported: out_channels"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_malformed_onnx_file_is_one_sentence(case, tmp_path, capsys):
    nodes, initializers, domains, shape, words = CASES[case]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    opsets = [helper.make_opsetid("", 17)] + [helper.make_opsetid(d, 1) for d in domains]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], initializers),
                              opset_imports=opsets)
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    out = tmp_path / "out.json"
    code = main(["import", str(path), "-o", str(out)] + (["--input", shape] if shape else []))
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("designer: ") and words in err, err
    assert "Traceback" not in err and not out.exists() and not out.with_suffix(".pt").exists()


def test_an_empty_onnx_file_is_called_empty(tmp_path, capsys):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    assert main(["import", str(path), "-o", str(tmp_path / "out.json")]) == 2
    assert "an empty file, not an ONNX model" in capsys.readouterr().err
