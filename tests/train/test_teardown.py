"""A run releases what it holds on every exit path (issue 10, fix 10): data-loader worker
processes are joined and the TensorBoard writer closed, whether the run finishes, fails in setup
or its consumer stops reading. (The process group is covered by the DDP test in test_cli.py.)"""

import multiprocessing

import pytest

from designer.core.builder import GraphBuilder
from designer.train.config import TrainConfig
from designer.train.loop import Trainer, TrainingError


def tiny_net(classes=10):
    b = GraphBuilder("tiny")
    x = b.add("Flatten", "flatten", b.input((1, 8, 8)))
    b.output(b.add("Linear", "fc", x, out_features=classes))
    return b.finish()


def _workers():
    return [p for p in multiprocessing.active_children() if p.is_alive()]


def test_finished_run_joins_its_loader_workers(tmp_path):
    trainer = Trainer(tiny_net(), TrainConfig(epochs=1, batch_size=256, workers=2, fast_path=False, out=str(tmp_path)))
    events = list(trainer.run())
    assert events[-1].status == "completed"
    assert trainer.train_loader._iterator is None and trainer.val_loader._iterator is None
    assert _workers() == []
    assert trainer.tensorboard is None


def test_a_consumer_that_stops_reading_releases_the_workers(tmp_path):
    trainer = Trainer(tiny_net(), TrainConfig(epochs=2, batch_size=64, workers=2, fast_path=False, out=str(tmp_path)))
    run = trainer.run()
    for event in run:
        if event.kind == "step":
            assert _workers()                     # persistent workers are running now
            break
    run.close()                                   # e.g. the window dropping a stopped run
    assert _workers() == []
    assert trainer.tensorboard is None


def test_setup_failure_still_releases(tmp_path):
    trainer = Trainer(tiny_net(classes=3), TrainConfig(epochs=1, out=str(tmp_path)))
    with pytest.raises(TrainingError, match="has 10 classes"):
        next(trainer.run())
    assert trainer.tensorboard is None and not trainer.owns_process_group
