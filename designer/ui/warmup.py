"""PyTorch, loaded in the background once the window is on the screen.

The window (palette, canvas, summary, inspector) is built and painted without torch; `start()`
then imports torch and torchvision in a plain thread, so they are warm by the time the person
asks for something that needs them (compile, train, export, profile, insight). Work started
before then simply waits: Python's imports are thread-safe, and a second `import torch` blocks
until the first has finished. `waiting()` tells whether that wait is under way, so a job started
meanwhile can say "loading PyTorch…" in the status bar (`notifier.waiting`), and
`notifier.loaded` says when it is over.
"""

import gc
import logging
import threading

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)

LOADING_MESSAGE = "loading PyTorch…"

_thread = None


class _Notifier(QObject):
    waiting = Signal(str)   # a job is waiting for the import: the sentence for the status bar
    loaded = Signal()       # torch and torchvision are imported (delivered in the GUI thread)

    def __init__(self):
        super().__init__()
        self.loaded.connect(self._freeze)   # a slot of a GUI-thread object: runs in that thread

    @Slot()
    def _freeze(self):
        # What the import made never becomes garbage: leave it out of later collections, as
        # start-up's own objects are (app.freeze_startup_heap), without a collection now.
        gc.freeze()


notifier = None


def _import():
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001 - the work that needs torch reports it in its own words
        log.exception("PyTorch could not be imported in the background")
    if notifier is not None:
        notifier.loaded.emit()


def start():
    """Import torch and torchvision in a background thread (once; call from the GUI thread after
    the window's first paint)."""
    global _thread, notifier
    if _thread is not None:
        return _thread
    notifier = _Notifier()
    _thread = threading.Thread(target=_import, name="import torch", daemon=True)
    _thread.start()
    return _thread


def waiting():
    """True while the background import is still running."""
    return _thread is not None and _thread.is_alive()


def say_if_waiting():
    """Put "loading PyTorch…" in the status bar if work that needs torch would wait for it."""
    if waiting() and notifier is not None:
        notifier.waiting.emit(LOADING_MESSAGE)


def wait(timeout=None):
    """Block until the background import has finished (tests, and exiting cleanly)."""
    if _thread is not None:
        _thread.join(timeout)
