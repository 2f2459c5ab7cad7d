"""Sweeps on the digits set: the CLI contract, a NaN trial, Stop, resuming, pruning, widths."""

import csv
import json

import pytest

from designer.cli import main
from designer.core import fileformat
from designer.core.infer import Analyzer
from designer.core.presets import load_design
from designer.speed.plot import pareto_front
from designer.speed.sweep import Sweep, SweepError, parse_param, scale_width

FAST = ["--threads", "1", "--train", "batch_size=128"]


def _rows(out):
    with open(out / "trials.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_cli_sweep_two_settings_by_three_widths(tmp_path, capsys):
    out = tmp_path / "sweep"
    code = main(["sweep", "reactor_digits", "--dataset", "digits", "--param", "lr=0.05,0.1",
                 "--param", "width=0.5,1.0,2.0", "--epochs", "1", "--out", str(out), "--json", *FAST])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    trials = result["trials"]
    assert [t["number"] for t in trials] == list(range(6))
    assert {(t["settings"]["lr"], t["settings"]["width"]) for t in trials} == {
        (lr, w) for lr in (0.05, 0.1) for w in (0.5, 1.0, 2.0)}
    for t in trials:
        assert t["state"] == "complete" and 0 <= t["val_top1_error"] <= 1
        assert t["latency_ms"] > 0 and (out / "trials" / f"trial_{t['number']:04d}" / "metrics.csv").exists()
        assert t["run_dir"].endswith(f"trial_{t['number']:04d}")
    # width scales the parameter count: 0.5 < 1.0 < 2.0, and 1.0 is the design itself
    # each trial's design is saved for the editor to open, with the width applied
    for t in trials:
        saved = fileformat.load(t["design"])
        assert saved.nodes["conv1"].params["out_channels"] == max(1, round(4 * t["settings"]["width"]))
    params = {t["settings"]["width"]: t["total_params"] for t in trials}
    assert params[0.5] < params[1.0] < params[2.0]
    assert params[1.0] == Analyzer(load_design("reactor_digits")).totals.params
    points = [(t["total_macs"], t["val_top1_error"]) for t in trials]
    assert result["pareto"] == [trials[i]["number"] for i in pareto_front(points)]
    assert len(_rows(out)) == 6 and (out / "tradeoff.png").read_bytes()[:4] == b"\x89PNG"


def test_nan_trial_is_recorded_and_the_study_resumes(tmp_path):
    out = tmp_path / "sweep"
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    common = dict(design="reactor_digits", dataset="digits", out=out, epochs=1, storage=storage,
                  prune=False, threads=1, train_settings={"batch_size": 128, "schedule": "constant"},
                  latency=False)
    params = [parse_param("lr=1e30,0.05,0.1")]
    first = Sweep(params=params, trials=2, **common)
    events = list(first.run())
    assert events[-1] == {"kind": "finished", "status": "completed", "trials": 2}
    states = {t["settings"]["lr"]: t for t in first.records()}
    assert len(states) == 2
    if 1e30 in states:                      # the grid order is the sampler's
        assert states[1e30]["state"] == "failed"
        assert "loss became" in states[1e30]["message"]
    # the same storage continues the study up to the grid's three points
    second = Sweep(params=params, **common)
    list(second.run())
    records = second.records()
    assert [t["number"] for t in records] == [0, 1, 2]
    assert sorted(t["settings"]["lr"] for t in records) == [0.05, 0.1, 1e30]
    by_lr = {t["settings"]["lr"]: t for t in records}
    assert by_lr[1e30]["state"] == "failed" and by_lr[1e30]["val_top1_error"] is None
    assert by_lr[0.05]["state"] == by_lr[0.1]["state"] == "complete"
    assert len(_rows(out)) == 3


def test_stop_keeps_finished_trials_and_resume_reruns_the_stopped_one(tmp_path):
    out = tmp_path / "sweep"
    common = dict(design="reactor_digits", dataset="digits", out=out, epochs=2, prune=False,
                  threads=1, train_settings={"batch_size": 128}, latency=False)
    params = [parse_param("width=0.5,1.0")]
    sweep = Sweep(params=params, **common)
    for event in sweep.run():
        if event["kind"] == "epoch" and event["number"] == 1:
            sweep.stop()                    # during the second trial
    records = sweep.records()
    assert [t["state"] for t in records] == ["complete", "failed"]
    assert records[1]["message"] == "stopped by the user"
    assert [r["state"] for r in _rows(out)] == ["complete", "failed"]
    again = Sweep(params=params, **common)
    list(again.run())
    records = again.records()
    assert [t["state"] for t in records] == ["complete", "failed", "complete"]
    assert records[2]["settings"] == records[1]["settings"]


def test_median_pruner_stops_a_trailing_trial(tmp_path):
    sweep = Sweep("reactor_digits", "digits", [parse_param("lr=0.1,0.000001")], out=tmp_path,
                  epochs=3, sampler="grid", prune_startup=1, threads=1, latency=False,
                  train_settings={"batch_size": 128, "schedule": "constant"})
    for lr in (0.1, 0.000001):          # the good one first, so it sets the median
        sweep.study.enqueue_trial({"lr": lr})
    list(sweep.run())
    states = {t["settings"]["lr"]: t["state"] for t in sweep.records()}
    assert states[0.1] == "complete"
    assert states[0.000001] == "pruned"


@pytest.mark.parametrize("name", ["resnet50", "densenet121", "squeezenet1_1"])
def test_width_scales_bottlenecks_growth_and_fire_modules(name):
    graph = load_design(name)
    before = Analyzer(graph).totals.params
    scale_width(graph, 0.5)
    analyzer = Analyzer(graph)
    assert analyzer.errors() == []
    # roughly a quarter of the weights (both ends of each layer halve); the classes stay
    assert analyzer.totals.params < 0.45 * before
    (output,) = graph.nodes_of_type("Output")
    edge = graph.in_edge(output.id, "in")
    assert analyzer.results[edge.src].outputs[edge.src_port].shape[0] == 1000


def test_mac_budget_prunes_big_designs_without_training(tmp_path):
    budget = Analyzer(load_design("reactor_digits")).totals.macs       # width 1.0 fits exactly
    sweep = Sweep("reactor_digits", "digits", [parse_param("width=2.0,1.0")], out=tmp_path,
                  epochs=1, threads=1, latency=False, max_macs=budget,
                  train_settings={"batch_size": 128})
    list(sweep.run())
    by_width = {t["settings"]["width"]: t for t in sweep.records()}
    assert by_width[1.0]["state"] == "complete"
    assert by_width[2.0]["state"] == "pruned" and "budget" in by_width[2.0]["message"]
    assert by_width[2.0]["total_macs"] > budget
    assert not (tmp_path / "trials" / f"trial_{by_width[2.0]['number']:04d}" / "metrics.csv").exists()


def test_width_keeps_group_convolutions_valid():
    graph = load_design("shufflenet_v1_g3")
    scale_width(graph, 0.3)
    assert Analyzer(graph).errors() == []
    for node in graph.nodes.values():
        if "out_channels" in node.params and "groups" in node.params:
            assert node.params["out_channels"] % node.params["groups"] == 0


@pytest.mark.parametrize("text, message", [
    ("lr", "expected NAME"), ("c1.out_channels=4:16", "three numbers"),
    ("c1.out_channels=16:4:4", "STOP"),
])
def test_bad_params_are_sentences(text, message):
    with pytest.raises(SweepError, match=message):
        parse_param(text)


def test_unknown_nodes_and_settings_fail_before_any_trial(tmp_path, capsys):
    assert parse_param("c1.out_channels=4:16:4").grid == [4, 8, 12, 16]
    code = main(["sweep", "reactor_digits", "--dataset", "digits", "--param",
                 "nope.out_channels=4,8", "--out", str(tmp_path)])
    assert code == 2 and "no node 'nope'" in capsys.readouterr().err
    code = main(["sweep", "reactor_digits", "--dataset", "digits", "--param", "speed=1,2",
                 "--out", str(tmp_path)])
    assert code == 2 and "not a training setting" in capsys.readouterr().err
    code = main(["sweep", "reactor_digits", "--dataset", "digits", "--param", "lr=0.1",
                 "--storage", "nosuchdb://host/db", "--out", str(tmp_path)])
    assert code == 2 and "cannot open the study storage" in capsys.readouterr().err


@pytest.mark.parametrize("argv, words", [
    (["--param", "conv1.out_channels=1:1000000000:1"], "the range has 1,000,000,000 values"),
    (["--param", "conv1.out_channels=1:100000:1", "--param", "conv2.out_channels=1:100:1"],
     "the grid has 10,000,000 combinations"),
    (["--param", "conv1.out_channels=1:1000000000:1", "--sampler", "random"],
     "--param conv1.out_channels=1000000000: out_channels: value 1000000000 is above"),
    (["--param", "conv1.out_channels=4,0"], "--param conv1.out_channels=0: out_channels"),
    (["--param", "lr=nan"], "--param lr=nan: learning rate: expected a number, got nan"),
    (["--param", "lr=0.1,inf"], "--param lr=inf: learning rate"),
    (["--param", "lr=0:nan:1"], "three finite numbers"),
    (["--param", "width=0"], "--param width=0: the width multiplier must be a number above 0"),
    (["--param", "width=1,-1"], "--param width=-1: the width multiplier"),
    (["--param", "batch_size=0,32"], "--param batch_size=0: batch size must be at least 1"),
    (["--param", "lr=0.1", "--train", "batch_size=0"], "batch size must be at least 1; got 0"),
    (["--param", "dataset=digits,nosuch"], "--param dataset=nosuch: unknown dataset 'nosuch'"),
    (["--param", "lr=0.1", "--train", "dataset=nosuch"], "unknown dataset 'nosuch'"),
    (["--param", "lr=0.1", "--trials", "0"], "trials must be at least 1; got 0"),
    (["--param", "lr=0.1", "--trials", "-3"], "trials must be at least 1; got -3"),
    (["--param", "lr=0.1", "--epochs", "0"], "epochs per trial must be at least 1; got 0"),
    (["--param", "lr=0.1", "--max-macs", "-1"], "MAC budget must be positive; got -1"),
    (["--param", "lr=0.1", "--train", "dataset=imagefolder"], "needs a data folder"),
])
def test_a_sweep_no_trial_could_run_is_refused_at_the_start(argv, words, tmp_path, capsys):
    """Issue 28, item 10: refused before the study, its folder or any trial exists."""
    out = tmp_path / "sweep"
    code = main(["sweep", "reactor_digits", "--dataset", "digits", "--out", str(out), *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("designer: ") and words in err, err
    assert not out.exists()


@pytest.mark.parametrize("out, words", [("file", "is not a folder"),
                                        ("/dev/null/x", "/dev/null is not a folder")])
def test_a_sweep_folder_that_cannot_be_made_is_a_sentence(out, words, tmp_path, capsys):
    """Issue 28, item 11."""
    if out == "file":
        out = tmp_path / "file"
        out.write_text("")
    code = main(["sweep", "reactor_digits", "--dataset", "digits", "--param", "lr=0.1",
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("designer: ") and words in err, err


def test_a_sweep_whose_every_trial_failed_exits_2(tmp_path, capsys):
    code = main(["sweep", "reactor_digits", "--dataset", "mnist", "--param", "lr=0.05,0.1",
                 "--train", "download=false", "--train", f"data_dir={tmp_path}", "--no-latency",
                 "--epochs", "1", "--out", str(tmp_path / "sweep")])
    err = capsys.readouterr().err
    assert code == 2 and "designer: every trial failed (2); trial 0: " in err, err
