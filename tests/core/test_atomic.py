"""The one atomic-write helper: durable, unique temporary names, cleanup, the user's umask."""

import os
import stat
import threading
import time

import pytest

from designer.core import atomic, fileformat
from designer.core.builder import GraphBuilder


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def _design():
    b = GraphBuilder("tiny")
    b.output(b.add("ReLU", "relu", b.input((1, 4, 4))))
    return b.finish(layout=False)


def _save_design(path):
    fileformat.save(_design(), path)


def _export_state_dict(path):
    from designer.export.exporter import export_design
    export_design(_design(), "state_dict", path)


def _save_checkpoint(path):
    import torch
    from designer.train.loop import atomic_save
    atomic_save({"format": "x", "t": torch.zeros(2)}, path)


WRITERS = {"design": (_save_design, "d.json"), "export": (_export_state_dict, "m.pth"),
           "checkpoint": (_save_checkpoint, "last.pt")}


@pytest.mark.parametrize("writer", WRITERS)
def test_new_files_follow_the_umask_and_leave_no_temp(tmp_path, umask_027, writer):
    write, name = WRITERS[writer]
    write(tmp_path / name)
    assert _mode(tmp_path / name) == 0o640            # 0666 minus umask 027, not mkstemp's 0600
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_overwriting_keeps_the_existing_mode(tmp_path):
    path = tmp_path / "d.json"
    path.write_text("old")
    os.chmod(path, 0o604)
    atomic.write_text(path, "new")
    assert path.read_text() == "new" and _mode(path) == 0o604


def test_a_failed_write_keeps_the_old_file_and_removes_the_temp(tmp_path):
    path = tmp_path / "d.json"
    path.write_text("precious")
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(path) as tmp:
            with open(tmp, "w") as handle:
                handle.write("half")
            raise RuntimeError("killed mid-write")
    assert path.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"]


def test_file_and_folder_are_flushed_to_disk(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    atomic.write_text(tmp_path / "d.json", "x")
    assert synced == [False, True]        # the file's data first, then the folder entry


def test_concurrent_writers_use_distinct_temp_files(tmp_path):
    path = tmp_path / "last.pt"
    seen, barrier = [], threading.Barrier(2)

    def write(text):
        with atomic.atomic_path(path) as tmp:
            seen.append(tmp)
            barrier.wait(timeout=10)       # both temp files exist at once
            with open(tmp, "w") as handle:
                handle.write(text)

    threads = [threading.Thread(target=write, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 2
    assert path.read_text() in ("a", "b")
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_stale_temps_older_than_a_day_are_removed(tmp_path):
    old = tmp_path / atomic.temp_name(tmp_path / "net.json")
    young = tmp_path / atomic.temp_name(tmp_path / "net.json")
    legacy = tmp_path / ".net.json.k3j_x9a2.tmp"   # tempfile.mkstemp's names from older versions
    foreign = tmp_path / "notes.tmp"               # not ours: never touched
    for p in (old, young, legacy, foreign):
        p.write_text("x")
    day_ago = time.time() - atomic.STALE_AFTER_S - 60
    for p in (old, legacy, foreign):
        os.utime(p, (day_ago, day_ago))
    removed = atomic.remove_stale_temps(tmp_path)
    assert sorted(removed) == sorted([old, legacy])
    assert young.exists() and foreign.exists()


@pytest.mark.skipif(atomic._started_at(os.getpid()) is None, reason="no /proc start times")
def test_a_temp_older_than_the_process_now_holding_its_pid_is_swept(tmp_path):
    """Issue 24, item 14: a killed writer's pid may be reused by a live process; a temporary file
    last written before that process started cannot be its, so it goes (a day need not pass)."""
    reused = tmp_path / atomic.temp_name(tmp_path / "net.json")      # this process's pid
    ours = tmp_path / atomic.temp_name(tmp_path / "net.pt")
    for p in (reused, ours):
        p.write_text("x")
    before_start = atomic._started_at(os.getpid()) - 60
    os.utime(reused, (before_start, before_start))
    assert atomic.remove_stale_temps(tmp_path) == [reused]
    assert ours.exists()            # written by this live process: a save may be under way


def test_opening_a_design_sweeps_its_folder(tmp_path):
    path = tmp_path / "net.json"
    fileformat.save(_design(), path)
    stale = tmp_path / atomic.temp_name(path)
    stale.write_text("{")
    os.utime(stale, (0, 0))
    fileformat.load(path)
    assert not stale.exists()


# -- hostile targets (issue 28): only regular files are replaced ------------------------------------

@pytest.mark.parametrize("make, kind", [
    (lambda p: os.mkfifo(p), r"a FIFO \(named pipe\)"),
    (lambda p: p.mkdir(), "a folder"),
])
def test_a_target_that_is_not_a_regular_file_is_refused_and_kept(tmp_path, make, kind):
    from designer.core.errors import WriteTargetError
    target = tmp_path / "out.json"
    make(target)
    with pytest.raises(WriteTargetError, match=f"out.json is {kind}; give a file name"):
        _save_design(target)
    assert not target.is_file() and target.exists()                 # still the FIFO or folder
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]      # no temporary file left


def test_a_device_is_refused(tmp_path):
    from designer.core.errors import WriteTargetError
    link = tmp_path / "null.json"
    link.symlink_to("/dev/null")
    with pytest.raises(WriteTargetError, match="a link to /dev/null.* is a device"):
        _save_design(link)
    assert link.is_symlink() and os.path.realpath(link) == "/dev/null"


def test_a_symlink_to_a_file_is_written_through(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    _save_design(link)
    assert link.is_symlink() and fileformat.load(target).nodes["relu"].type == "ReLU"


def test_a_pair_is_written_as_one_unit(tmp_path):
    first, second = tmp_path / "a.pt", tmp_path / "a.json"
    first.write_text("old weights")
    second.write_text("old design")
    with pytest.raises(RuntimeError):
        with atomic.atomic_paths(first, second) as (a, b):
            open(a, "w").write("new weights")
            raise RuntimeError("the second file could not be made")
    assert (first.read_text(), second.read_text()) == ("old weights", "old design")
    with atomic.atomic_paths(first, second) as (a, b):
        open(a, "w").write("new weights")
        open(b, "w").write("new design")
    assert (first.read_text(), second.read_text()) == ("new weights", "new design")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.pt"]


KILLED_SAVE = """
import sys, time
from designer.core.atomic import atomic_paths
with atomic_paths(sys.argv[1], sys.argv[2]) as (weights, design):
    with open(weights, "wb") as handle:
        handle.write(b"x" * 1_000_000)
        handle.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def test_a_save_killed_midway_keeps_the_old_pair_and_its_leftovers_are_swept(tmp_path):
    import signal
    import subprocess
    import sys
    weights, design = tmp_path / "net.pt", tmp_path / "net.json"
    weights.write_text("old weights")
    design.write_text("old design")
    writer = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(weights), str(design)],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "writing"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert (weights.read_text(), design.read_text()) == ("old weights", "old design")
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 2 and max(p.stat().st_size for p in leftovers) == 1_000_000
    # The next write in that folder sweeps them at once: their writer is gone.
    _save_design(tmp_path / "other.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "net.pt", "other.json"]
