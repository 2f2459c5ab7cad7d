"""The `designer train` verb: JSON lines per epoch, resume, clear errors, and the DDP path under
torchrun with the gloo backend and two CPU processes."""

import json
import os
from pathlib import Path
import subprocess
import sys

from designer.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_json_prints_one_object_per_epoch(tmp_path, capsys, monkeypatch):
    # Without --out the run goes in the runs folder the editor uses too (here CNN_DESIGNER_RUNS).
    monkeypatch.setenv("CNN_DESIGNER_RUNS", str(tmp_path / "runs"))
    code = main(["train", "reactor_digits", "--dataset", "digits", "--epochs", "2",
                 "--batch-size", "64", "--lr", "0.1", "--device", "cpu", "--json",
                 "--no-fast-path"])
    assert code == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert "_digits_20" in run_dir.name      # design_dataset_YYYYmmdd-HHMMSS
    captured = capsys.readouterr()
    assert "data: DataLoader path (the fast path is turned off)" in captured.err
    lines = captured.out.strip().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["epoch"] for r in rows] == [1, 2]
    for key in ("epoch", "train_loss", "val_loss", "val_top1_error", "val_top5_error",
                "images_per_s"):
        assert all(key in r for r in rows)
    assert rows[1]["train_loss"] < rows[0]["train_loss"]
    assert (run_dir / "last.pt").is_file()

    # --resume continues the run in its folder with its saved settings.
    code = main(["train", "reactor_digits", "--resume", str(run_dir), "--epochs", "3", "--json"])
    assert code == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [r["epoch"] for r in rows] == [3]
    assert len((run_dir / "metrics.csv").read_text().strip().splitlines()) == 4
    # Asking a finished run for no more epochs than it has is a sentence, not a silent no-op.
    code = main(["train", "reactor_digits", "--resume", str(run_dir), "--epochs", "3"])
    assert code == 2
    assert "already trained 3 epochs" in capsys.readouterr().err


def test_out_into_an_existing_run_is_refused_unless_force(tmp_path, capsys):
    common = ["train", "reactor_digits", "--batch-size", "256", "--device", "cpu", "--json",
              "--out", str(tmp_path)]
    assert main(common + ["--epochs", "2"]) == 0
    # No --dataset given: the first line says the digits are the default, not the design's name.
    assert "dataset: UCI digits (the default; --dataset picks another)" in capsys.readouterr().err
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert main(common + ["--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert f"designer: {tmp_path} already holds a training run" in err and "--force" in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert main(common + ["--epochs", "1", "--force"]) == 0     # the old run is replaced
    assert len((tmp_path / "metrics.csv").read_text().strip().splitlines()) == 2
    assert (tmp_path / "best.pt").read_bytes() != before["best.pt"]


def test_wrong_class_count_is_a_clear_error(tmp_path, capsys):
    code = main(["train", "lenet5", "--dataset", "digits", "--input", "1x32x32", "--epochs", "1",
                 "--out", str(tmp_path), "--lr", "-1"])
    assert code == 2
    assert "learning rate must be positive" in capsys.readouterr().err


def test_missing_dataset_message(tmp_path, capsys):
    code = main(["train", "lenet5", "--dataset", "mnist", "--data-dir", str(tmp_path),
                 "--no-download", "--out", str(tmp_path / "run")])
    assert code == 2
    err = capsys.readouterr().err
    assert "MNIST is not in" in err and "MNIST/raw/train-images-idx3-ubyte" in err


def test_ddp_two_cpu_processes_with_gloo(tmp_path):
    # Without --out: the ranks take the new run folder rank 0 names (broadcast); it alone writes.
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT),
               CNN_DESIGNER_RUNS=str(tmp_path))
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "designer", "train", "reactor_digits", "--dataset", "digits", "--epochs", "1",
         "--batch-size", "64", "--device", "cpu", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert [r["epoch"] for r in rows] == [1]           # rank 0 prints, rank 1 stays quiet
    assert 0 <= rows[0]["val_top1_error"] <= 1
    (run_dir,) = tmp_path.iterdir()
    # Each process trains half of the 1,438 images: 719 // 64 = 11 steps, not 22.
    steps = (run_dir / "steps.csv").read_text().strip().splitlines()[1:]
    assert len(steps) == 11
