"""Where CNN Designer keeps its own files: settings, crash-recovery files, caches and training runs.

Qt-free, so the command line and the editor agree on one folder without importing Qt.
"""

import os
import sys
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
