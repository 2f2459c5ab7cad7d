"""`designer.ui.jobs.Job`, the one way panels run long work: a generator's values arrive in order
and then its return value, a failure arrives as one sentence, Stop and Pause act between two
steps (or go to the work's own control), batched values arrive as lists, and `finished` is
always the last signal."""

import logging
import threading
import time

import pytest

from designer.core.errors import DesignError
from designer.train.loop import TrainControl
from designer.ui.jobs import Job

SIGNALS = ("started", "yielded", "progress", "paused", "resumed", "returned", "errored", "finished")


def recorded(job):
    """Every signal the job emits, in the order the GUI thread receives them: (name, *args)."""
    seen = []
    for name in SIGNALS:
        getattr(job, name).connect(lambda *args, name=name: seen.append((name, *args)))
    return seen


def run_to_end(qtbot, job, work, *args, **kwargs):
    with qtbot.waitSignal(job.finished, timeout=10_000):
        job.start(work, *args, **kwargs)
    assert job.wait(5_000)


@pytest.fixture
def job(qtbot):
    made = []

    def make(**options):
        made.append(Job(**options))
        return made[-1]
    yield make
    for each in made:          # a QThread must not be destroyed while its thread runs
        each.stop()
        each.wait(5_000)


def test_a_generator_yields_in_order_then_returns_and_finished_comes_last(qtbot, job):
    def squares(n):
        for i in range(n):
            yield i * i
        return "done"
    worker = job()
    seen = recorded(worker)
    run_to_end(qtbot, worker, squares, 4)
    assert seen == [("started",), ("yielded", 0), ("yielded", 1), ("yielded", 4), ("yielded", 9),
                    ("returned", "done"), ("finished",)]


def test_a_function_returns_its_value_and_reports_progress(qtbot, job):
    def add_up(values, progress):
        total = 0
        for i, value in enumerate(values, 1):
            total += value
            progress(i, len(values))
        return total
    worker = job()
    seen = recorded(worker)
    run_to_end(qtbot, worker, add_up, [5, 6, 7], progress=worker.progress.emit)
    assert seen == [("started",), ("progress", 1, 3), ("progress", 2, 3), ("progress", 3, 3),
                    ("returned", 18), ("finished",)]


def test_an_exception_becomes_a_sentence_and_is_logged_with_its_traceback(qtbot, job, caplog):
    def breaks():
        yield 1
        raise ValueError("the tensor is the wrong size")
    worker = job()
    seen = recorded(worker)
    with caplog.at_level(logging.ERROR, logger="designer.ui.jobs"):
        run_to_end(qtbot, worker, breaks)
    assert seen == [("started",), ("yielded", 1),
                    ("errored", "ValueError: the tensor is the wrong size"), ("finished",)]
    assert caplog.records and caplog.records[-1].exc_info[0] is ValueError   # the traceback


def test_a_design_error_is_its_own_sentence_and_not_logged(qtbot, job, caplog):
    def refuses():
        raise DesignError("the design has no Output node")
    worker = job()
    seen = recorded(worker)
    with caplog.at_level(logging.ERROR, logger="designer.ui.jobs"):
        run_to_end(qtbot, worker, refuses)
    assert seen == [("started",), ("errored", "the design has no Output node"), ("finished",)]
    assert not caplog.records


class GatedSteps:
    """A generator function that yields 1, waits for `gate`, then yields 2, 3, 4 and returns.
    `reached` lists the steps begun; `closed` is set when it is closed early."""

    def __init__(self):
        self.stepped, self.gate, self.closed = threading.Event(), threading.Event(), threading.Event()
        self.reached = []

    def __call__(self):
        try:
            for value in (1, 2, 3, 4):
                self.reached.append(value)
                yield value
                if value == 1:
                    self.stepped.set()
                    self.gate.wait(10)
        except GeneratorExit:
            self.closed.set()
            raise
        return "all four"

    def start_and_pause(self, qtbot, worker):
        """Start `worker` on these steps and pause it while step 1 waits: it holds after step 2."""
        with qtbot.waitSignal(worker.paused, timeout=10_000):
            worker.start(self)
            assert self.stepped.wait(10)
            worker.pause()
            self.gate.set()


def test_stop_between_steps_closes_the_generator_early(qtbot, job):
    steps, worker = GatedSteps(), job()
    seen = recorded(worker)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.start(steps)
        assert steps.stepped.wait(10)
        worker.stop()               # asked while step 1 waits: step 2 finishes, 3 never starts
        assert worker.stop_requested()
        steps.gate.set()
    assert steps.reached == [1, 2] and steps.closed.is_set()
    assert seen == [("started",), ("yielded", 1), ("yielded", 2), ("finished",)]   # no return


def test_pause_holds_the_generator_between_steps_until_resume(qtbot, job):
    steps, worker = GatedSteps(), job()
    seen = recorded(worker)
    steps.start_and_pause(qtbot, worker)
    qtbot.wait(200)
    assert steps.reached == [1, 2] and worker.isRunning()     # held: step 3 has not begun
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.resume()
    assert steps.reached == [1, 2, 3, 4] and not steps.closed.is_set()
    assert seen == [("started",), ("yielded", 1), ("yielded", 2), ("paused",), ("resumed",),
                    ("yielded", 3), ("yielded", 4), ("returned", "all four"), ("finished",)]


def test_stop_while_paused_ends_the_job(qtbot, job):
    steps, worker = GatedSteps(), job()
    seen = recorded(worker)
    steps.start_and_pause(qtbot, worker)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.stop()
    assert steps.reached == [1, 2] and steps.closed.is_set()
    assert [s[0] for s in seen] == ["started", "yielded", "yielded", "paused", "finished"]


def test_a_work_with_its_own_control_honours_it_itself(qtbot, job):
    """With `control=`, the job forwards Stop and Pause to it and never closes the generator:
    the work ends in its own way (as a training run records why it stopped)."""
    def counts_until_stopped(control, running):
        n = 0
        while not control.stopped:
            n += 1
            yield n
            running.set()
            time.sleep(0.001)
        yield "checkpoint written"      # its own way to end: a last step after Stop
        return f"stopped by the work after {n}"
    running = threading.Event()
    worker = job(control=TrainControl())
    seen = recorded(worker)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.start(counts_until_stopped, worker.control, running)
        assert running.wait(10)
        worker.pause()
        assert worker.control.paused       # forwarded; the work decides what pausing means
        worker.resume()
        worker.stop()
        assert worker.control.stopped
    names = [s[0] for s in seen]
    assert "paused" not in names and names[-2:] == ["returned", "finished"]
    assert seen[-3] == ("yielded", "checkpoint written")
    assert seen[-2][1].startswith("stopped by the work after ")


def test_batched_values_arrive_as_lists_and_others_alone_in_order(qtbot, job):
    def steps_then_epoch():
        for i in range(60):
            yield i
            time.sleep(0.002)
        yield "epoch 1"
        yield 60
        return "end"
    worker = job(batch=int, interval=0.02)
    seen = recorded(worker)
    run_to_end(qtbot, worker, steps_then_epoch)
    values = [s[1] for s in seen if s[0] == "yielded"]
    lists = [v for v in values if isinstance(v, list)]
    assert 2 <= len(lists) < 40 and all(lists)         # throttled: several lists, none empty
    flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
    assert flat == list(range(60)) + ["epoch 1", 60]   # every value, in order
    assert values[-2] == "epoch 1" and values[-1] == [60]   # the rest is sent before the end
    assert [s[0] for s in seen][-2:] == ["returned", "finished"]
