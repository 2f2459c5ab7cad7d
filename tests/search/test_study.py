"""Structure search: the design's search space sampled by NSGA-II on error and latency under a
parameter bound (6 trials on digits, one epoch each), bounds and objectives parsed, the front."""

import json

import pytest

from designer.cli import main
from designer.core import fileformat, space
from designer.core.presets import load_design
from designer.search.objectives import (Constraint, front_of, parse_constraint, pareto_front,
                                        value_of)
from designer.search.study import LATENCY_CACHE, SearchSweep, make_sweep
from designer.speed.settings import SweepError
from designer.speed.sweep import Sweep

FAST = dict(dataset="digits", epochs=1, threads=1, train_settings={"batch_size": 128})


def spaced_design(path):
    graph = load_design("reactor_digits")
    space.SetSearchable(graph, "conv1", "out_channels", space.parse("2:16:2")).redo()
    space.SetSearchable(graph, "fc1", "out_features", space.parse("8,16,32,64")).redo()
    # a 9×9 kernel does not fit the 4×4 map conv2 sees: those samples are skipped, not trained
    space.SetSearchable(graph, "conv2", "kernel", space.parse("3,5,9")).redo()
    fileformat.save(graph, path)
    return path


@pytest.mark.parametrize("text, objective, bound", [
    ("latency<=5ms", "latency", 5.0), ("latency<=2s", "latency", 2000.0),
    ("latency<500us", "latency", 0.5), ("params<=1e6", "params", 1e6),
    ("macs<=20M", "macs", 20e6), ("bytes<=64k", "bytes", 64e3), ("error<=10%", "error", 0.1),
    ("error<=0.2", "error", 0.2)])
def test_constraints_read_their_units(text, objective, bound):
    c = parse_constraint(text)
    assert (c.objective, c.bound) == (objective, pytest.approx(bound))


@pytest.mark.parametrize("text", ["latency>=5ms", "speed<=3", "params<=-1", "latency<=5kg",
                                  "macs<=5ms"])
def test_a_bad_constraint_is_a_sentence(text):
    with pytest.raises(SweepError, match="--constraint"):
        parse_constraint(text)


def test_the_front_is_the_non_dominated_feasible_trials():
    assert sorted(pareto_front([(1, 5, 1), (2, 2, 2), (3, 3, 3), (1, 5, 0)])) == [1, 3]
    rows = [{"number": i, "state": "complete", "val_top1_error": e, "latency_ms": ms,
             "total_params": p} for i, (e, ms, p) in enumerate([(0.1, 5, 100), (0.2, 1, 100),
                                                               (0.05, 9, 900), (0.3, 2, 100)])]
    assert sorted(front_of(rows, ["error", "latency"])) == [0, 1, 2]   # 3 is beaten by 1
    within = [Constraint("params", 500, "params<=500")]
    assert sorted(front_of(rows, ["error", "latency"], within)) == [0, 1]
    assert value_of(rows[0], "bytes") == 400


def test_six_trial_search_over_the_design_space_ends_with_a_front(tmp_path):
    design = spaced_design(tmp_path / "space.json")
    sweep = make_sweep(design, space="design", objective=["error", "latency"],
                       constraint=["params<=2000"], trials=6, out=tmp_path / "search", **FAST)
    import optuna
    assert isinstance(sweep, SearchSweep)
    assert isinstance(sweep.study.sampler, optuna.samplers.NSGAIISampler)
    events = list(sweep.run())
    assert events[-1]["kind"] == "finished" and events[-1]["trials"] == 6
    result = sweep.result()
    trials = result["trials"]
    assert len(trials) == 6 and result["objectives"] == ["error", "latency"]
    assert {"conv1.out_channels", "fc1.out_features", "conv2.kernel"} == set(trials[0]["settings"])
    invalid = [t for t in trials if t["settings"]["conv2.kernel"] == 9]
    assert invalid, "seed 0 samples the 9×9 kernel"
    for t in invalid:   # skipped with the sentence, never trained
        assert t["state"] == "failed" and "kernel 9×9 is larger" in t["message"]
        assert not (tmp_path / "search" / "trials" / f"trial_{t['number']:04d}" /
                    "metrics.csv").exists()
    for t in trials:
        if t["total_params"] is not None and t["total_params"] > 2000:
            assert t["state"] == "pruned" and "params<=2000" in t["message"]
            assert t["over_budget"]
        else:
            assert not t["over_budget"]
    complete = [t for t in trials if t["state"] == "complete"]
    assert complete and all(t["total_params"] <= 2000 and t["latency_ms"] > 0 for t in complete)
    # the front: complete trials no other complete trial beats on both error and latency
    front = {t["number"] for t in complete if not any(
        o["val_top1_error"] <= t["val_top1_error"] and o["latency_ms"] <= t["latency_ms"]
        and (o["val_top1_error"], o["latency_ms"]) != (t["val_top1_error"], t["latency_ms"])
        for o in complete)}
    assert set(result["front"]) == front and front
    # the sampler sees the bound on every trial told
    told = [t for t in sweep.study.trials if t.state.name == "COMPLETE"]
    assert all(t.constraints == {"params<=2000": t.user_attrs["total_params"] - 2000}
               for t in told)
    # a complete trial is told one value per objective
    assert all(t.values == [t.user_attrs["val_top1_error"], t.user_attrs["latency_ms"]]
               for t in told)
    cache = json.loads((tmp_path / "search" / LATENCY_CACHE).read_text())
    assert len(cache) == len({t["design"] and fileformat.design_hash(fileformat.load(t["design"]))
                              for t in trials if t["latency_ms"] is not None})


def test_pruner_choice_and_its_limits(tmp_path):
    import optuna
    design = spaced_design(tmp_path / "space.json")
    one = make_sweep(design, space="design", pruner="hyperband", sampler="random", trials=2,
                     out=tmp_path / "one", **FAST)
    assert isinstance(one.study.pruner, optuna.pruners.HyperbandPruner)
    halving = make_sweep(design, space="design", pruner="halving", sampler="tpe", trials=2,
                         out=tmp_path / "halving", **FAST)
    assert isinstance(halving.study.pruner, optuna.pruners.SuccessiveHalvingPruner)
    with pytest.raises(SweepError, match="single-objective studies only"):
        make_sweep(design, space="design", objective=["error", "params"], pruner="hyperband",
                   out=tmp_path / "two", **FAST)
    from designer.speed.sweep import parse_param
    plain = make_sweep("reactor_digits", params=[parse_param("lr=0.1")], out=tmp_path / "plain",
                       **FAST)
    assert type(plain) is Sweep


def test_sweep_cli_refuses_a_design_without_a_space_and_bad_objectives(tmp_path, capsys):
    common = ["--dataset", "digits", "--out", str(tmp_path / "s"), "--epochs", "1"]
    assert main(["sweep", "lenet5", "--space", "design", *common]) == 2
    assert "marks no parameter searchable" in capsys.readouterr().err
    design = str(spaced_design(tmp_path / "space.json"))
    assert main(["sweep", design, "--space", "design", "--constraint", "latency<=5kg",
                 *common]) == 2
    assert "a latency is in ms" in capsys.readouterr().err
    assert main(["sweep", design, "--space", "design", "--objective", "error,speed",
                 *common]) == 2
    assert "unknown objectives 'speed'" in capsys.readouterr().err
