"""DDP failures in a sentence, with two real gloo processes started as torchrun starts them (RANK,
WORLD_SIZE, MASTER_ADDR/PORT): a rank killed or frozen ends the survivor with the rank lost, the
checkpoint kept and the command continuing it; validation on the DataLoader path counts every
image once; `--resume auto`; rank 0 downloads alone behind a barrier."""

import json
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch

from designer.cli import main
from designer.core.presets import load_design
from designer.train import loop, runs
from designer.train.config import TrainConfig
from designer.train.loop import Trainer, load_checkpoint

ROOT = Path(__file__).resolve().parents[2]
DESIGN = "reactor_digits"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_pair(out, *extra):
    """Ranks 0 and 1 of `designer train` on the digits (1,438 train / 359 val images), for many
    epochs so that a test can stop one of them mid-run."""
    port, processes = free_port(), []
    for rank in (0, 1):
        env = dict(os.environ, PYTHONPATH=str(ROOT), RANK=str(rank), LOCAL_RANK=str(rank),
                   WORLD_SIZE="2", LOCAL_WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), OMP_NUM_THREADS="1")
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "designer", "train", DESIGN, "--epochs", "200",
             "--batch-size", "32", "--device", "cpu", "--json", "--out", str(out), *extra],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return processes


def first_epoch(rank0):
    """The first epoch's JSON row rank 0 prints (other lines, merged in, skipped)."""
    seen = []
    for line in rank0.stdout:
        if line.startswith("{"):
            return json.loads(line)
        seen.append(line)
    raise AssertionError("".join(seen)[-2000:] + (rank0.stderr.read()[-3000:]
                                                  if rank0.stderr else ""))


def finish(processes, timeout):
    """Rank 0's (exit status, epoch rows, stderr) once it ends; rank 1 is killed after."""
    try:
        out, err = processes[0].communicate(timeout=timeout)
    finally:
        for process in processes:
            process.kill()
            process.wait()
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return processes[0].returncode, rows, err


def single_process_validation(run_dir):
    """The validation figures of `run_dir`'s last.pt, measured by one process."""
    config = TrainConfig(epochs=1, device="cpu", fast_path=False, out=str(run_dir / "single"))
    trainer = Trainer(load_design(DESIGN), config, weights=str(run_dir / "last.pt"))
    try:
        trainer._setup()
        return trainer._evaluate()
    finally:
        trainer.close()


@pytest.mark.slow
def test_a_killed_rank_is_a_sentence_and_validation_counts_each_image_once(tmp_path):
    processes = start_pair(tmp_path, "--no-fast-path")
    first = first_epoch(processes[0])
    processes[1].send_signal(signal.SIGKILL)
    code, rows, err = finish(processes, timeout=120)
    rows.insert(0, first)
    assert code == 1
    assert "Traceback" not in err and "pair.cc" not in err, err[-3000:]
    epoch = load_checkpoint(tmp_path)["epoch"]      # the epoch reached before the kill landed
    assert "rank 1 of 2 was lost (its process ended or its connection broke)" in err
    assert f"The checkpoint of epoch {epoch} is kept in {tmp_path / 'last.pt'}." in err
    assert (f"Continue it with: torchrun --nproc_per_node=2 -m designer train "
            f"{tmp_path / 'design.json'} --resume {tmp_path}") in err
    assert runs.read_info(tmp_path)["status"] == "failed"
    # The DataLoader path shards validation without padding: the 359 images are counted once
    # (DistributedSampler counted 360), so the figures equal one process's.
    row = rows[epoch - 1]
    single = single_process_validation(tmp_path)
    assert row["val_top1_error"] == single["val_top1_error"]
    assert row["val_top5_error"] == single["val_top5_error"]
    assert row["val_loss"] == pytest.approx(single["val_loss"], rel=1e-5)
    assert round(row["val_top1_error"] * 359, 6) == round(row["val_top1_error"] * 359)


@pytest.mark.slow
def test_a_frozen_rank_fails_the_run_after_dist_timeout(tmp_path):
    processes = start_pair(tmp_path, "--dist-timeout", "20")
    first_epoch(processes[0])
    processes[1].send_signal(signal.SIGSTOP)
    stopped = time.monotonic()
    code, _, err = finish(processes, timeout=90)
    waited = time.monotonic() - stopped
    assert code == 1 and "Traceback" not in err, err[-3000:]
    assert "rank 1 of 2 stopped answering for 20 s (--dist-timeout)" in err
    assert f"is kept in {tmp_path / 'last.pt'}" in err and f"--resume {tmp_path}" in err
    assert 19 < waited < 60


def rank_1_worker(agent):
    """The pid of the worker torchrun (`agent`) started as rank 1."""
    for _ in range(600):
        for child in Path(f"/proc/{agent.pid}/task/{agent.pid}/children").read_text().split():
            try:
                environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"RANK=1" in environ:
                return int(child)
        time.sleep(0.1)
    raise AssertionError("torchrun started no rank 1")


@pytest.mark.slow
def test_torchrun_max_restarts_with_resume_auto_continues_the_run(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    agent = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "--max-restarts=1", "-m", "designer", "train", DESIGN, "--epochs", "30",
         "--batch-size", "64", "--device", "cpu", "--json", "--out", str(tmp_path),
         "--resume", "auto"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first_epoch(agent)
        os.kill(rank_1_worker(agent), signal.SIGKILL)
        out, _ = agent.communicate(timeout=240)
    finally:
        agent.kill()
        agent.wait()
    assert agent.returncode == 0, out[-3000:]
    # The restarted processes resumed the checkpoint instead of refusing the folder or starting
    # over at epoch 1: every epoch and step is in the run's files once.
    assert "Traceback" not in out and "connectFullMesh" not in out, out[-3000:]
    assert epochs_in(tmp_path) == list(range(1, 31))
    assert len((tmp_path / "steps.csv").read_text().splitlines()) == 1 + 30 * 11
    assert load_checkpoint(tmp_path)["epoch"] == 30


def test_dist_timeout_must_be_a_positive_number(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", DESIGN, "--dist-timeout", "0"])
    assert exit_.value.code == 2
    assert "'0' is not a positive number of seconds" in capsys.readouterr().err


def train_cli(*args):
    return main(["train", DESIGN, "--batch-size", "256", "--device", "cpu", "--json", *args])


def epochs_in(run_dir):
    return [int(line.split(",")[0])
            for line in (run_dir / "metrics.csv").read_text().splitlines()[1:]]


def test_resume_auto_starts_fresh_then_continues_the_out_folder(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert train_cli("--epochs", "1", "--out", str(run_dir), "--resume", "auto") == 0
    assert epochs_in(run_dir) == [1]
    first = load_checkpoint(run_dir)
    # What torchrun --max-restarts runs again: the same command continues after epoch 1.
    assert train_cli("--epochs", "2", "--out", str(run_dir), "--resume", "auto") == 0
    assert epochs_in(run_dir) == [1, 2]
    again = load_checkpoint(run_dir)
    assert again["history"][0] == first["history"][0] and again["epoch"] == 2
    capsys.readouterr()
    # A run that died before its first checkpoint (curves and settings, no last.pt) starts afresh.
    (run_dir / "last.pt").unlink()
    (run_dir / "best.pt").unlink()
    assert train_cli("--epochs", "1", "--out", str(run_dir), "--resume", "auto") == 0
    assert epochs_in(run_dir) == [1] and load_checkpoint(run_dir)["epoch"] == 1


def test_resume_auto_without_out_continues_the_newest_unfinished_run(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_DESIGNER_RUNS", str(tmp_path))
    assert train_cli("--epochs", "1") == 0
    (done,) = tmp_path.iterdir()
    # A completed run is not continued: auto starts a new one beside it ...
    assert train_cli("--epochs", "2", "--resume", "auto") == 0
    (fresh,) = set(tmp_path.iterdir()) - {done}
    assert epochs_in(fresh) == [1, 2]
    # ... but a run whose process was killed (run.json still says "running") is.
    runs.write_info(done, status="running")
    assert train_cli("--epochs", "3", "--resume", "auto") == 0
    assert set(tmp_path.iterdir()) == {done, fresh}
    assert epochs_in(done) == [1, 2, 3]


def test_rank_0_downloads_alone_and_the_others_wait_at_a_barrier(monkeypatch):
    calls = []
    monkeypatch.setattr(loop, "build_data",
                        lambda config, shape: calls.append(("build", config.download)) or "data")
    monkeypatch.setattr(torch.distributed, "barrier", lambda: calls.append(("barrier",)))
    config = TrainConfig(dataset="mnist", download=True)
    for rank in (0, 1):
        trainer = Trainer(load_design("lenet5"), config)
        trainer.world, trainer.rank = 2, rank
        assert trainer._build_data((1, 32, 32)) == "data"
    # Rank 0 downloads then releases the barrier; rank 1 reads the files after it, never
    # downloading itself.
    assert calls == [("build", True), ("barrier",), ("barrier",), ("build", False)]

    # A failed download still reaches the barrier (the others are not left waiting), then says why.
    def offline(config, shape):
        calls.append(("build", config.download))
        raise loop.DesignError("MNIST is not in ~/data and could not be downloaded")
    monkeypatch.setattr(loop, "build_data", offline)
    calls.clear()
    trainer = Trainer(load_design("lenet5"), config)
    trainer.world, trainer.rank = 2, 0
    with pytest.raises(loop.DesignError, match="could not be downloaded"):
        trainer._build_data((1, 32, 32))
    assert calls == [("build", True), ("barrier",)]
    # One process, or a dataset with nothing to download: no barrier.
    monkeypatch.setattr(loop, "build_data", lambda config, shape: calls.append("one") or "data")
    calls.clear()
    for world, dataset in ((1, "mnist"), (2, "digits")):
        trainer = Trainer(load_design("lenet5"), TrainConfig(dataset=dataset))
        trainer.world, trainer.rank = world, 1
        trainer._build_data((1, 32, 32))
    assert calls == ["one", "one"]
