"""Writing export files atomically, with a clear sentence when the path is unusable."""

import os
from contextlib import contextmanager
from pathlib import Path

from designer.core import atomic
from designer.core.errors import DesignError


class ExportError(DesignError):
    """An export that cannot be done: an unusable path, or a model the format cannot hold."""


def check_writable(path):
    """ExportError unless a file can be created at `path`."""
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"{path} is a folder; give a file name to write")
    parent = path.parent
    if not parent.is_dir():
        raise ExportError(f"cannot write {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ExportError(f"cannot write {path}: permission denied")


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; on success it replaces `path`, else it is removed,
    so a failed export never leaves a half-written file behind."""
    check_writable(path)
    try:
        with atomic.atomic_path(path) as tmp:
            yield tmp
    except OSError as error:
        raise ExportError(f"cannot write {path}: {error.strerror or error}") from None
