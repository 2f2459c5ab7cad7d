"""The training loop on CPU: accuracy on the bundled digits, exact resume, faults, auxiliary
losses, schedules and checkpoints that load with weights_only=True."""

import json
import math

import pytest
import torch

from designer.core.presets import load_design
from designer.train.config import TrainConfig, TrainConfigError
from designer.train.loop import (Schedule, TrainControl, Trainer, TrainingError, load_checkpoint,
                                 main_output_view, train)
from designer.core.compile import compile_graph

from ..helpers import tiny_digits_net


def test_lenet5_reaches_95_percent_on_digits(tmp_path):
    config = TrainConfig(epochs=6, batch_size=32, lr=0.05, out=str(tmp_path), seed=0)
    epochs, finished = train(load_design("lenet5"), config)
    assert finished.status == "completed"
    assert len(epochs) == 6
    accuracy = 1 - epochs[-1].val_top1_error
    assert accuracy >= 0.95, accuracy
    assert epochs[-1].train_loss < epochs[0].train_loss
    for name in ("metrics.csv", "steps.csv", "last.pt", "best.pt"):
        assert (tmp_path / name).is_file()
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert TrainConfig.from_dict(saved) == config and saved["batch_size"] == 32
    assert len((tmp_path / "metrics.csv").read_text().strip().splitlines()) == 7


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "dataloader"])
def test_resume_reproduces_the_next_epoch_exactly(tmp_path, fast_path):
    base = dict(epochs=3, batch_size=64, lr=0.05, seed=3, deterministic=True, flip=True,
                crop="pad", crop_padding=1, fast_path=fast_path)
    graph = tiny_digits_net()
    full, _ = train(graph, TrainConfig(**base, out=str(tmp_path / "full")))

    control = TrainControl()
    trainer = Trainer(graph, TrainConfig(**base, out=str(tmp_path / "cut")), control=control)
    for event in trainer.run():
        if event.kind == "epoch" and event.epoch == 2:
            control.stop()
        if event.kind == "finished":
            assert event.status == "stopped"
            assert "epoch 2" in event.message
    resumed = Trainer(graph, TrainConfig(**base, out=str(tmp_path / "cut")),
                      resume=tmp_path / "cut")
    events = list(resumed.run())
    assert resumed.fast_path == fast_path    # digits fit the fast path unless it is turned off
    start = events[0]
    assert start.resumed_epoch == 2 and len(start.history) == 2
    timing = {"images_per_s", "epoch_time_s"}
    assert [{k: v for k, v in row.items() if k not in timing} for row in start.history] == \
        [{k: v for k, v in e.metrics().items() if k not in timing} for e in full[:2]]
    third = [e for e in events if e.kind == "epoch"]
    assert [e.epoch for e in third] == [3]
    for name in ("train_loss", "val_loss", "val_top1_error", "val_top5_error", "train_top1_error",
                 "lr"):
        assert getattr(third[0], name) == getattr(full[2], name), name
    assert events[-1].status == "completed"
    assert len(load_checkpoint(tmp_path / "cut")["step_log"]) == 3 * resumed.steps_per_epoch


def test_checkpoint_loads_weights_only_with_model_key(tmp_path):
    train(tiny_digits_net(), TrainConfig(epochs=1, out=str(tmp_path)))
    data = torch.load(tmp_path / "last.pt", weights_only=True)
    assert set(data["model"]) == {"conv.weight", "conv.bias", "fc.weight", "fc.bias"}
    assert data["epoch"] == 1 and data["history"][0]["epoch"] == 1
    from designer.weights import read_state_dict
    assert set(read_state_dict(tmp_path / "best.pt")) == set(data["model"])


def test_weights_option_starts_from_a_checkpoint(tmp_path):
    graph = tiny_digits_net()
    first, _ = train(graph, TrainConfig(epochs=2, out=str(tmp_path / "a")))
    trainer = Trainer(graph, TrainConfig(epochs=1, lr=1e-6, out=str(tmp_path / "b")),
                      weights=tmp_path / "a" / "last.pt")
    events = list(trainer.run())
    assert any(e.kind == "message" and "loaded 4 of 4" in e.text for e in events)
    epoch = next(e for e in events if e.kind == "epoch")
    assert epoch.val_top1_error == pytest.approx(first[-1].val_top1_error, abs=0.02)


def test_nan_loss_stops_naming_the_step(tmp_path):
    events = list(Trainer(tiny_digits_net(), TrainConfig(epochs=2, lr=1e6, momentum=0.0,
                                                          weight_decay=0, out=str(tmp_path))).run())
    finished = events[-1]
    assert finished.status == "failed"
    assert "learning rate" in finished.message
    steps = [e.step for e in events if e.kind == "step"]
    assert all(math.isfinite(e.loss) for e in events if e.kind == "step")
    assert f"at step {steps[-1] + 1 if steps else 1}" in finished.message


def test_design_with_errors_cannot_start():
    graph = tiny_digits_net()
    graph.set_params("conv", kernel=11, padding="valid")   # larger than the 8×8 input
    with pytest.raises(TrainingError, match=r"1 error\(s\)[\s\S]*conv:"):
        next(Trainer(graph, TrainConfig(epochs=1)).run())


def test_class_count_is_checked():
    graph = tiny_digits_net()
    graph.set_params("fc", out_features=7)
    with pytest.raises(TrainingError, match="10 classes"):
        next(Trainer(graph, TrainConfig(epochs=1)).run())


def test_bad_settings_are_refused():
    with pytest.raises(TrainConfigError, match="learning rate"):
        TrainConfig(lr=-1).validate()
    with pytest.raises(TrainConfigError, match="unknown dataset"):
        TrainConfig(dataset="imagenet22k").validate()


def test_auxiliary_loss_weighted_in_training_dropped_in_evaluation(tmp_path):
    graph = tiny_digits_net(aux=True)
    model = compile_graph(graph)
    view = main_output_view(model)
    x = torch.randn(3, 1, 8, 8)
    main, aux = model(x)
    assert torch.equal(view(x), main)
    assert view.fc.weight is model.fc.weight
    assert not hasattr(view, "aux_fc")
    trainer = Trainer(graph, TrainConfig(epochs=1, out=str(tmp_path)))
    events = list(trainer.run())
    assert trainer.loss_weights == [1.0, 0.3]
    assert events[-1].status == "completed"


@pytest.mark.parametrize("schedule", ["constant", "step", "cosine", "onecycle", "plateau"])
def test_schedules_with_warmup(schedule):
    model = torch.nn.Linear(2, 2)
    config = TrainConfig(schedule=schedule, epochs=4, warmup_epochs=1, step_size=2, gamma=0.5,
                         patience=0, lr=0.1).validate()
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    sched = Schedule(optimizer, config, steps_per_epoch=10)
    lrs = []
    for epoch in range(4):
        for _ in range(10):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            sched.step_batch()
        sched.step_epoch(1.0)   # never improves: the plateau schedule decays
    assert max(lrs) <= 0.1 + 1e-9
    if schedule != "onecycle":
        assert lrs[0] == pytest.approx(0.01)          # warm-up starts at 1/10 of the rate
        assert lrs[9] == pytest.approx(0.1)
    if schedule == "step":
        assert lrs[25] == pytest.approx(0.05)
    if schedule == "cosine":
        assert lrs[-1] < 0.01
    if schedule == "plateau":
        assert lrs[-1] < 0.1
    state = sched.state_dict()
    again = Schedule(torch.optim.SGD(model.parameters(), lr=config.lr), config, 10)
    again.load_state_dict(state)
    assert again.steps_done == 40


def test_pause_and_stop_from_another_thread(tmp_path):
    import threading
    control = TrainControl()
    trainer = Trainer(tiny_digits_net(), TrainConfig(epochs=3, out=str(tmp_path)), control=control)
    kinds = []
    for event in trainer.run():
        kinds.append(event.kind)
        if event.kind == "step" and event.step == 3:
            control.pause()
        if event.kind == "paused":
            threading.Timer(0.05, control.resume).start()
        if event.kind == "step" and event.step == 5:
            control.stop()
    assert kinds.count("paused") == 1 and kinds.count("resumed") == 1
    assert kinds[-1] == "finished"
    assert kinds.count("step") == 5


def test_ten_crop_evaluation(tmp_path):
    epochs, finished = train(tiny_digits_net(), TrainConfig(epochs=1, eval_crop="ten",
                                                             out=str(tmp_path)))
    assert finished.status == "completed"
    assert 0 <= epochs[0].val_top1_error < 0.9


def test_out_of_memory_stops_with_advice_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    trainer = Trainer(tiny_digits_net(), TrainConfig(epochs=3, batch_size=64, out=str(tmp_path)))
    original = Trainer._autocast

    def autocast_that_runs_out(self):
        if self.epoch == 1 and self.step > self.steps_per_epoch + 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return original(self)

    monkeypatch.setattr(Trainer, "_autocast", autocast_that_runs_out)
    events = list(trainer.run())
    finished = events[-1]
    assert finished.status == "failed"
    assert "smaller batch (e.g. 32)" in finished.message
    assert "checkpoint of epoch 1 is kept" in finished.message
    assert load_checkpoint(tmp_path)["epoch"] == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_run_uses_mixed_precision_and_reports_memory(tmp_path):
    trainer = Trainer(load_design("lenet5"), TrainConfig(epochs=1, device="cuda", out=str(tmp_path)))
    events = list(trainer.run())
    assert events[0].device.startswith("cuda") and events[0].amp in ("bfloat16", "float16")
    epoch = next(e for e in events if e.kind == "epoch")
    assert epoch.peak_memory_mb > 0
    assert events[-1].status == "completed"


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "dataloader"])
def test_accumulated_steps_equal_one_batch_as_large(tmp_path, fast_path):
    """Two batches of 32 summed per step train exactly as batches of 64 do: the same steps, the
    same weights (the network has no BatchNorm, whose statistics would see 32 images)."""
    common = dict(epochs=1, lr=0.1, momentum=0.0, seed=5, crop="none", flip=False,
                  fast_path=fast_path)
    graph = tiny_digits_net()
    results = []
    for batch, accumulate in ((64, 1), (32, 2)):
        trainer = Trainer(graph, TrainConfig(**common, batch_size=batch,
                                             accumulate_steps=accumulate,
                                             out=str(tmp_path / f"b{batch}")))
        events = list(trainer.run())
        assert events[-1].status == "completed"
        steps = [e for e in events if e.kind == "step"]
        results.append((events[0].steps_per_epoch, [e.loss for e in steps],
                        {k: v.clone() for k, v in trainer.model.state_dict().items()}))
    (steps_a, losses_a, weights_a), (steps_b, losses_b, weights_b) = results
    assert steps_a == steps_b == len(losses_b)
    assert losses_a == pytest.approx(losses_b, rel=1e-5)
    for name, tensor in weights_a.items():
        assert torch.allclose(tensor, weights_b[name], atol=1e-6), name


def test_accumulated_steps_count_a_short_last_step():
    """An epoch of batches that do not divide by accumulate_steps ends with a shorter step."""
    graph = tiny_digits_net()
    trainer = Trainer(graph, TrainConfig(epochs=1, batch_size=100, accumulate_steps=4,
                                         fast_path=False))
    start = next(trainer.run())
    assert trainer.batches_per_epoch == 14           # 1,437 training digits, the last batch cut
    assert start.steps_per_epoch == 4                # 4 + 4 + 4 + 2 batches
    trainer.close()


def _folder_contents(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_resume_refuses_another_design_and_changes_nothing(tmp_path):
    graph = tiny_digits_net()
    config = TrainConfig(epochs=2, out=str(tmp_path))
    control = TrainControl()
    for event in Trainer(graph, config, control=control).run():
        if event.kind == "epoch":
            control.stop()                          # stopped after epoch 1: it can resume
    before = _folder_contents(tmp_path)
    assert {"design.json", "run.json", "settings.json", "last.pt"} <= set(before)
    info = json.loads(before["run.json"])
    assert info["status"] == "stopped" and info["design"] == "tiny"

    other = tiny_digits_net()
    other.set_params("conv", out_channels=8)        # trains on digits, but is not this run's
    with pytest.raises(TrainingError, match="another design named 'tiny'.*Nothing was changed"):
        next(Trainer(other, config, resume=tmp_path).run())
    other.set_metadata(name="wider")
    with pytest.raises(TrainingError, match="trained the design 'tiny', not 'wider'"):
        next(Trainer(other, config, resume=tmp_path).run())
    assert _folder_contents(tmp_path) == before

    # The same design moved around and renamed is the run's design: it resumes.
    same = tiny_digits_net()
    same.move("conv", (500.0, 80.0))
    same.set_metadata(name="renamed")
    events = list(Trainer(same, config, resume=tmp_path).run())
    assert events[-1].status == "completed" and [e.epoch for e in events if e.kind == "epoch"] == [2]
    assert json.loads((tmp_path / "run.json").read_text())["name"] == info["name"]


def test_a_finished_run_extends_to_more_epochs_appending_to_its_curves(tmp_path):
    graph = tiny_digits_net()
    config = TrainConfig(epochs=2, schedule="cosine", out=str(tmp_path))
    train(graph, config)
    metrics = (tmp_path / "metrics.csv").read_text().splitlines()
    steps = (tmp_path / "steps.csv").read_text().splitlines()
    with pytest.raises(TrainingError, match="already trained 2 epochs.*--epochs 4"):
        next(Trainer(graph, config, resume=tmp_path).run())    # not a silent no-op

    longer = TrainConfig(epochs=3, schedule="cosine", out=str(tmp_path))
    trainer = Trainer(graph, longer, resume=tmp_path)
    events = list(trainer.run())
    assert events[-1].status == "completed"
    assert [e.epoch for e in events if e.kind == "epoch"] == [3]
    per_epoch = trainer.steps_per_epoch
    assert [e.step for e in events if e.kind == "step"] == list(range(2 * per_epoch + 1,
                                                                      3 * per_epoch + 1))
    extended = (tmp_path / "metrics.csv").read_text().splitlines()
    assert extended[:3] == metrics and len(extended) == 4
    extended_steps = (tmp_path / "steps.csv").read_text().splitlines()
    assert extended_steps[:len(steps)] == steps and len(extended_steps) == 3 * per_epoch + 1
    # The added epoch follows the cosine of a 3-epoch run: it starts where that one is at epoch 2.
    first_added = next(e for e in events if e.kind == "step")
    optimizer = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=longer.lr)
    planned = Schedule(optimizer, longer, per_epoch)
    for _ in range(2 * per_epoch):
        optimizer.step()
        planned.step_batch()
    assert first_added.lr == pytest.approx(planned.per_step.get_last_lr()[0], rel=1e-6)
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "completed"


@pytest.mark.parametrize("schedule", ["cosine", "onecycle", "step"])
def test_an_extended_schedule_is_the_one_planned_for_the_new_total(schedule):
    """Extended from 2 to 4 epochs, a schedule goes on as one built for 4 epochs would (cosine
    and one-cycle depend on the total; step does not), and steps to the new end."""
    def config(epochs):
        return TrainConfig(schedule=schedule, epochs=epochs, step_size=1, gamma=0.5,
                           lr=0.1).validate()

    def schedule_for(epochs, state=None):
        model = torch.nn.Linear(2, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        sched = Schedule(optimizer, config(epochs), steps_per_epoch=10)
        if state is not None:                       # as the Trainer restores: optimizer first
            optimizer.load_state_dict(state[0])
            sched.load_state_dict(state[1])
        return optimizer, sched

    def run(optimizer, sched, steps):
        lrs = []
        for _ in range(steps):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            sched.step_batch()
        return lrs

    planned_optimizer, planned = schedule_for(4)
    planned_lrs = run(planned_optimizer, planned, 40)
    first_optimizer, first = schedule_for(2)
    first_lrs = run(first_optimizer, first, 20)
    optimizer, extended = schedule_for(4, (first_optimizer.state_dict(), first.state_dict()))
    extended_lrs = run(optimizer, extended, 20)
    if schedule == "step":
        assert first_lrs + extended_lrs == pytest.approx(planned_lrs)
    else:
        assert extended_lrs == pytest.approx(planned_lrs[20:])
        assert first_lrs[-1] < planned_lrs[20]      # the rate rises again when extended
        assert optimizer.param_groups[0]["momentum"] == pytest.approx(
            planned_optimizer.param_groups[0]["momentum"])
