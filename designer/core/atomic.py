"""Atomic, durable file writes: the one way CNN Designer writes a file a person cares about.

`atomic_path(path)` yields a fresh temporary path beside `path` (`.NAME.XXXXXXXX.tmp`, unique per
call so two writers never share it). When the block ends normally the temporary file is flushed to
disk, renamed over `path` and the folder entry flushed too, so a crash or power cut leaves either
the old file or the new one, never half of one. On any failure the temporary file is removed.
The file gets the permissions any editor would give it: an existing file keeps its mode, a new one
gets 0666 minus the user's umask (not the 0600 of `tempfile.mkstemp`).

`remove_stale_temps(folder)` deletes leftovers of writes that were killed (our own temporary
names only) once they are older than a day; it runs before each write and when a design is opened.
"""

from contextlib import contextmanager
import os
from pathlib import Path
import re
import secrets
import stat
import time

STALE_AFTER_S = 24 * 3600
_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def temp_name(path):
    return f".{Path(path).name}.{secrets.token_hex(4)}.tmp"


def _fsync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:          # folders cannot be opened on some platforms (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path):
    """Yield a temporary path (str) to write; on success it replaces `path` durably."""
    path = Path(path)
    folder = path.parent
    remove_stale_temps(folder)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = None
    while True:
        tmp = folder / temp_name(path)
        try:
            # 0o666 here lets the kernel apply the user's umask, as for any new file.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    os.close(fd)
    try:
        yield str(tmp)
        _fsync_file(tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


def write_text(path, text):
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_bytes(path, data):
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)


def remove_stale_temps(folder, older_than_s=STALE_AFTER_S):
    """Remove our temporary files in `folder` older than `older_than_s`; returns their paths.
    Younger ones may belong to a save still in progress, so they stay."""
    removed = []
    cutoff = time.time() - older_than_s
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not _TEMP_NAME.match(entry.name):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass
    return removed
