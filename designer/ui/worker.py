"""The Qt side of training: a QThread that drives the engine's event generator
(`designer.train.loop.Trainer.run`) and turns its events into signals for the GUI thread.

Step events arrive hundreds of times a second on a fast GPU; the worker batches them and emits
`steps` at most every `interval` seconds, so the GUI thread never floods. Everything else (start,
epoch, pause, resume, messages, the end) is emitted as it happens, after any batched steps.
Pause, resume and stop go through the engine's thread-safe `TrainControl`; the GUI never waits on
the worker. Exceptions from the engine end the run with `finished_run` status "failed" and a
sentence, so training can never take the editor down.
"""

import logging
import time
import traceback

from PySide6.QtCore import QThread, Signal

from designer.core.errors import DesignError
from designer.train.events import Epoch, Finished, Message, Paused, Resumed, Start, Step

log = logging.getLogger(__name__)


class TrainWorker(QThread):
    started_run = Signal(object)   # the `Start` event: sizes, device, history on resume
    steps = Signal(list)           # a batch of `Step` events
    epoch = Signal(object)         # an `Epoch` event
    paused = Signal()
    resumed = Signal()
    message = Signal(str)
    finished_run = Signal(object)  # the `Finished` event: status completed / stopped / failed
    def __init__(self, graph, config, weights=None, resume=None, interval=0.1, parent=None,
                 distill=None):
        super().__init__(parent)
        from designer.train.loop import TrainControl
        self.graph = graph.copy()          # a frozen copy: editing the design cannot race the run
        self.config = config
        self.weights = weights
        self.resume_from = resume
        self.interval = interval
        self.control = TrainControl()
        self.result = None
        self.distill = distill             # (teacher, teacher weights, temperature, alpha) or None

    def pause(self):
        self.control.pause()

    def resume(self):
        self.control.resume()

    def stop(self):
        self.control.stop()

    def run(self):
        pending = []
        last_emit = time.monotonic()

        def flush():
            nonlocal pending, last_emit
            if pending:
                self.steps.emit(pending)
                pending = []
            last_emit = time.monotonic()

        try:
            from designer.train.loop import Trainer
            loss = None
            if self.distill is not None:
                from designer.compress.distill import distillation_for
                loss = distillation_for(self.graph, *self.distill)
            trainer = Trainer(self.graph, self.config, control=self.control,
                              weights=self.weights, resume=self.resume_from, loss=loss)
            for event in trainer.run():
                if isinstance(event, Step):
                    pending.append(event)
                    if time.monotonic() - last_emit >= self.interval:
                        flush()
                    continue
                flush()
                if isinstance(event, Start):
                    self.started_run.emit(event)
                elif isinstance(event, Epoch):
                    self.epoch.emit(event)
                elif isinstance(event, Paused):
                    self.paused.emit()
                elif isinstance(event, Resumed):
                    self.resumed.emit()
                elif isinstance(event, Message):
                    self.message.emit(event.text)
                elif isinstance(event, Finished):
                    self.result = event
        except DesignError as error:
            flush()
            self.result = Finished("failed", str(error))
        except Exception as error:  # noqa: BLE001 - the GUI shows every failure as a sentence
            flush()
            log.exception("training failed")
            text = (f"training failed: {type(error).__name__}: {error}\n"
                    + traceback.format_exc(limit=4))
            self.result = Finished("failed", text)
        flush()
        if self.result is None:
            self.result = Finished("failed", "training ended without a result")
        self.finished_run.emit(self.result)
