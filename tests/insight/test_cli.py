"""`designer inspect`: the PNGs and the JSON object of the issue's interface, and bad input as a
one-sentence error with exit status 2."""

import json
import subprocess
import sys

import pytest
from PIL import Image

from designer.cli import main


def test_inspect_writes_the_views_and_one_json_object(lenet_run, tmp_path, capsys):
    run_dir, epochs = lenet_run
    out = tmp_path / "views"
    code = main(["inspect", "lenet5", "--weights", str(run_dir / "last.pt"), "--dataset", "digits",
                 "--index", "3", "--node", "c1", "s4", "f6", "--gradcam", "c3", "--class", "2",
                 "--confusion", "--embedding", "pca", "--landscape", "2d", "--steps", "3",
                 "--batches", "1", "--out", str(out), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    for name in ("feature_maps_c1", "feature_maps_s4", "feature_maps_f6", "filters_c1",
                 "gradcam_c3", "confusion", "embedding", "landscape", "wrong"):
        with Image.open(out / f"{name}.png") as image:
            assert image.format == "PNG" and min(image.size) > 100, name
    assert not (out / "filters_s4.png").exists()         # pooling has no filters
    prediction = result["prediction"]
    assert set(prediction) >= {"class", "probability", "top5"}
    top5 = [entry["probability"] for entry in prediction["top5"]]
    assert len(top5) == 5 and top5 == sorted(top5, reverse=True) and sum(top5) <= 1 + 1e-6
    assert prediction["probability"] == top5[0]
    confusion = result["confusion"]
    assert len(confusion) == 10 and sum(map(sum, confusion)) == 359
    assert result["val_top1_error"] == pytest.approx(epochs[-1].val_top1_error, abs=1e-12)
    assert len(result["per_class_error"]) == 10
    activations = result["activations"]
    assert activations["c1"]["shape"] == [6, 28, 28] and activations["f6"]["shape"] == [84]
    assert 0 <= activations["s4"]["zero_fraction"] <= 1
    assert activations["s4"]["max"] >= activations["s4"]["mean"]
    assert result["gradcam"] == {"node": "c3", "class": 2}
    assert len(result["landscape"]["losses"]) == 9


def test_inspect_writes_captum_attributions(lenet_run, tmp_path, capsys):
    code = main(["inspect", "lenet5", "--weights", str(lenet_run[0]), "--dataset", "digits",
                 "--node", "c1", "--gradcam", "c3", "--attribution", "occlusion", "guided_gradcam",
                 "--out", str(tmp_path)])
    assert code == 0
    for method in ("occlusion", "guided_gradcam"):
        with Image.open(tmp_path / f"attribution_{method}.png") as image:
            assert image.format == "PNG"
    code = main(["inspect", "lenet5", "--weights", str(lenet_run[0]), "--dataset", "digits",
                 "--attribution", "lime", "--out", str(tmp_path)])
    assert code == 2 and "unknown attribution 'lime'" in capsys.readouterr().err


def test_inspect_default_nodes_and_an_image_file(lenet_run, tmp_path, capsys):
    image = tmp_path / "seven.png"
    pixels = Image.new("L", (40, 40))
    pixels.paste(255, (8, 6, 32, 10))
    pixels.paste(255, (26, 6, 30, 36))
    pixels.save(image)
    code = main(["inspect", "lenet5", "--weights", str(lenet_run[0]), "--dataset", "digits",
                 "--image", str(image), "--out", str(tmp_path / "v")])
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.startswith("prediction: ")
    for node in ("c1", "c3", "c5"):                   # every convolution by default
        assert (tmp_path / "v" / f"feature_maps_{node}.png").is_file()
        assert (tmp_path / "v" / f"filters_{node}.png").is_file()


@pytest.mark.parametrize("extra, sentence", [
    (["--gradcam", "f6"], "Grad-CAM needs a node with a spatial"),
    (["--node", "nope"], "the design has no node 'nope'"),
    (["--gradcam", "c3", "--class", "12"], "there is no class 12"),
    (["--index", "9999"], "there is no validation image 9999"),
    (["--landscape", "1d", "--steps", "-5"], "points per axis must be at least 2; got -5"),
])
def test_inspect_refuses_bad_requests_with_a_sentence(lenet_run, tmp_path, capsys, extra, sentence):
    code = main(["inspect", "lenet5", "--weights", str(lenet_run[0] / "last.pt"), "--dataset",
                 "digits", "--out", str(tmp_path), *extra])
    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith("designer: ") and sentence in error


def test_inspect_refuses_a_fifo_as_weights_or_image_instead_of_waiting(lenet_run, tmp_path,
                                                                       capsys):
    import os
    os.mkfifo(tmp_path / "pipe")
    weights = str(lenet_run[0] / "last.pt")
    for given in (["--weights", str(tmp_path / "pipe")],
                  ["--weights", weights, "--image", str(tmp_path / "pipe")]):
        code = main(["inspect", "lenet5", *given, "--dataset", "digits", "--out",
                     str(tmp_path / "v")])
        assert code == 2
        assert "pipe is a FIFO (named pipe), not a" in capsys.readouterr().err


@pytest.mark.parametrize("out, sentence", [("a_file", "a_file is not a folder"),
                                           ("/dev/null/x", "/dev/null is not a folder")])
def test_inspect_refuses_an_out_that_cannot_be_a_folder(lenet_run, tmp_path, capsys, out,
                                                        sentence):
    """Issue 28, item 11: a sentence, not mkdir's traceback."""
    if out == "a_file":
        out = tmp_path / out
        out.write_text("")
    code = main(["inspect", "lenet5", "--weights", str(lenet_run[0]), "--dataset", "digits",
                 "--out", str(out), "--node", "c1"])
    error = capsys.readouterr().err
    assert code == 2 and error.startswith("designer: ") and sentence in error, error


def test_inspect_names_the_layers_that_do_not_fit(lenet_run, tmp_path, capsys):
    code = main(["inspect", "alexnet", "--weights", str(lenet_run[0] / "last.pt"), "--dataset",
                 "digits", "--out", str(tmp_path)])
    assert code == 2
    error = capsys.readouterr().err
    assert "do not fit the design" in error and "missing from the file" in error


def test_insight_engine_and_verb_do_not_import_qt():
    code = ("import sys\n"
            "import designer.insight.cli, designer.insight.subject, designer.insight.activations\n"
            "import designer.insight.filters, designer.insight.attribution\n"
            "import designer.insight.evaluation, designer.insight.landscape, designer.insight.render\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)
