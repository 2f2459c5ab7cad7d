"""The Qt side of the speed lab: QThreads that run the Qt-free engines (`designer.speed.profile`
and `designer.speed.sweep`) and hand their results to the GUI thread as signals. The GUI thread
only draws; an engine error ends the work with a sentence, never takes the editor down."""

from PySide6.QtCore import QThread, Signal


def _sentence(error):
    from designer.core.errors import DesignError
    return str(error) if isinstance(error, DesignError) else f"{type(error).__name__}: {error}"


class LatencyWorker(QThread):
    """Measures a frozen copy of a graph node by node (CPU, batch 1)."""
    measured = Signal(object, int)    # Timing, the graph version it was measured at
    failed = Signal(str)

    def __init__(self, graph, repeats=5, parent=None):
        super().__init__(parent)
        self.graph = graph.copy()        # editing the design cannot race the measurement
        self.version = graph.version
        self.repeats = repeats

    def run(self):
        try:
            from designer.speed.profile import measure
            timing = measure(self.graph, repeats=self.repeats, warmup=2)
        except Exception as error:  # noqa: BLE001 - shown as a sentence
            self.failed.emit(_sentence(error))
            return
        self.measured.emit(timing, self.version)


class ProfileWorker(QThread):
    """Runs `designer.speed.profile.profile()` (latency, memory access, roofline, hints) on a
    frozen copy of a graph."""
    profiled = Signal(dict)
    failed = Signal(str)

    def __init__(self, graph, batch=1, repeats=10, parent=None):
        super().__init__(parent)
        self.graph = graph.copy()
        self.batch = batch
        self.repeats = repeats

    def run(self):
        try:
            from designer.speed.profile import profile
            report = profile(self.graph, batch=self.batch, repeats=self.repeats, warmup=2)
        except Exception as error:  # noqa: BLE001 - shown as a sentence
            self.failed.emit(_sentence(error))
            return
        self.profiled.emit(report)


class SweepWorker(QThread):
    """Runs a `Sweep`; emits each finished trial's record and the per-epoch errors."""
    trial_started = Signal(dict)
    epoch = Signal(dict)
    trial = Signal(dict)
    finished_sweep = Signal(dict)     # {"status": "completed" | "stopped" | "failed", "message"}

    def __init__(self, make_sweep, parent=None):
        super().__init__(parent)
        self.make_sweep = make_sweep     # builds the Sweep in this thread (it opens the storage)
        self.sweep = None
        self._stop_requested = False

    def stop(self):
        self._stop_requested = True
        if self.sweep is not None:
            self.sweep.stop()

    def run(self):
        try:
            self.sweep = self.make_sweep()
            if self._stop_requested:
                self.sweep.stop()
            for record in self.sweep.records():      # a resumed study shows what it has
                self.trial.emit(record)
            for event in self.sweep.run():
                kind = event["kind"]
                if kind == "trial_start":
                    self.trial_started.emit(event)
                elif kind == "epoch":
                    self.epoch.emit(event)
                elif kind == "trial":
                    self.trial.emit(event["trial"])
                elif kind == "finished":
                    self.finished_sweep.emit({"status": event["status"],
                                              "message": f"{event['trials']} trial(s) done"})
        except Exception as error:  # noqa: BLE001 - shown as a sentence
            self.finished_sweep.emit({"status": "failed", "message": _sentence(error)})
