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
