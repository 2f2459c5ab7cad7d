"""What a run folder says about its run, readable without torch: its name, its status and the
design it trained. The Trainer writes these files; the Train panel reads them to list runs and to
refuse resuming a run with another design, and both refuse to write a new run over an old one.

    settings.json   the run's TrainConfig (`TrainConfig.from_dict` reads it back)
    design.json     the design trained, as File ▸ Save writes it (File ▸ Open opens it)
    run.json        {"name", "design", "design_hash", "dataset", "status", "message",
                     "started", "notes"}   (started: local time, 2024-03-05T14:02:11)
    last.pt, best.pt, metrics.csv, steps.csv, tensorboard/   what training writes

A run's status is "running", "completed", "stopped" or "failed" (its message says why).
"""

import json
from pathlib import Path
import shutil
import time

from designer.core import atomic, fileformat

SETTINGS_FILE = "settings.json"
DESIGN_FILE = "design.json"
INFO_FILE = "run.json"
# What a run writes as it trains: a folder holding any of them holds a run.
TRAINING_FILES = ("last.pt", "best.pt", "metrics.csv", "steps.csv")


def run_name(design_name, dataset):
    """The name a new run keeps for good, e.g. "ResNet-18 · cifar10 · 05 Mar 14:02:11"."""
    return f"{design_name or 'design'} · {dataset} · {time.strftime('%d %b %H:%M:%S')}"


def checkpoint_folder(path):
    """The run folder of a checkpoint path or run folder (what --resume takes)."""
    path = Path(path)
    return path if path.is_dir() else path.parent


def holds_run(folder):
    folder = Path(folder)
    return any((folder / name).exists() for name in TRAINING_FILES)


def latest_unfinished(root, design_hash, dataset):
    """The newest run folder in `root` of this design (by `fileformat.design_hash`) and dataset
    that has a last.pt and did not complete (`designer train --resume auto` without --out), or
    None."""
    root = Path(root)
    found = []
    for folder in (root.iterdir() if root.is_dir() else ()):
        last = folder / "last.pt"
        if not last.is_file():
            continue
        info = read_info(folder)
        if (info["design_hash"] == design_hash and info["dataset"] == dataset
                and info["status"] != "completed"):
            found.append((last.stat().st_mtime, folder.name, folder))
    return max(found)[2] if found else None


def clear_run(folder):
    """Remove an old run's files from `folder` (`designer train --force`), so a new run written
    there is never mixed with the old one's checkpoints or curves. Other files stay."""
    folder = Path(folder)
    for name in TRAINING_FILES + (SETTINGS_FILE, DESIGN_FILE, INFO_FILE):
        (folder / name).unlink(missing_ok=True)
    shutil.rmtree(folder / "tensorboard", ignore_errors=True)


def read_info(folder):
    """run.json's fields; a run written before run.json existed is named after its folder and has
    no status (None): its metrics say how far it got."""
    folder = Path(folder)
    info = {"name": folder.name, "design": None, "design_hash": None, "dataset": None,
            "status": None, "message": "", "started": None, "notes": ""}
    try:
        saved = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return info
    if isinstance(saved, dict):
        info.update({key: value for key, value in saved.items()
                     if key in info and isinstance(value, str)})
    return info


def write_info(folder, **changes):
    """Update run.json with `changes` (atomically: a crash leaves the old file or the new)."""
    info = read_info(folder) | changes
    atomic.write_text(Path(folder) / INFO_FILE, json.dumps(info, indent=1,
                                                           ensure_ascii=False) + "\n")


def read_design(folder):
    """The design the run in `folder` trained, or None when the folder has no design.json
    (runs written before it existed). A damaged file raises `DesignFileError`."""
    path = Path(folder) / DESIGN_FILE
    return fileformat.load(path) if path.is_file() else None


def other_design(run_design, graph, run):
    """None when `graph` is the design `run_design` (the same nodes, parameters and
    connections), else the sentence that refuses to continue `run` (its label) with `graph`."""
    if fileformat.design_hash(run_design) == fileformat.design_hash(graph):
        return None
    if run_design.name == graph.name:
        which = (f"another design named {run_design.name!r} (its layers, parameters or "
                 "connections differ from this one's)")
    else:
        which = f"the design {run_design.name!r}, not {graph.name!r}"
    return (f"{run} trained {which}; open the design.json in its folder to continue it. "
            "Nothing was changed.")
