"""The compression verbs as scripts use them: exact JSON fields, outputs that load with
weights_only=True (and as --weights elsewhere), one-sentence refusals with exit code 2, and
nothing overwritten without --force."""

import json

import pytest
import torch

from designer.cli import main
from designer.compress.measure import REPORT_FIELDS, load_model
from designer.core.compile import compile_graph
from designer.core.presets import load_design


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_prune_writes_a_design_and_weights_that_load_anywhere(trained_lenet5, tmp_path, capsys):
    _, weights, _ = trained_lenet5
    out = tmp_path / "p.json"
    code, stdout, _ = run(capsys, "prune", "lenet5", "--weights", str(weights), "--method", "l1",
                          "--amount", "0.5", "--global", "-o", str(out), "--json")
    assert code == 0
    report = json.loads(stdout)
    assert set(REPORT_FIELDS) <= set(report)
    assert report["val_top1_error_before"] is None and report["latency_ms_after"] > 0
    assert report["params_after"] < report["params_before"]
    assert report["bytes_after"] == sum(
        t.numel() * 4 for t in torch.load(out.with_suffix(".pt"), weights_only=True).values()
        if t.dtype == torch.float32)
    # The output is usable as --weights by another verb.
    code, stdout, _ = run(capsys, "quantize", str(out), "--weights", str(out.with_suffix(".pt")),
                          "--scheme", "weight:6:affine", "--per-channel", "-o",
                          str(tmp_path / "q.json"), "--json")
    assert code == 0 and json.loads(stdout)["bytes_after"] < report["bytes_after"] / 4


def test_magnitude_pruning_reports_sparsity(trained_lenet5, tmp_path, capsys):
    _, weights, _ = trained_lenet5
    code, stdout, _ = run(capsys, "prune", "lenet5", "--weights", str(weights), "--method",
                          "magnitude", "--amount", "0.8", "-o", str(tmp_path / "m.json"), "--json")
    report = json.loads(stdout)
    assert code == 0 and report["sparsity"] == pytest.approx(0.8, abs=0.01)
    assert report["params_after"] == report["params_before"]
    state = torch.load(tmp_path / "m.pt", weights_only=True)
    assert (state["c5.weight"] == 0).float().mean().item() == pytest.approx(0.8, abs=0.01)


def test_int8_static_writes_torchscript_with_the_report(trained_lenet5, tmp_path, capsys):
    _, weights, _ = trained_lenet5
    out = tmp_path / "int8.pt"
    code, stdout, _ = run(capsys, "quantize", "lenet5", "--weights", str(weights), "--scheme",
                          "int8-static", "--dataset", "digits", "--calibration-batches", "5",
                          "-o", str(out), "--json")
    assert code == 0
    report = json.loads(stdout)
    assert report["bytes_before"] >= 3.5 * report["bytes_after"]
    assert report["val_top1_error_after"] <= report["val_top1_error_before"] + 0.01
    assert {row["layer"] for row in report["layers"]} == {"c1", "c3", "c5", "f6", "f7"}
    module = torch.jit.load(str(out))
    assert module(torch.zeros(2, 1, 32, 32)).shape == (2, 10)


def test_factorize_and_compress_report(trained_lenet5, tmp_path, capsys):
    _, weights, _ = trained_lenet5
    out = tmp_path / "f.json"
    code, stdout, _ = run(capsys, "factorize", "lenet5", "--weights", str(weights), "--rank", "8",
                          "--layers", "f6", "-o", str(out), "--json")
    report = json.loads(stdout)
    assert code == 0 and report["layers"][0]["rank"] == 8
    assert 0 < report["output_relative_error"] < 1
    graph = load_design(str(out))
    load_model(graph, out.with_suffix(".pt"))
    assert graph.nodes["f6_lowrank"].params["out_features"] == 8

    code, stdout, _ = run(capsys, "compress-report", "lenet5", "--weights", str(weights),
                          "--dataset", "digits", "--json")
    report = json.loads(stdout)
    assert code == 0 and set(REPORT_FIELDS) <= set(report)
    sizes = [stage["bytes"] for stage in report["stages"]]
    assert [s["stage"] for s in report["stages"]] == ["dense", "pruned", "quantized", "huffman"]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] == report["bytes_before"]


def test_bad_input_is_one_sentence_and_exit_2(trained_lenet5, tmp_path, capsys):
    _, weights, _ = trained_lenet5
    existing = tmp_path / "exists.json"
    existing.write_text("keep me")
    cases = [
        (["prune", "lenet5", "--weights", str(weights), "--amount", "1.2", "-o",
          str(tmp_path / "a.json")], "between 0 and 1"),
        (["prune", "resnet18", "--weights", str(weights), "-o", str(tmp_path / "b.json")],
         "do not fit the design"),
        (["factorize", "lenet5", "--weights", str(weights), "--rank", "4", "--layers", "relu1",
          "-o", str(tmp_path / "c.json")], "relu1 cannot be factorised"),
        (["quantize", "lenet5", "--weights", str(weights), "--scheme", "int8-static", "-o",
          str(tmp_path / "d.pt")], "calibrates on data"),
        (["quantize", "lenet5", "--weights", str(weights), "--scheme", "int8-static", "-o",
          str(tmp_path / "d.json")], "TorchScript"),
        (["prune", "lenet5", "--weights", str(weights), "-o", str(existing)], "--force"),
    ]
    for argv, words in cases:
        code, stdout, stderr = run(capsys, *argv)
        assert code == 2, argv
        assert stderr.startswith("designer: ") and words in stderr and stderr.count("\n") == 1
    assert existing.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.json"]
    code, _, _ = run(capsys, "prune", "lenet5", "--weights", str(weights), "-o", str(existing),
                     "--force", "--json")
    assert code == 0 and json.loads(existing.read_text())["format"] == "cnn-designer"


def test_quantized_engine_missing_is_one_sentence():
    from designer.compress.measure import CompressError
    from designer.compress.quantize import quantized_engine
    assert quantized_engine() in torch.backends.quantized.supported_engines
    with pytest.raises(CompressError, match="no quantized CPU engine .*cannot run here"):
        quantized_engine(["none"])


def test_substitute_makes_a_convolution_cheaper_and_keeps_the_other_weights(trained_lenet5,
                                                                           tmp_path, capsys):
    _, weights, _ = trained_lenet5
    out = tmp_path / "s.json"
    code, stdout, _ = run(capsys, "substitute", "lenet5", "--weights", str(weights), "--layer",
                          "c5", "--with", "separable", "-o", str(out), "--json")
    report = json.loads(stdout)
    assert code == 0 and report["params_after"] < report["params_before"]
    assert "c5.depthwise.weight" in report["notes"][0]
    graph = load_design(str(out))
    assert graph.nodes["c5"].type == "SeparableConv2d"
    state = torch.load(out.with_suffix(".pt"), weights_only=True)
    original = torch.load(weights, weights_only=True)["model"]
    assert torch.equal(state["c3.weight"], original["c3.weight"])
    code, _, stderr = run(capsys, "substitute", "lenet5", "--weights", str(weights), "--layer",
                          "c1", "--with", "ghost", "-o", str(tmp_path / "g.json"))
    assert code == 2 and "same output shape" in stderr


def test_ghost_substitution_inside_a_block():
    from designer.compress.substitute import substitute
    from designer.core.compile import compile_graph
    from designer.core.infer import Analyzer
    graph = load_design("resnet18")
    graph.set_params("input", shape=(3, 32, 32))
    cheaper = substitute(graph, "layer1.0.conv1", "ghost")
    assert cheaper.nodes["layer1.0"].subgraph.nodes["conv1"].type == "GhostModule"
    assert Analyzer(cheaper).totals.params < Analyzer(graph).totals.params
    assert compile_graph(cheaper).eval()(torch.zeros(1, 3, 32, 32)).shape == (1, 1000)


def test_iterative_pruning_and_lottery_ticket_rewinding(trained_lenet5, tmp_path, capsys):
    _, weights, _ = trained_lenet5
    torch.manual_seed(1)
    initial = tmp_path / "init.pt"
    torch.save(compile_graph(load_design("lenet5")).state_dict(), initial)
    out = tmp_path / "it.json"
    code, stdout, _ = run(capsys, "prune", "lenet5", "--weights", str(weights), "--amount", "0.75",
                          "--iterations", "2", "--rewind", str(initial), "-o", str(out), "--json")
    assert code == 0
    report = json.loads(stdout)
    c5 = next(row for row in report["layers"] if row["layer"] == "c5")
    assert c5["filters_after"] == 30                 # 120 → 60 → 30: half of the rest each round
    state = torch.load(out.with_suffix(".pt"), weights_only=True)
    init = torch.load(initial, weights_only=True)
    # The first round's survivors were rewound to their initial values: every kept c1 filter is
    # one of the initial filters.
    for kept in state["c1.weight"]:
        assert any(torch.equal(kept, original) for original in init["c1.weight"])
    code, stdout, _ = run(capsys, "prune", "lenet5", "--weights", str(weights), "--method",
                          "magnitude", "--amount", "0.75", "--iterations", "3", "-o",
                          str(tmp_path / "m.json"), "--json")
    assert code == 0 and json.loads(stdout)["sparsity"] == pytest.approx(0.75, abs=0.01)


def test_auxiliary_heads_keep_their_weights(tmp_path, capsys):
    """A design with an auxiliary classifier: its head's weights travel into every result."""
    from designer.core.builder import GraphBuilder
    from designer.core.fileformat import save
    b = GraphBuilder("with aux")
    x = b.add("Conv2d", "conv", b.input((1, 8, 8)), out_channels=6, kernel=3, padding=1)
    x = b.add("Conv2d", "conv2", b.add("ReLU", "relu", x), out_channels=8, kernel=3, padding=1)
    f = b.add("Flatten", "flatten", x)
    b.output(b.add("Linear", "fc", f, out_features=10))
    b.output(b.add("Linear", "aux_fc", f, out_features=10), "aux", role="auxiliary",
             loss_weight=0.3)
    design = tmp_path / "aux.json"
    save(b.finish(), design)
    torch.manual_seed(0)
    weights = tmp_path / "aux.pt"
    torch.save(compile_graph(load_design(str(design))).state_dict(), weights)
    original = torch.load(weights, weights_only=True)
    for argv in (["prune", "--method", "l1"], ["prune", "--method", "magnitude"],
                 ["quantize", "--scheme", "weight:8:linear"], ["factorize", "--rank", "2",
                                                               "--layers", "fc"]):
        out = tmp_path / f"{argv[0]}_{argv[-1]}.json"
        code, _, stderr = run(capsys, argv[0], str(design), "--weights", str(weights), *argv[1:],
                              "-o", str(out))
        assert code == 0, stderr
        state = torch.load(out.with_suffix(".pt"), weights_only=True)
        result = load_design(str(out))
        model = compile_graph(result)
        model.load_state_dict(state)          # strict: the auxiliary head is there too
        if argv[0] != "prune" or argv[2] == "magnitude":
            assert torch.equal(state["aux_fc.bias"], original["aux_fc.bias"])


def test_quantisation_aware_training(trained_lenet5, tmp_path, capsys):
    """int8-qat trains with fake quantisation through the training engine, then converts."""
    _, weights, _ = trained_lenet5
    out = tmp_path / "qat.pt"
    code, stdout, stderr = run(capsys, "quantize", "lenet5", "--weights", str(weights),
                               "--scheme", "int8-qat", "--dataset", "digits",
                               "--finetune-epochs", "1", "--batch-size", "256", "-o", str(out),
                               "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["bytes_before"] >= 3.5 * report["bytes_after"]
    assert report["val_top1_error_after"] <= report["val_top1_error_before"] + 0.01
    assert any("PT2E" in note for note in report["notes"])       # no fx fallback for LeNet-5
    module = torch.jit.load(str(out))
    assert module(torch.zeros(1, 1, 32, 32)).shape == (1, 10)
    code, _, stderr = run(capsys, "quantize", "lenet5", "--weights", str(weights), "--scheme",
                          "int8-qat", "--dataset", "digits", "-o", str(tmp_path / "q2.pt"))
    assert code == 2 and "--finetune-epochs" in stderr


def test_compress_report_without_a_dataset_leaves_errors_null(trained_lenet5, capsys):
    _, weights, _ = trained_lenet5
    code, stdout, _ = run(capsys, "compress-report", "lenet5", "--weights", str(weights), "--json")
    report = json.loads(stdout)
    assert code == 0 and report["val_top1_error_before"] is None
    assert all(stage["val_top1_error"] is None for stage in report["stages"])
    assert report["bytes_after"] < report["bytes_before"] / 5


@pytest.mark.parametrize("flags, sentence", [
    (["--layer-amounts", "nosuch=0.5"], "the design has no layer 'nosuch'"),
    (["--layers", "c1", "nosuch"], "the design has no layer 'nosuch'"),
    (["--layers", "s2"], "no filters can be pruned in the layer 's2'"),
])
def test_prune_refuses_layers_that_match_nothing(flags, sentence, tmp_path, capsys):
    """Issue 28, item 11: an unknown layer is named, not ignored."""
    torch.manual_seed(0)
    weights = tmp_path / "w.pt"
    torch.save(compile_graph(load_design("lenet5")).state_dict(), weights)
    out = tmp_path / "p.json"
    code, _, err = run(capsys, "prune", "lenet5", "--weights", str(weights), "-o", str(out),
                       *flags)
    assert code == 2 and err.startswith("designer: ") and sentence in err, err
    assert "c1, c3, c5" in err and not out.exists()
