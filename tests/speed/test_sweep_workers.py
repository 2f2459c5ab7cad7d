"""Several sweep workers on one study (issue 24, items 1-3, 6): real `designer sweep` processes
started together on a new SQLite database or journal file train each grid point exactly once,
and a worker killed mid-trial leaves a trial that is failed as lost and run again once.

A training start is counted by its run folder: `trials/trial_NNNN/design.json` is written just
before a trial trains, and a claim given up to another worker makes none."""

import csv
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

import pytest

from designer.speed.sweep import Sweep, parse_param

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--epochs", "1", "--no-latency", "--threads", "1", "--train", "batch_size=128"]


def _worker(out, grid, storage=None, extra=()):
    argv = [sys.executable, "-m", "designer", "sweep", "reactor_digits", "--dataset", "digits",
            "--param", grid, "--out", str(out), *FAST, *extra]
    if storage:
        argv += ["--storage", storage]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _trained(out):
    """The run folders trials trained in: one per training start."""
    return sorted(p.parent.name for p in (out / "trials").glob("trial_*/design.json"))


def _rows(out):
    with open(out / "trials.csv", newline="") as handle:
        return list(csv.DictReader(handle))


# Each takes 60-140 s on a loaded 2-core machine (import torch per process): the two-worker SQLite
# grid runs by default, the others are marked slow.
@pytest.mark.parametrize("workers, values, kind", [
    (2, "0.02,0.05,0.1", "sqlite"),
    pytest.param(4, "0.05,0.1", "sqlite", marks=pytest.mark.slow),
    pytest.param(2, "0.02,0.05,0.1", "journal", marks=pytest.mark.slow),
    pytest.param(4, "0.05,0.1", "journal", marks=pytest.mark.slow),
])
def test_workers_started_together_train_each_grid_point_once(workers, values, kind, tmp_path):
    out = tmp_path / "sweep"            # one folder: its study.db is the default shared storage
    storage = f"journal:{tmp_path / 'study.log'}" if kind == "journal" else None
    procs = [_worker(out, f"lr={values}", storage) for _ in range(workers)]
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (_, err) in zip(procs, results):
        assert proc.returncode == 0, err
    grid = sorted(float(v) for v in values.split(","))
    rows = _rows(out)
    assert sorted(float(r["lr"]) for r in rows) == grid
    assert {r["state"] for r in rows} == {"complete"}
    assert len(_trained(out)) == len(grid), _trained(out)


@pytest.mark.parametrize("kind", ["journal", pytest.param("sqlite", marks=pytest.mark.slow)])
def test_a_killed_workers_trial_fails_as_lost_and_runs_again_once(kind, tmp_path):
    out = tmp_path / "sweep"
    storage = f"journal:{tmp_path / 'study.log'}" if kind == "journal" else None
    grid = "lr=0.05,0.1"
    worker = _worker(out, grid, storage, extra=["--heartbeat", "1", "--epochs", "60"])
    first = out / "trials" / "trial_0000" / "design.json"
    deadline = time.monotonic() + 300
    while not first.exists():
        assert worker.poll() is None, worker.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(1.0)                                   # into training, heartbeats written
    worker.send_signal(signal.SIGKILL)
    worker.communicate()
    time.sleep(4 * 1 + 1.5)                          # 4 missed beats: lost

    sweep = Sweep("reactor_digits", "digits", [parse_param(grid)], out=out, epochs=1,
                  storage=storage, threads=1, latency=False, heartbeat=1,
                  train_settings={"batch_size": 128})
    list(sweep.run())
    records = {r["number"]: r for r in sweep.records()}
    lost = records[0]
    assert lost["state"] == "failed" and lost["message"].startswith("lost: its worker stopped")
    retry = next(r for r in records.values() if r.get("retry_of") == 0)
    assert f"run again as trial {retry['number']}" in lost["message"]
    assert retry["state"] == "complete" and retry["settings"] == lost["settings"]
    assert retry["message"].startswith("retry of trial 0")
    complete = [r for r in records.values() if r["state"] == "complete"]
    assert sorted(r["settings"]["lr"] for r in complete) == [0.05, 0.1]
    assert len(records) == 3 and len(_trained(out)) == 3    # the lost start, its retry, the other
    rows = {int(r["trial"]): r for r in _rows(out)}
    assert rows[0]["state"] == "failed" and rows[0]["message"] == lost["message"]
