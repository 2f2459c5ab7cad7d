"""Long work off the GUI thread. Every panel runs its computations through one `Job`, after
napari's `create_worker` and superqt's `GeneratorWorker`: the job runs a function, or steps through
the generator a function returns, in its own thread and reports through signals. Qt delivers
them in the GUI thread, in the order they were emitted:

    started                 (QThread's) the work began
    yielded(value)          each value the generator yields; with `batch`, lists of those values
    progress(done, total)   what the work reports through `job.progress.emit`
    paused / resumed        the job held its generator between two steps (see `pause`)
    returned(value)         what the function or generator returned
    errored(sentence)       the work raised: see `error_sentence`
    finished                (QThread's) always last, after any of the others

    job = Job(parent=self)
    job.returned.connect(self.show_report)
    job.errored.connect(self.summary.setText)
    job.start(profile, graph.copy(), repeats=10)

Stop, pause and resume are requests. Without a `control` the job honours them between two steps
of a generator (a stopped generator is closed and returns nothing); a function honours Stop only
by asking `job.stop_requested()`. Work that honours a control of its own (the training engine's
`TrainControl`, a sweep's stop) gets that control as an argument, and the job is made with it:
`Job(control=...)` forwards its requests and leaves honouring them to the work.

Qt objects are destroyed only in the GUI thread (a worker thread once collected a window's QMenu
and deadlocked), so the work is given copies and plain data, never a widget: when the work ends,
the job's thread drops the last references to what it was given.
"""

import inspect
import logging
import time

from PySide6.QtCore import QThread, Signal

from designer.core.errors import DesignError

log = logging.getLogger(__name__)

BATCH_INTERVAL = 0.1    # seconds between two lists of batched values
_STOPPED = object()     # what a generator the job stopped returns


def error_sentence(error):
    """What the person reads for `error`: a `DesignError` is its own sentence; any other
    exception is a bug, shown as "TypeName: message" and logged with its traceback."""
    if isinstance(error, DesignError):
        return str(error)
    log.error("background work failed", exc_info=error)
    return f"{type(error).__name__}: {error}"


class Job(QThread):
    """One piece of work in its own thread; see the module docstring. `control` is the work's
    own stop switch (an object with `stop()` and `stopped`, and `pause()`/`resume()` where the
    work can pause), or None for the job's own. Yielded values of the type(s) `batch` arrive as
    lists, at most every `interval` seconds, so a generator yielding hundreds of steps a second
    cannot flood the GUI thread; any other value first sends the list gathered before it."""

    yielded = Signal(object)
    progress = Signal(int, int)
    paused = Signal()
    resumed = Signal()
    returned = Signal(object)
    errored = Signal(str)

    def __init__(self, control=None, batch=None, interval=BATCH_INTERVAL, parent=None):
        super().__init__(parent)
        self.work_honours_control = control is not None
        if control is None:
            from designer.train.control import TrainControl   # the engine's thread-safe switch
            control = TrainControl()
        self.control = control
        self.batch = batch
        self.interval = interval
        self._work = None

    def start(self, work, *args, **kwargs):
        """Run `work(*args, **kwargs)` in the job's thread. While PyTorch is still loading in
        the background (`warmup`), the work waits for it and the status bar says so."""
        from . import warmup
        warmup.say_if_waiting()
        self._work = (work, args, kwargs)
        super().start()

    def stop(self):
        self.control.stop()

    def pause(self):
        self.control.pause()

    def resume(self):
        self.control.resume()

    def stop_requested(self):
        """True once Stop was asked (a function that checks for Stop calls this)."""
        return self.control.stopped

    def run(self):
        work, args, kwargs = self._work
        self._work = None
        try:
            result = work(*args, **kwargs)
            if inspect.isgenerator(result):
                stepped = self._step_through(result)
                if stepped is _STOPPED:
                    return
                result = stepped
        except Exception as error:  # noqa: BLE001 - every failure becomes a sentence
            self.errored.emit(error_sentence(error))
            return
        self.returned.emit(result)

    def _step_through(self, generator):
        """Emit what `generator` yields; its return value, or _STOPPED when the job stopped it."""
        pending, sent_at = [], time.monotonic()

        def send_pending():
            nonlocal pending, sent_at
            if pending:
                self.yielded.emit(pending)
                pending = []
            sent_at = time.monotonic()

        try:
            while True:
                if not self.work_honours_control and self._held_or_stopped():
                    generator.close()
                    return _STOPPED
                try:
                    value = next(generator)
                except StopIteration as end:
                    return end.value
                if self.batch is not None and isinstance(value, self.batch):
                    pending.append(value)
                    if time.monotonic() - sent_at >= self.interval:
                        send_pending()
                    continue
                send_pending()
                self.yielded.emit(value)
        finally:
            send_pending()     # what was gathered arrives before the end (or the error)

    def _held_or_stopped(self):
        """Between two steps: wait while paused; True when the job must stop."""
        if self.control.paused:
            self.paused.emit()
            self.control.wait_while_paused()
            if not self.control.stopped:
                self.resumed.emit()
        return self.control.stopped

