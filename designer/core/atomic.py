"""Atomic, durable file writes: the one way CNN Designer writes a file a person cares about.

`atomic_path(path)` yields a fresh temporary path beside `path` (`.NAME.XXXXXXXX.tmp`, unique per
call so two writers never share it). When the block ends normally the temporary file is flushed to
disk, renamed over `path` and the folder entry flushed too, so a crash or power cut leaves either
the old file or the new one, never half of one. On any failure the temporary file is removed.
The file gets the permissions any editor would give it: an existing file keeps its mode, a new one
gets 0666 minus the user's umask (not the 0600 of `tempfile.mkstemp`).

`atomic_paths(a, b, ...)` writes several files as one unit (a design and its weights): every
temporary file is written and flushed first, then all are renamed in a row, so a write that fails
or is killed while writing leaves every old file as it was.

Only regular files are written. A target that is a folder, a device, a FIFO or a socket is
refused with a sentence (renaming over /dev/null once replaced the device); a symlink to a regular
file (or to nothing yet) is written through, so the link stays and its target gets the new
content, as editors do.

`remove_stale_temps(folder)` deletes leftovers of writes that were killed (our own temporary
names only): at once when the process that wrote one has ended, or when the process now holding
its pid started after the file was last written (the pid was reused: that process did not write
it), else once older than a day; it runs before every atomic write and when a design is opened.
"""

from contextlib import contextmanager
import os
from pathlib import Path
import re
import secrets
import stat
import time

from .errors import WriteTargetError

STALE_AFTER_S = 24 * 3600
# .NAME.<writer's pid>-<8 hex>.tmp (older versions wrote .NAME.<8 hex>.tmp, without the pid)
_TEMP_NAME = re.compile(r"^\..+\.(?:(\d+)-)?[A-Za-z0-9_]{8}\.tmp$")
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


def temp_name(path):
    return f".{Path(path).name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"


def _kind(mode):
    """What a file of `mode` is, when it is no regular file ("a folder", "a FIFO (named pipe)")."""
    return next((text for test, text in _KINDS if test(mode)), "not a regular file")


def not_a_file(path):
    """What `path` is when it exists but is no regular file (through a symlink), e.g. "a FIFO
    (named pipe)"; None for a regular file or nothing. Readers ask before opening: reading a
    FIFO waits for a writer for ever."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else _kind(mode)


def writable_target(path):
    """The regular file `path` names (through a symlink), to be replaced; WriteTargetError when it
    is anything else, before anything is written."""
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    except OSError as error:
        raise WriteTargetError(f"{path}: cannot be written ({error.strerror or error})") from None
    if stat.S_ISREG(mode):
        return target
    shown = f"{path} (a link to {target})" if target != path else str(path)
    raise WriteTargetError(f"{shown} is {_kind(mode)}; give a file name to write")


def make_folder(path):
    """Create the folder `path` (with its parents) unless it exists; WriteTargetError with one
    sentence when it cannot be (a file is there, a parent is a file or a device, no permission)."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise WriteTargetError(f"{path} is not a folder; give a folder to write into") from None
    except NotADirectoryError:
        blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        why = f"{blocking} is not a folder" if blocking else "a part of it is not a folder"
        raise WriteTargetError(f"{path}: cannot make this folder: {why}") from None
    except OSError as error:
        raise WriteTargetError(f"{path}: cannot make this folder "
                               f"({error.strerror or error})") from None
    return path


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
    with atomic_paths(path) as (tmp,):
        yield tmp


@contextmanager
def atomic_paths(*paths):
    """Yield one temporary path (str) per target; on success all replace their targets, after
    every one is written and flushed; on failure none does and the temporary files go."""
    targets = [writable_target(path) for path in paths]
    temps = []
    try:
        for target in targets:
            temps.append(_new_temp(target))
        yield tuple(str(tmp) for tmp, _ in temps)
        for tmp, _ in temps:
            _fsync_file(tmp)
        for (tmp, mode), target in zip(temps, targets):
            if mode is not None:
                os.chmod(tmp, mode)
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in temps:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        raise
    for folder in {target.parent for target in targets}:
        _fsync_folder(folder)


def _new_temp(target):
    """(a new, empty temporary file beside `target`, the mode to give it: the old file's)."""
    folder = target.parent
    remove_stale_temps(folder)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError:
        mode = None
    while True:
        tmp = folder / temp_name(target)
        try:
            # 0o666 here lets the kernel apply the user's umask, as for any new file.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    os.close(fd)
    return tmp, mode


def write_text(path, text):
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_bytes(path, data):
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)


def remove_stale_temps(folder, older_than_s=STALE_AFTER_S):
    """Remove our temporary files in `folder` whose writer has ended, or that are older than
    `older_than_s`; returns their paths. Younger ones of a live writer may belong to a save still
    in progress, so they stay."""
    removed = []
    cutoff = time.time() - older_than_s
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if not match:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            writer = int(match.group(1)) if match.group(1) else None
            written = entry.stat(follow_symlinks=False).st_mtime
            if written < cutoff or (writer is not None and _ended(writer, written)):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def _ended(pid, written):
    """Whether the process `pid` that wrote a temporary file last modified at `written` has
    ended: no process has that pid, or the one that has it started after that write."""
    if not _alive(pid):
        return True
    started = _started_at(pid)
    return started is not None and written < started - PID_CLOCK_SLACK_S


PID_CLOCK_SLACK_S = 2.0   # /proc's start time is in clock ticks from a boot time in whole seconds


def _started_at(pid):
    """When process `pid` started (seconds since the epoch), where /proc tells (Linux); else
    None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()   # the name may hold spaces
        with open("/proc/stat", "rb") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith(b"btime"))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")   # field 22: starttime
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _alive(pid):
    """Whether process `pid` still runs (a temporary file of an ended writer is a leftover)."""
    if pid == os.getpid() or os.name == "nt":   # Windows' os.kill(pid, 0) would end it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True        # another user's process, or a platform that cannot tell: keep it
    return True
