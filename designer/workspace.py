"""The runs of a design and what was made from them, as the Runs panel lists them, readable
without torch or Qt: which runs trained the open design, their figures, rename, notes, delete
to the trash and back, and the variants (Compress results) kept inside the run they came from.

A run is a folder under the runs root (`designer.home.runs_root`) holding what `designer.train`
writes (`designer.train.runs`). It trained the open design when its run.json's design_hash is
the design's (`fileformat.design_hash`: the layers, parameters and connections, not the name),
or, for a run written before hashes were kept, its design.json's hash is (or, without one, its
design name is the design's name). A variant is
a folder `<run>/variants/<technique>_<time>/` holding a result (a design.json with its weights
design.pt, or a model file such as model_int8.pt) and a variant.json naming it:

    {"name", "technique", "source", "design_hash", "notes", "created", "summary"}

`source` is the weights it was made from, relative to the run folder when inside it. A run opened
from a variant's design lists that run, as the variant came from it.

Delete moves a run's (or a variant's) folder into the trash folder under the app home with a
small JSON beside it naming where it came from; `restore` moves it back.
"""

import csv
import json
import math
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from designer.core import atomic, fileformat
from designer.core.errors import DesignError
from designer.home import app_home, runs_root
from designer.train import runs
from designer.weights import run_weights

VARIANTS_DIR = "variants"
VARIANT_FILE = "variant.json"
TRASH_DIR = "trash"
CHECKPOINTS = ("best.pt", "last.pt")
# A run whose run.json still says "running" but whose files have not changed for this long was
# ended without recording it (the app or the process was killed): it is "interrupted".
QUIET_S = 15 * 60
# What a variant.json keeps of a Compress report: its figures before and after.
SUMMARY_KEYS = ("params", "macs", "bytes", "val_top1_error", "latency_ms")


@dataclass
class Variant:
    """One result made from a run: its folder and what variant.json says of it."""
    folder: Path
    name: str
    technique: str = ""
    source: str = ""
    design_hash: str | None = None
    notes: str = ""
    created: float | None = None       # seconds since the epoch
    summary: dict = field(default_factory=dict)
    size: int = 0

    @property
    def design(self):
        """Its design.json, or None (an int8 TorchScript model is a file, not a design)."""
        path = self.folder / runs.DESIGN_FILE
        return path if path.is_file() else None

    @property
    def weights(self):
        """The state_dict beside its design (design.pt), or None."""
        design = self.design
        path = design.with_suffix(".pt") if design is not None else None
        return path if path is not None and path.is_file() else None

    @property
    def model(self):
        """The file the result is: its weights, else the first model file in its folder (a
        deployed .pte, .onnx or Core ML package among them)."""
        if self.weights is not None:
            return self.weights
        files = sorted(p for p in self.folder.iterdir()
                       if p.suffix in (".pt", ".onnx", ".tflite", ".pte", ".mlpackage")
                       and (p.is_file() or p.suffix == ".mlpackage"))
        return files[0] if files else None

    @property
    def error(self):
        return self.summary.get("val_top1_error_after")


@dataclass
class Run:
    """One run folder and its figures, read from run.json, settings.json and metrics.csv."""
    folder: Path
    name: str
    design: str | None = None
    design_hash: str | None = None
    dataset: str | None = None
    status: str = ""
    message: str = ""
    notes: str = ""
    epochs_done: int = 0
    epochs: int | None = None          # what it was set to train
    best_error: float | None = None    # val top-1 error, lowest over its epochs
    last_error: float | None = None
    duration_s: float | None = None    # the epochs' time, pauses left out
    started: float | None = None       # seconds since the epoch
    size: int = 0                      # bytes on disk, its variants included
    variants: list = field(default_factory=list)

    @property
    def weights(self):
        """best.pt, else last.pt, else None: what selecting the run makes current."""
        path = run_weights(self.folder)
        return path if path.is_file() else None

    @property
    def hashes(self):
        """The design hashes this run answers to: its own and its variants'."""
        return ({self.design_hash} | {v.design_hash for v in self.variants}) - {None}


# ---- reading -------------------------------------------------------------------------------
def folder_size(folder):
    """Bytes of the files under `folder` (links not followed)."""
    total = 0
    for parent, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(parent, name)).st_size
            except OSError:
                pass
    return total


def _number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _read_metrics(folder):
    """[(val top-1 error or None, epoch seconds or None)] per epoch of metrics.csv."""
    try:
        with open(Path(folder) / "metrics.csv", newline="", encoding="utf-8") as handle:
            return [(_number(row.get("val_top1_error")), _number(row.get("epoch_time_s")))
                    for row in csv.DictReader(handle)]
    except (OSError, csv.Error, UnicodeDecodeError):
        return []


def _read_json(path):
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _timestamp(text):
    """Seconds since the epoch of an ISO local time "2024-03-05T14:02:11", or None."""
    try:
        return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))
    except (TypeError, ValueError, OverflowError):
        return None


def now_text():
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def _started(folder, info):
    """When the run started: run.json's "started", else when its design.json (written once, at
    the start) or its settings were written."""
    when = _timestamp(info.get("started"))
    if when is not None:
        return when
    for name in (runs.DESIGN_FILE, runs.SETTINGS_FILE, runs.INFO_FILE, "metrics.csv"):
        try:
            return (folder / name).stat().st_mtime
        except OSError:
            continue
    return None


def _latest_change(folder):
    times = []
    for name in runs.TRAINING_FILES + (runs.INFO_FILE,):
        try:
            times.append((folder / name).stat().st_mtime)
        except OSError:
            pass
    return max(times, default=0.0)


def _hash_of_design(folder):
    """The hash of the design.json of a run whose run.json has none (older runs), or None."""
    try:
        design = runs.read_design(folder)
    except DesignError:
        return None
    return fileformat.design_hash(design) if design is not None else None


def _status(folder, info, epochs_done, epochs):
    status = info["status"]
    if status is None:      # written before run.json: its epochs say how far it got
        return "completed" if epochs is None or epochs_done >= epochs else "stopped"
    if status in ("starting", "running") and time.time() - _latest_change(folder) > QUIET_S:
        return "interrupted"
    return status


def read_run(folder):
    """The `Run` in `folder`, or None when the folder holds no run."""
    folder = Path(folder)
    if not runs.holds_run(folder):
        return None
    info = runs.read_info(folder)
    rows = _read_metrics(folder)
    errors = [error for error, _ in rows if error is not None]
    times = [seconds for _, seconds in rows if seconds is not None]
    epochs = _read_json(folder / runs.SETTINGS_FILE).get("epochs")
    epochs = epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else None
    return Run(folder=folder, name=info["name"], design=info["design"],
               design_hash=info["design_hash"] or _hash_of_design(folder),
               dataset=info["dataset"],
               status=_status(folder, info, len(rows), epochs), message=info["message"],
               notes=info.get("notes") or "", epochs_done=len(rows), epochs=epochs,
               best_error=min(errors) if errors else None,
               last_error=errors[-1] if errors else None,
               duration_s=sum(times) if times else None, started=_started(folder, info),
               size=folder_size(folder), variants=list_variants(folder))


def read_variant(folder):
    """The `Variant` in `folder` (a folder holding a variant.json), or None."""
    folder = Path(folder)
    saved = _read_json(folder / VARIANT_FILE)
    if not saved:
        return None

    def text(key):
        value = saved.get(key)
        return value if isinstance(value, str) else ""
    summary = saved.get("summary")
    return Variant(folder=folder, name=text("name") or folder.name, technique=text("technique"),
                   source=text("source"), design_hash=text("design_hash") or None,
                   notes=text("notes"), created=_timestamp(text("created")),
                   summary=summary if isinstance(summary, dict) else {},
                   size=folder_size(folder))


def list_variants(run_folder):
    """The variants kept in a run's folder, oldest first."""
    where = Path(run_folder) / VARIANTS_DIR
    if not where.is_dir():
        return []
    found = [read_variant(p) for p in sorted(where.iterdir()) if p.is_dir()]
    return sorted((v for v in found if v is not None),
                  key=lambda v: (v.created or 0.0, v.folder.name))


def list_runs(root=None):
    """Every run in the runs folder (`root`, the runs root by default), oldest first."""
    root = Path(root) if root is not None else runs_root()
    if not root.is_dir():
        return []
    found = [read_run(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted((r for r in found if r is not None),
                  key=lambda r: (r.started or 0.0, r.folder.name))


def trained(run, design_hash, design_name=None):
    """Whether `run` trained the design with `design_hash` (or made a variant that is it); a run
    with no hash and no design.json (the oldest runs) answers to the design's name."""
    if design_hash in run.hashes:
        return True
    return run.design_hash is None and design_name is not None and run.design == design_name


def runs_of(graph, root=None):
    """The runs of the design `graph` (see `trained`), oldest first."""
    design_hash = fileformat.design_hash(graph)
    return [run for run in list_runs(root) if trained(run, design_hash, graph.name)]


# ---- changing ------------------------------------------------------------------------------
def _is_variant(folder):
    return (Path(folder) / VARIANT_FILE).is_file()


def _write_variant_file(folder, **changes):
    saved = _read_json(Path(folder) / VARIANT_FILE) | changes
    atomic.write_text(Path(folder) / VARIANT_FILE,
                      json.dumps(saved, indent=1, ensure_ascii=False) + "\n")


def _change(folder, **changes):
    if _is_variant(folder):
        _write_variant_file(folder, **changes)
    elif runs.holds_run(folder):
        runs.write_info(folder, **changes)
    else:
        raise DesignError(f"{folder} holds no run or variant (it was moved or deleted)")


def rename(folder, name):
    """Give a run or variant a new name (in its run.json / variant.json; the folder keeps its
    own name, so paths to its files stay valid)."""
    name = " ".join(str(name).split())
    if not name:
        raise DesignError("A run needs a name; the old one was kept.")
    _change(folder, name=name)
    return name


def set_notes(folder, notes):
    """Keep `notes` (any text) with a run or variant."""
    _change(folder, notes=str(notes).strip())


def trash_root(folder=None):
    """The trash folder: under the app home, or beside the runs folder when that is on another
    disk (moving a run across disks would copy it)."""
    home = app_home() / TRASH_DIR
    if folder is not None:
        try:
            anchor = home if home.exists() else app_home()
            if anchor.exists() and os.stat(anchor).st_dev != os.stat(folder).st_dev:
                return Path(folder).parent / ".trash"
        except OSError:
            pass
    return home


def trash(folder):
    """Move a run's or variant's folder into the trash; the trashed folder's path (`restore`
    moves it back). A JSON beside it there names where it came from."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DesignError(f"{folder} is not there any more; nothing was deleted.")
    root = trash_root(folder)
    root.mkdir(parents=True, exist_ok=True)
    target, number = root / folder.name, 1
    while target.exists() or target.with_suffix(target.suffix + ".json").exists():
        number += 1
        target = root / f"{folder.name}-{number}"
    atomic.write_text(Path(f"{target}.json"), json.dumps(
        {"from": str(folder.resolve()), "deleted": now_text()}, ensure_ascii=False) + "\n")
    try:
        shutil.move(str(folder), str(target))
    except OSError as error:
        Path(f"{target}.json").unlink(missing_ok=True)
        raise DesignError(f"{folder} could not be moved to the trash ({error}); it was "
                          "kept.") from None
    return target


def restore(trashed):
    """Move a trashed folder back where it came from; its path there."""
    trashed = Path(trashed)
    origin = _read_json(Path(f"{trashed}.json")).get("from")
    if not origin or not trashed.is_dir():
        raise DesignError(f"{trashed} is not in the trash any more; nothing was restored.")
    origin = Path(origin)
    if origin.exists():
        raise DesignError(f"{origin} exists again, so the deleted run was left in the trash "
                          f"({trashed}).")
    origin.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(trashed), str(origin))
    Path(f"{trashed}.json").unlink(missing_ok=True)
    return origin


# ---- variants ------------------------------------------------------------------------------
def run_of(weights):
    """The run folder a weights file belongs to: the run whose checkpoint it is, or the run of
    the variant it is the weights of; None for weights from anywhere else."""
    path = Path(weights).resolve() if weights else None
    if path is None or not path.is_file():
        return None
    folder = path.parent
    if path.name in CHECKPOINTS and runs.holds_run(folder):
        return folder
    if (folder / VARIANT_FILE).is_file() and folder.parent.name == VARIANTS_DIR:
        run = folder.parent.parent
        return run if runs.holds_run(run) else None
    return None


def variant_folder(weights, technique):
    """Where a result made from `weights` with `technique` goes when they are a run's (or a
    variant's): `<run>/variants/<technique>_<YYYYmmdd-HHMMSS>` (not created); else None."""
    run = run_of(weights)
    if run is None:
        return None
    slug = re.sub(r"[^A-Za-z0-9]+", "_", technique).strip("_").lower() or "variant"
    base = run / VARIANTS_DIR / f"{slug}_{time.strftime('%Y%m%d-%H%M%S')}"
    path, number = base, 1
    while path.exists():
        number += 1
        path = base.with_name(f"{base.name}-{number}")
    return path


def variant_name(report):
    """A variant's first name from its Compress report: "pruned l1 50%", "int8-dynamic"…"""
    technique = report.get("technique", "variant")
    if technique == "prune":
        amount = report.get("amount")
        share = f" {amount:.0%}" if isinstance(amount, (int, float)) else ""
        return f"pruned {report.get('method') or ''}{share}".replace("  ", " ").strip()
    if technique == "quantize":
        return str(report.get("scheme") or "quantised")
    if technique == "factorize":
        rank, energy = report.get("rank"), report.get("energy")
        detail = (f" rank {rank}" if rank else f" {energy:.0%} energy"
                  if isinstance(energy, (int, float)) else "")
        return f"factorised{detail}"
    if technique == "substitute":
        return f"{report.get('with') or 'substituted'} {report.get('layer') or ''}".strip()
    return str(technique)


def write_variant(folder, report, source, design_hash=None, name=None):
    """Write `folder`'s variant.json for a result made from weights `source` (see the module
    docstring); `report` is the technique's report, of which the figures are kept."""
    folder = Path(folder)
    source = Path(source).resolve()
    run = run_of(source)
    try:
        shown = str(source.relative_to(run)) if run is not None else str(source)
    except ValueError:
        shown = str(source)
    summary = {f"{key}_{side}": report[f"{key}_{side}"] for key in SUMMARY_KEYS
               for side in ("before", "after")
               if isinstance(report.get(f"{key}_{side}"), (int, float))}
    _write_variant_file(folder, name=name or variant_name(report),
                        technique=str(report.get("technique", "")), source=shown,
                        design_hash=design_hash, notes="", created=now_text(), summary=summary)
