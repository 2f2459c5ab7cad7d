"""Where CNN Designer keeps its own files: settings, crash-recovery files, caches and training runs.

Qt-free, so the command line and the editor agree on one folder without importing Qt.
"""

import os
import re
import sys
import time
from pathlib import Path


def app_home():
    """The user data folder for CNN Designer (CNN_DESIGNER_HOME overrides it, for tests).

    The same folder Qt's GenericDataLocation names: ~/.local/share (or $XDG_DATA_HOME) on Linux,
    ~/Library/Application Support on macOS, %LOCALAPPDATA% on Windows."""
    override = os.environ.get("CNN_DESIGNER_HOME")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "cnn-designer"


def runs_root():
    """The folder new training runs go in, for the CLI and the Train panel alike:
    CNN_DESIGNER_RUNS when set, else `runs` in the user data folder."""
    override = os.environ.get("CNN_DESIGNER_RUNS")
    return Path(override) if override else app_home() / "runs"


def new_run_dir(design_name, dataset, root=None):
    """The one place that names run folders: `<root>/<design>_<dataset>_<YYYYmmdd-HHMMSS>`, with
    `-2`, `-3` ... added when a run started in the same second already has that name. Not created."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", design_name or "").strip("_").lower() or "model"
    base = Path(root) if root is not None else runs_root()
    name = f"{slug}_{dataset}_{time.strftime('%Y%m%d-%H%M%S')}"
    path, number = base / name, 1
    while path.exists():
        number += 1
        path = base / f"{name}-{number}"
    return path
