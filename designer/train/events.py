"""The events a training run yields, one small dataclass per kind, shared by the loop that makes
them (`designer.train.loop`), the CLI printer, the GUI worker and the Train panel.

Qt-free and torch-free: every field is a number, a string, a bool, None, or a list/dict of those,
so `to_dict()` is JSON as `designer train --json` prints it.

    for event in Trainer(graph, config).run():
        if isinstance(event, Epoch):
            print(event.epoch, event.val_top1_error)
"""

from dataclasses import asdict, dataclass, field
from typing import ClassVar

# The columns of metrics.csv, the rows of a run's history, and the metrics of an `Epoch` event.
METRIC_FIELDS = ("epoch", "train_loss", "train_top1_error", "train_top5_error", "val_loss",
                 "val_top1_error", "val_top5_error", "lr", "images_per_s", "epoch_time_s",
                 "peak_memory_mb")


@dataclass
class Event:
    kind: ClassVar[str] = ""

    def to_dict(self):
        return {"kind": self.kind, **asdict(self)}


@dataclass
class Start(Event):
    """The run is set up: sizes and device; on resume the history so curves continue."""
    kind: ClassVar[str] = "start"
    run_dir: str
    device: str
    dataset: str                  # the dataset's title, e.g. "UCI digits"
    epochs: int
    steps_per_epoch: int
    total_steps: int
    train_size: int
    val_size: int
    classes: int
    parameters: int
    resumed_epoch: int = 0
    history: list = field(default_factory=list)     # one METRIC_FIELDS dict per finished epoch
    step_log: list = field(default_factory=list)    # (loss, lr) per finished step
    world_size: int = 1
    amp: str | None = None        # "bfloat16" or "float16" under mixed precision
    trainable_parameters: int | None = None   # the rest are frozen
    # What the starting weights loaded: source, loaded, total, and [name, shape...] lists of
    # the tensors that did not (mismatched, missing, unexpected, renewed); None without weights.
    weights: dict | None = None


@dataclass
class Step(Event):
    kind: ClassVar[str] = "step"
    step: int                     # optimiser steps done, counted from 1
    epoch: int                    # the epoch it belongs to, counted from 1
    epoch_progress: float         # fractional epochs done (the x axis of step plots)
    loss: float
    lr: float
    images_per_s: float
    progress: float               # 0..1 of the whole run
    eta_s: float


@dataclass
class Epoch(Event):
    kind: ClassVar[str] = "epoch"
    epoch: int
    train_loss: float
    train_top1_error: float
    train_top5_error: float
    val_loss: float
    val_top1_error: float
    val_top5_error: float
    lr: float
    images_per_s: float
    epoch_time_s: float
    peak_memory_mb: float | None
    best: bool                    # the best validation top-1 error so far
    eta_s: float
    progress: float

    def metrics(self):
        """The history row of this epoch (the METRIC_FIELDS)."""
        return {name: getattr(self, name) for name in METRIC_FIELDS}


@dataclass
class Paused(Event):
    kind: ClassVar[str] = "paused"
    step: int


@dataclass
class Resumed(Event):
    kind: ClassVar[str] = "resumed"
    step: int


@dataclass
class Message(Event):
    """A note for the person (e.g. which weights loaded)."""
    kind: ClassVar[str] = "message"
    text: str


@dataclass
class Finished(Event):
    """The last event: status "completed", "stopped" or "failed", with a sentence saying why."""
    kind: ClassVar[str] = "finished"
    status: str
    message: str
    epoch: int = 0
    step: int = 0
    best_val_top1_error: float | None = None
    run_dir: str | None = None
