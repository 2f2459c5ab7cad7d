"""Autosave and crash recovery: this session writes its unsaved design to
`<home>/recovery/<pid>.json` (with a `.meta` beside it naming the file and the time); files left by
sessions that are no longer running are what a crash left behind."""

import json
import os
import time
from pathlib import Path

from designer.core import fileformat


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Recovery:
    def __init__(self, home):
        self.folder = Path(home) / "recovery"
        self.path = self.folder / f"{os.getpid()}.json"

    def save(self, document):
        """Write the document to this session's recovery file when it has unsaved changes."""
        if document is None or not document.modified:
            return False
        self.folder.mkdir(parents=True, exist_ok=True)
        fileformat.save(document.graph, self.path)
        meta = {"path": str(document.path) if document.path else None, "time": time.time()}
        self.path.with_suffix(".meta").write_text(json.dumps(meta), encoding="utf-8")
        return True

    def drop(self):
        """Forget this session's recovery file (the design was saved, or the editor closed)."""
        self.discard(self.path)

    def pending(self):
        """Recovery files left by sessions that are no longer running (a crash)."""
        found = []
        for design in sorted(self.folder.glob("*.json")) if self.folder.exists() else []:
            try:
                pid = int(design.stem)
            except ValueError:
                continue
            if pid != os.getpid() and not _pid_alive(pid):
                found.append(design)
        return found

    @staticmethod
    def describe(design):
        """(the saved file's path or None, when it was autosaved as 'YYYY-MM-DD HH:MM')."""
        try:
            meta = json.loads(design.with_suffix(".meta").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        when = time.strftime("%Y-%m-%d %H:%M",
                             time.localtime(meta.get("time", design.stat().st_mtime)))
        return meta.get("path"), when

    @staticmethod
    def discard(design):
        for path in (design, design.with_suffix(".meta")):
            if path.exists():
                path.unlink()
