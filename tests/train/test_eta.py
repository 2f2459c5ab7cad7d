"""The training ETA comes from measured step times only: start-up (loading data, building the
model) and the slow first step do not count, so the first ETA shown is not several times too
long. A fake clock makes every duration exact."""

import pytest

from designer.train import loop
from designer.train.config import TrainConfig
from designer.train.loop import Trainer

from ..helpers import tiny_digits_net

LOADING_DATA_S = 20.0
BUILDING_MODEL_S = 30.0
FIRST_STEP_S = 12.0       # warm-up: workers starting, caches filling, kernels chosen
STEP_S = 0.5


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_first_eta_is_measured_step_time_times_remaining_steps(tmp_path, monkeypatch):
    clock = FakeClock()
    build_data = loop.build_data

    def slow_build_data(*args, **kwargs):
        clock.now += LOADING_DATA_S
        return build_data(*args, **kwargs)

    monkeypatch.setattr(loop, "build_data", slow_build_data)
    training_forwards = []

    def time_each_step(module, args):
        if module.training:      # evaluation passes are not training steps
            clock.now += STEP_S if training_forwards else FIRST_STEP_S
            training_forwards.append(args[0].shape[0])

    def slow_prepare(model):
        clock.now += BUILDING_MODEL_S
        model.register_forward_pre_hook(time_each_step)
        return model

    # Losses synced every 4 steps, as on a GPU: the first ETA shown comes with step 4.
    config = TrainConfig(epochs=2, batch_size=64, log_every=4, seed=0, out=str(tmp_path))
    trainer = Trainer(tiny_digits_net(), config, prepare=slow_prepare)
    trainer.clock = clock
    events = list(trainer.run())

    assert events[-1].status == "completed"
    total = config.epochs * trainer.steps_per_epoch
    assert len(training_forwards) == total
    steps = [e for e in events if e.kind == "step"]
    first = steps[0]
    assert first.step == 1 and first.progress == pytest.approx(1 / total)
    # All four events of the first sync carry the ETA taken after step 4: steps 2-4 measured.
    assert first.eta_s == pytest.approx(STEP_S * (total - 4), rel=1e-9)
    # Counting from the start of the run (first step included) would give 6.75 times this,
    # counting from before start-up 32 times.
    epochs = [e for e in events if e.kind == "epoch"]
    assert [e.eta_s for e in epochs] == pytest.approx(
        [STEP_S * (total - e.epoch * trainer.steps_per_epoch) for e in epochs], rel=1e-9)
