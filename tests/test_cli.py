"""The command line: `designer summary`, `designer presets`."""

import json

from designer.cli import main
from designer.core import fileformat
from designer.core.builder import GraphBuilder


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_json_of_lenet5(capsys):
    code, out, _ = run(capsys, "summary", "lenet5", "--json")
    assert code == 0
    summary = json.loads(out)  # exactly one JSON object
    assert summary["total_params"] == 61_706 == summary["trainable_params"]
    assert summary["input_shape"] == [1, 32, 32]
    shapes = {n["id"]: n["output_shape"] for n in summary["nodes"]}
    assert shapes["c1"] == [6, 28, 28] and shapes["s2"] == [6, 14, 14]
    assert shapes["c3"] == [16, 10, 10] and shapes["s4"] == [16, 5, 5]
    assert shapes["c5"] == [120, 1, 1] and shapes["f6"] == [84] and shapes["f7"] == [10]
    node = summary["nodes"][1]
    assert set(node) >= {"id", "type", "output_shape", "params", "macs", "receptive_field", "error"}


def test_summary_table_and_input_override(capsys):
    code, out, _ = run(capsys, "summary", "lenet5", "--input", "1x36x36")
    assert code == 0
    assert "Total parameters:" in out
    assert "16×6×6" in out  # s4 at 36×36 input: (36-4)/2=16, (16-4)/2=6


def test_broken_design_reports_the_node_and_exits_non_zero(capsys, tmp_path):
    b = GraphBuilder("broken")
    x = b.input((3, 32, 32))
    a = b.add("Conv2d", "a", x, out_channels=16, stride=2)
    c = b.add("Add", "merge", a, x)
    b.output(c)
    path = tmp_path / "broken.json"
    fileformat.save(b.finish(), path)
    code, out, _ = run(capsys, "summary", str(path), "--json")
    assert code == 1         # like a linter: the design cannot be exported or trained as it is
    errors = {n["id"]: n["error"] for n in json.loads(out)["nodes"] if n["error"]}
    assert errors["merge"] == "Add: inputs are 16×16×16 and 3×32×32"
    assert errors["output"] == "not computable: an input has an error"
    code, out, _ = run(capsys, "summary", str(path))
    assert code == 1
    assert "! Add: inputs are 16×16×16 and 3×32×32" in out


def test_unreadable_files_exit_non_zero(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{\"format\": \"cnn-designer\", ")
    code, _, err = run(capsys, "summary", str(bad))
    assert code == 2 and "truncated" in err
    code, _, err = run(capsys, "summary", "no_such_preset")
    assert code == 2 and "neither a design file nor a preset" in err


def test_presets_lists_lenet5(capsys):
    code, out, _ = run(capsys, "presets")
    assert code == 0
    line = next(l for l in out.splitlines() if l.startswith("lenet5"))
    assert "61,706" in line
