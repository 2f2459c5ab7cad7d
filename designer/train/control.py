"""Pause, resume and stop work running in another thread: torch-free, so the editor's jobs make
one without importing the training engine."""

import threading


class TrainControl:
    """Pause, resume and stop a running `Trainer` from another thread (checked between steps)."""

    def __init__(self):
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def stop(self):
        self._stop.set()
        self._running.set()     # a paused run must wake up to stop

    def pause(self):
        if not self._stop.is_set():
            self._running.clear()

    def resume(self):
        self._running.set()

    @property
    def stopped(self):
        return self._stop.is_set()

    @property
    def paused(self):
        return not self._running.is_set()

    def wait_while_paused(self):
        self._running.wait()
