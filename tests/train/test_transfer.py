"""Transfer learning in the training engine: frozen nodes stay bit-identical (batch norms in eval
mode), LR factors make parameter groups, a new head for the dataset's classes keeps every other
tensor, the weights report names what did not load with shapes, class subsets, and resume keeps
all of it. Tiny designs on the bundled digits, one epoch of a few steps each."""

import pytest
import torch

from designer.cli import main
from designer.core import fileformat
from designer.core.builder import GraphBuilder
from designer.core.compile import compile_graph
from designer.train.config import TrainConfig, TrainConfigError
from designer.train.data import build_data
from designer.train.loop import Schedule, Trainer, build_optimizer, load_checkpoint, train

from ..helpers import tiny_digits_net

FAST = dict(epochs=1, batch_size=256, lr=0.1, device="cpu", threads=1)


def bn_net(classes=10):
    """conv → batch norm → ReLU under the prefix `features`, then the classifier `fc`."""
    b = GraphBuilder("bn net")
    x = b.input((1, 8, 8))
    x = b.add("Conv2d", "features.conv", x, out_channels=4, kernel=3, padding=1)
    x = b.add("BatchNorm", "features.bn", x)
    x = b.add("ReLU", "features.relu", x)
    x = b.add("Flatten", "flatten", x)
    b.output(b.add("Linear", "fc", x, out_features=classes))
    return b.finish()


def saved_weights(graph, path, seed=1):
    """A locally made state_dict of `graph` with non-trivial batch-norm statistics."""
    torch.manual_seed(seed)
    state = compile_graph(graph).state_dict()
    for name, tensor in state.items():
        if "running" in name:
            tensor.uniform_(0.5, 1.5)
    torch.save(state, path)
    return state


def events_of(trainer):
    return list(trainer.run())


def test_frozen_nodes_are_bit_identical_and_their_batch_norms_stay_in_eval(tmp_path):
    graph = bn_net()
    start = saved_weights(graph, tmp_path / "start.pt")
    trainer = Trainer(graph, TrainConfig(**FAST, freeze=("features",), out=str(tmp_path / "run")),
                      weights=tmp_path / "start.pt")
    modes = []
    for event in trainer.run():
        if event.kind == "step":
            modes.append((trainer.model.training,
                          trainer.model.get_submodule("features.bn").training))
        if event.kind == "start":
            assert event.trainable_parameters == 4 * 64 * 10 + 10
    assert modes and all(modes_ == (True, False) for modes_ in modes)
    after = load_checkpoint(tmp_path / "run")["model"]
    for name in ("features.conv.weight", "features.conv.bias", "features.bn.weight",
                 "features.bn.bias", "features.bn.running_mean", "features.bn.running_var",
                 "features.bn.num_batches_tracked"):
        assert torch.equal(after[name], start[name]), name
    assert not torch.equal(after["fc.weight"], start["fc.weight"])   # the head trained


def test_without_freeze_the_same_run_changes_the_batch_norm(tmp_path):
    graph = bn_net()
    start = saved_weights(graph, tmp_path / "start.pt")
    events_of(Trainer(graph, TrainConfig(**FAST, out=str(tmp_path / "run")),
                      weights=tmp_path / "start.pt"))
    after = load_checkpoint(tmp_path / "run")["model"]
    assert not torch.equal(after["features.bn.running_mean"], start["features.bn.running_mean"])
    assert not torch.equal(after["features.conv.weight"], start["features.conv.weight"])


def test_lr_factors_make_parameter_groups_that_keep_their_ratio():
    model = compile_graph(bn_net())
    config = TrainConfig(lr=0.1, weight_decay=1e-3, schedule="cosine", epochs=2)
    optimizer = build_optimizer(model, config, {"fc": 10.0, "features.conv": 0.5})
    by_param = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    params = dict(model.named_parameters())
    assert by_param[id(params["fc.weight"])]["lr"] == pytest.approx(1.0)
    assert by_param[id(params["fc.weight"])]["weight_decay"] == 1e-3
    assert by_param[id(params["fc.bias"])]["weight_decay"] == 0.0
    assert by_param[id(params["features.conv.weight"])]["lr"] == pytest.approx(0.05)
    assert by_param[id(params["features.bn.weight"])]["lr"] == pytest.approx(0.1)
    assert len(optimizer.param_groups) == 5   # (decay, no decay) × factors 1, 10; conv's 0.5 ×2
    schedule = Schedule(optimizer, config, steps_per_epoch=4)
    for _ in range(3):
        optimizer.step()
        schedule.step_batch()
    fc, bn = by_param[id(params["fc.weight"])], by_param[id(params["features.bn.weight"])]
    assert fc["lr"] < 1.0 and fc["lr"] / bn["lr"] == pytest.approx(10.0)
    plain = build_optimizer(model, config)
    assert [len(g["params"]) for g in plain.param_groups] == [2, 4]   # weights, then the rest


def test_one_cycle_peaks_at_each_groups_own_rate():
    model = compile_graph(bn_net())
    config = TrainConfig(lr=0.1, schedule="onecycle", epochs=1)
    optimizer = build_optimizer(model, config, {"fc": 10.0})
    schedule = Schedule(optimizer, config, steps_per_epoch=10)
    assert sorted(g["max_lr"] for g in optimizer.param_groups) == pytest.approx(
        [0.1, 0.1, 1.0, 1.0])
    assert schedule.total == 10


def test_freeze_and_factors_from_the_design_and_flags_are_saved_and_resumed(tmp_path):
    graph = bn_net()
    graph.set_training("features.conv", frozen=True)
    graph.set_training("fc", lr_factor=4.0)
    start = saved_weights(graph, tmp_path / "start.pt")
    config = TrainConfig(**{**FAST, "epochs": 1}, freeze=("features.bn",),
                         lr_factor="features.bn=0.5", out=str(tmp_path / "run"))
    trainer = Trainer(graph, config, weights=tmp_path / "start.pt")
    events = events_of(trainer)
    messages = [e.text for e in events if e.kind == "message"]
    assert any(m.startswith("frozen: features.conv, features.bn") for m in messages)
    saved = load_checkpoint(tmp_path / "run")["config"]
    assert saved["freeze"] == ("features.conv", "features.bn")
    assert saved["lr_factor"] == "fc=4,features.bn=0.5"
    # --resume with the saved settings (and a design no longer marked) trains the same way.
    plain = bn_net()
    resumed = Trainer(plain, TrainConfig.from_dict({**saved, "epochs": 2}),
                      resume=tmp_path / "run")
    assert events_of(resumed)[-1].status == "completed"
    after = load_checkpoint(tmp_path / "run")
    assert after["epoch"] == 2
    for name in ("features.conv.weight", "features.bn.running_var", "features.bn.weight"):
        assert torch.equal(after["model"][name], start[name]), name
    factors = sorted(g["lr_factor"] for g in resumed.optimizer.param_groups)
    assert factors == [4.0, 4.0]   # only fc trains (weight and bias groups), at ×4


def test_new_head_gives_the_class_count_and_keeps_every_other_tensor(tmp_path):
    graph = tiny_digits_net()          # fc gives 10
    start = saved_weights(graph, tmp_path / "ten.pt")
    config = TrainConfig(**FAST, classes="5-9", new_head=True, freeze=("conv",),
                         out=str(tmp_path / "run"))
    events = events_of(Trainer(graph, config, weights=tmp_path / "ten.pt"))
    assert events[0].classes == 5
    report = events[0].weights
    assert report["loaded"] == 2 and report["total"] == 4
    assert report["renewed"] == [["fc.weight", [5, 256]], ["fc.bias", [5]]]
    assert report["missing"] == [] and report["mismatched"] == []
    model = load_checkpoint(tmp_path / "run")["model"]
    assert model["fc.weight"].shape == (5, 256) and model["fc.bias"].shape == (5,)
    assert torch.equal(model["conv.weight"], start["conv.weight"])
    assert torch.equal(model["conv.bias"], start["conv.bias"])
    recorded = fileformat.load(tmp_path / "run" / "design.json")
    assert recorded.nodes["fc"].params["out_features"] == 5
    assert graph.nodes["fc"].params["out_features"] == 10      # the caller's design untouched
    # Resuming from the original design re-heads it as the run was, so the designs agree.
    saved = load_checkpoint(tmp_path / "run")["config"]
    resumed = Trainer(graph, TrainConfig.from_dict({**saved, "epochs": 2}),
                      resume=tmp_path / "run")
    assert events_of(resumed)[-1].status == "completed"


def test_new_head_starts_new_even_when_the_shapes_agree(tmp_path):
    graph = tiny_digits_net()
    start = saved_weights(graph, tmp_path / "ten.pt")
    trainer = Trainer(graph, TrainConfig(**{**FAST, "lr": 1e-9}, new_head=True,
                                         out=str(tmp_path / "run")),
                      weights=tmp_path / "ten.pt")
    events = events_of(trainer)
    assert events[0].weights["renewed"] == [["fc.weight", [10, 256]], ["fc.bias", [10]]]
    assert not torch.allclose(trainer.model.get_submodule("fc").weight, start["fc.weight"])


def test_weights_report_names_every_tensor_that_did_not_fit_with_shapes(tmp_path, capsys):
    other = tiny_digits_net()
    other.set_params("conv", out_channels=8)
    state = compile_graph(other).state_dict()
    state["extra.weight"] = torch.zeros(3, 2)
    del state["conv.bias"]
    torch.save(state, tmp_path / "other.pt")
    design = tmp_path / "tiny.json"
    fileformat.save(tiny_digits_net(), design)
    code = main(["train", str(design), "--epochs", "1", "--batch-size", "512", "--threads", "1",
                 "--weights", str(tmp_path / "other.pt"), "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert code == 0
    assert "conv.weight: 4×1×3×3 in the design, 8×1×3×3 in the file (not loaded)" in out
    assert "conv.bias: 4 missing from the file (left as initialised)" in out
    assert "extra.weight: 3×2 in the file only (ignored)" in out
    assert "fc.weight: 10×256 in the design, 10×512 in the file (not loaded)" in out


def test_bad_freeze_and_factor_entries_are_sentences(tmp_path, capsys):
    code = main(["train", "reactor_digits", "--epochs", "1", "--freeze", "layer9",
                 "--out", str(tmp_path / "a")])
    assert code == 2
    assert "--freeze: 'layer9' is no node of the design" in capsys.readouterr().err
    with pytest.raises(TrainConfigError, match="expected NODE=FACTOR"):
        TrainConfig(lr_factor="fc:2").validate()
    with pytest.raises(TrainConfigError, match="must be above 0"):
        TrainConfig(lr_factor="fc=0").validate()
    code = main(["train", "reactor_digits", "--epochs", "1", "--freeze", "conv1,conv2,fc1,fc2",
                 "--out", str(tmp_path / "b")])
    assert code == 2
    assert "no trainable parameters (are all its nodes frozen?)" in capsys.readouterr().err


def test_classes_keep_a_subset_relabelled_in_order():
    full = build_data(TrainConfig(), (1, 8, 8))
    part = build_data(TrainConfig(classes="7,5-6"), (1, 8, 8))
    assert part.classes == ["7", "5", "6"] and part.num_classes == 3
    labels = part.train.labels
    assert set(labels.tolist()) == {0, 1, 2}
    assert int((labels == 0).sum()) == int((full.train.labels == 7).sum())
    assert torch.equal(part.train.images[labels == 0], full.train.images[full.train.labels == 7])
    with pytest.raises(Exception, match="neither a class of the dataset"):
        build_data(TrainConfig(classes="0-12"), (1, 8, 8))


def test_pretraining_on_some_classes_and_fine_tuning_on_others_runs_end_to_end(tmp_path):
    pre, _ = train(tiny_digits_net(), TrainConfig(**FAST, classes="0-4", new_head=True,
                                                  out=str(tmp_path / "pre")))
    _, finished = train(tiny_digits_net(), TrainConfig(**FAST, classes="5-9", new_head=True,
                                                       freeze=("conv",),
                                                       out=str(tmp_path / "fine")),
                        weights=tmp_path / "pre")
    assert finished.status == "completed"
