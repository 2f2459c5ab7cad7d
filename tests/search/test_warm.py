"""Warm starts (`designer sweep --warm-start`): which earlier trial is a parent, and a trial that
starts from its parent's weights grown keeping what they compute."""

import csv

import pytest

from designer.cli import main
from designer.core import fileformat
from designer.core.presets import load_design
from designer.search.grow import output_difference
from designer.search.study import make_sweep
from designer.search.warm import WARM_WEIGHTS, choose_parent, growth_edits
from designer.speed.sweep import parse_param
from designer.weights import read_state_dict

from .test_study import FAST

BASE = {"conv1.out_channels": 4, "fc1.out_features": 32, "conv2.kernel": 3, "lr": 0.05}


def _record(number, error, state="complete", **changes):
    return {"number": number, "state": state, "val_top1_error": error,
            "settings": {**BASE, **changes}, "run_dir": f"trial_{number}"}


def test_a_parent_only_widens_and_the_lowest_error_one_is_chosen():
    graph = load_design("reactor_digits")
    child = {**BASE, "conv1.out_channels": 8, "fc1.out_features": 64, "lr": 0.1}
    records = [
        _record(0, 0.30),                                    # both widths grew: a parent
        _record(1, 0.01, **{"conv1.out_channels": 8, "fc1.out_features": 64}),  # same design
        _record(2, 0.01, **{"conv1.out_channels": 16}),      # conv1 shrinks 16 -> 8
        _record(3, 0.01, **{"conv2.kernel": 5}),             # another kernel
        _record(4, 0.20, **{"fc1.out_features": 64}),        # conv1 grew: a parent
        _record(5, 0.20, **{"conv1.out_channels": 8}),       # fc1 grew: as good as 4, later
        _record(6, 0.001, state="pruned"),                   # not complete
    ]
    parent, edits = choose_parent(records, child, graph)
    assert parent["number"] == 5 and edits == [("fc1", 32, 64)]
    assert choose_parent(records[:1], child, graph)[1] == [("conv1", 4, 8), ("fc1", 32, 64)]
    assert choose_parent(records[1:4] + records[6:], child, graph) is None
    # a smaller child than every trial has no parent
    assert choose_parent(records, {**BASE, "conv1.out_channels": 2}, graph) is None
    # another block type, a width multiplier or another key set are not grown from
    assert growth_edits({"conv2.type": "BasicBlock"}, {"conv2.type": "Bottleneck"}, graph) is None
    assert growth_edits({"width": 0.5}, {"width": 1.0}, graph) is None
    assert growth_edits({"conv1.out_channels": 4}, {"fc1.out_features": 64}, graph) is None


def test_a_warm_trial_starts_from_its_parents_function(tmp_path):
    import torch
    from designer.compress.measure import load_model, top1_error, validation_data
    out = tmp_path / "warm"
    sweep = make_sweep("reactor_digits", params=[parse_param("conv1.out_channels=2,4"),
                                                 parse_param("fc1.out_features=16,32")],
                       warm_start=True, latency=False, out=out, **FAST)
    # the small design first, so the wide one has a parent
    sweep.study.enqueue_trial({"conv1.out_channels": 2, "fc1.out_features": 16})
    sweep.study.enqueue_trial({"conv1.out_channels": 4, "fc1.out_features": 32})
    sweep.trials = 2
    list(sweep.run())
    first, second = sweep.result()["trials"]
    assert first["parent"] is None and first["warm_start"] is None
    assert second["state"] == "complete" and second["parent"] == 0
    assert second["warm_start"] == "from trial 0: widened conv1 2→4, fc1 16→32"
    with open(out / "trials.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["parent"] for r in rows] == ["", "0"]
    assert rows[1]["warm_start"] == second["warm_start"]
    # the grown start computes what the parent's best weights compute
    parent_graph = fileformat.load(first["design"])
    parent_state = read_state_dict(first["run_dir"])
    graph = fileformat.load(second["design"])
    start = read_state_dict(f"{second['run_dir']}/{WARM_WEIGHTS}")
    assert output_difference(parent_graph, parent_state, graph, start) < 1e-5
    loader = validation_data("digits", graph)
    assert top1_error(load_model(graph, start), loader) == pytest.approx(
        top1_error(load_model(parent_graph, parent_state), loader))
    # and the trial trained from it: conv1's first two filters are still near the parent's
    trained = read_state_dict(second["run_dir"])["conv1.weight"][:2]
    kept = parent_state["conv1.weight"]
    assert torch.linalg.norm(trained - kept) < 0.5 * torch.linalg.norm(kept)


def test_a_parent_that_cannot_grow_leaves_the_trial_to_train_from_scratch(tmp_path):
    """A parent whose weights are gone: the trial trains from scratch, and says why."""
    out = tmp_path / "s"
    sweep = make_sweep("reactor_digits", params=[parse_param("conv1.out_channels=2,4")],
                       warm_start=True, latency=False, out=out, **FAST)
    parent = out / "trials" / "trial_0000"
    parent.mkdir(parents=True)
    fileformat.save(sweep._trial_graph({"conv1.out_channels": 2}), parent / "design.json")

    class Trial:
        number, user_attrs = 1, {}

        def set_user_attr(self, key, value):
            self.user_attrs[key] = value

    sweep.records = lambda: [{"number": 0, "state": "complete", "val_top1_error": 0.5,
                              "settings": {"conv1.out_channels": 2}, "run_dir": str(parent)}]
    graph = sweep._trial_graph({"conv1.out_channels": 4})
    trial = Trial()
    assert sweep._start_from(trial, {"conv1.out_channels": 4}, graph, out) == (graph, None)
    assert "parent" not in trial.user_attrs
    assert trial.user_attrs["warm_start"].startswith("from scratch: trial 0's weights did not "
                                                     "grow: ")
    assert "not a weights file" in trial.user_attrs["warm_start"]


def test_sweep_cli_takes_warm_start(tmp_path, capsys):
    assert main(["sweep", "reactor_digits", "--warm-start", "--dataset", "digits", "--out",
                 str(tmp_path / "s")]) == 2        # the flag parses; the sweep has no --param
    assert "at least one --param" in capsys.readouterr().err
