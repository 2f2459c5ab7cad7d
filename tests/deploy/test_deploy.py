"""designer deploy: every file is loaded back in its own runtime here (not through the engine's
own loader) and agrees with the design; int8 files are smaller and keep the trained LeNet-5's
accuracy; a design whose operator the runtime lacks is refused with a sentence naming the node
and the operator, and nothing is written; the CLI's --json object has the contract's fields."""

import contextlib
import io
import json

import pytest
import torch

from designer.cli import main
from designer.compress.measure import load_model, validation_data
from designer.core.builder import GraphBuilder
from designer.core.presets import load_design
from designer.deploy.engine import deploy
from designer.deploy.targets import DeployError, Target, require, target

from ..helpers import single_thread

CONTRACT = ("target", "path", "bytes", "latency_ms", "max_abs_difference", "val_top1_error",
            "val_top1_error_reference")


@pytest.fixture(autouse=True)
def one_thread():
    with single_thread():
        yield


@pytest.fixture(scope="module")
def lenet(lenet_run):
    """(design, trained weights, model, the validation images and labels)."""
    run_dir, _ = lenet_run
    graph, weights = load_design("lenet5"), run_dir / "best.pt"
    images, labels = zip(*validation_data("digits", graph))
    return graph, weights, load_model(graph, weights), torch.cat(images), torch.cat(labels)


def _with_model(model, images):
    with torch.inference_mode():
        return model(images)


@pytest.fixture(scope="module")
def executorch_files(lenet, tmp_path_factory):
    pytest.importorskip("executorch")
    pytest.importorskip("torchao")
    graph, weights, *_ = lenet
    folder = tmp_path_factory.mktemp("pte")
    with single_thread():
        return {name: deploy(graph, weights, name, folder / f"{name}.pte", dataset="digits",
                             calibration_batches_count=2, repeats=5)
                for name in ("executorch", "executorch-int8")}


def _run_pte(path, images):
    from executorch.runtime import Runtime
    method = Runtime.get().load_program(path).load_method("forward")
    return torch.cat([method.execute([image])[0] for image in images.split(1)])


def test_executorch_programs_run_in_the_executorch_runtime(lenet, executorch_files):
    graph, _, model, images, labels = lenet
    reference = _with_model(model, images[:64])
    fp32, int8 = executorch_files["executorch"], executorch_files["executorch-int8"]
    assert torch.allclose(_run_pte(fp32["path"], images[:64]), reference, atol=1e-4)
    assert fp32["max_abs_difference"] < 1e-4
    int8_out = _run_pte(int8["path"], images)
    int8_error = (int8_out.argmax(1) != labels).float().mean().item()
    assert int8_error == pytest.approx(int8["val_top1_error"])
    assert int8["val_top1_error"] <= int8["val_top1_error_reference"] + 0.01
    assert fp32["val_top1_error"] == pytest.approx(fp32["val_top1_error_reference"], abs=0.003)
    # int8 weights: a quarter of the bytes, plus the program's scales and graph.
    assert int8["bytes"] < 0.4 * fp32["bytes"]
    for report in (fp32, int8):
        assert set(CONTRACT) <= set(report)
        assert report["latency_ms"] > 0
        assert "none outside it" in " ".join(report["notes"])   # all delegated to XNNPACK


def test_int8_onnx_runs_in_onnxruntime_with_qdq_nodes(lenet, tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    graph, weights, model, images, labels = lenet
    out = tmp_path / "lenet.onnx"
    report = deploy(graph, weights, "onnx-int8", out, dataset="digits",
                    calibration_batches_count=2, repeats=5)
    ops = {node.op_type for node in onnx.load(str(out)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    logits = torch.from_numpy(session.run(None, {"input": images.numpy()})[0])
    assert (logits.argmax(1) != labels).float().mean().item() == pytest.approx(
        report["val_top1_error"])
    assert report["val_top1_error"] <= report["val_top1_error_reference"] + 0.01
    reference = _with_model(model, images)
    assert (logits - reference).abs().max() < 0.1 * reference.abs().max()
    assert report["bytes"] < 0.4 * report["bytes_reference"]


def test_core_ml_package_is_a_loadable_ml_program(lenet, tmp_path):
    ct = pytest.importorskip("coremltools")
    graph, weights, *_ = lenet
    out = tmp_path / "lenet.mlpackage"
    report = deploy(graph, weights, "coreml", out, latency=False)
    spec = ct.utils.load_spec(str(out))
    assert spec.WhichOneof("Type") == "mlProgram"
    assert list(spec.description.input[0].type.multiArrayType.shape) == [1, 1, 32, 32]
    ops = {op.type for f in spec.mlProgram.functions.values()
           for op in f.block_specializations[f.opset].operations}
    assert "conv" in ops and "linear" in ops
    assert report["bytes"] > 0 and report["max_abs_difference"] is None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temporary left


def lrn_design():
    b = GraphBuilder("with_lrn")
    x = b.add("Conv2d", "conv", b.input((3, 8, 8)), out_channels=4, kernel=3)
    x = b.add("LocalResponseNorm", "lrn", x, size=3)
    x = b.add("Flatten", "flatten", b.add("GlobalAvgPool2d", "pool", x))
    b.output(b.add("Linear", "fc", x, out_features=2))
    return b.finish()


def test_an_operator_the_runtime_lacks_is_named_with_its_node_and_nothing_is_written(tmp_path):
    pytest.importorskip("executorch")
    out = tmp_path / "lrn.pte"
    out.write_bytes(b"the previous program")
    with pytest.raises(DeployError) as caught:
        deploy(lrn_design(), None, "executorch", out, force=True, latency=False)
    sentence = str(caught.value)
    assert "node 'lrn'" in sentence and "aten.avg_pool3d" in sentence
    assert out.read_bytes() == b"the previous program"
    assert [p.name for p in tmp_path.iterdir()] == ["lrn.pte"]


def test_missing_converters_say_what_to_install():
    absent = Target("x", ".x", "nowhere", ("no_such_converter_module",), "deploy", False, "")
    with pytest.raises(DeployError, match=r"pip install 'cnn-designer\[deploy\]'"):
        require(absent)
    with pytest.raises(DeployError, match="unknown target 'tflite' \\(litert-torch"):
        target("tflite")


def _cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_cli_json_contract_and_refusals(lenet, tmp_path):
    pytest.importorskip("onnxruntime")
    _, weights, *_ = lenet
    out = tmp_path / "l.onnx"
    code, text, _ = _cli("deploy", "lenet5", "--weights", str(weights), "--target", "onnx-int8",
                         "-o", str(out), "--dataset", "digits", "--calibration-batches", "1",
                         "--json")
    assert code == 0
    report = json.loads(text)
    assert set(CONTRACT) <= set(report)
    assert report["target"] == "onnx-int8" and report["path"] == str(out)
    assert report["bytes"] == out.stat().st_size
    assert 0 <= report["val_top1_error"] <= 1 and 0 <= report["val_top1_error_reference"] <= 1
    # An existing file, a wrong suffix: one sentence each, exit 2, the file untouched.
    before = out.read_bytes()
    for target_name, path, words in (("onnx-int8", out, "exists; pass --force"),
                                     ("executorch", out, "writes a .pte file"),
                                     ("tflite", out, "litert-torch")):
        code, _, err = _cli("deploy", "lenet5", "--weights", str(weights), "--target",
                            target_name, "-o", str(path))
        assert code == 2 and words in err and "Traceback" not in err
    assert out.read_bytes() == before
