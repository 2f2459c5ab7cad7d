"""A tiny Qt-free signal that views observe (connect / disconnect / emit / blocked)."""

from contextlib import contextmanager


class Signal:
    """Calls every connected callback, in connection order, with the emitted arguments."""

    def __init__(self):
        self._callbacks = []
        self._blocked = 0

    def connect(self, callback):
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback):
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args):
        if self._blocked:
            return
        for callback in list(self._callbacks):
            callback(*args)

    @contextmanager
    def blocked(self):
        """Silence this signal inside the block (used to break widget <-> model echo loops)."""
        self._blocked += 1
        try:
            yield
        finally:
            self._blocked -= 1
