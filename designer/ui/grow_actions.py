"""The canvas's "Widen, keep function…" and "Insert layer, keep function" (designer.search.grow):
the edit is worked out on a copy in a job, with the current weights; back in the GUI thread it is
one undoable edit of the open design that also makes the grown weights the current weights (undo
brings back the earlier ones). The grown design and its weights are written as a variant of the
run the weights came from (`workspace.variant_folder`), else under the app home's grown/ folder,
so nothing the person had is overwritten.
"""

import time
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QInputDialog

from designer.core import fileformat
from designer.core.commands import Command
from designer.home import app_home

from .editor import MESSAGE_MS
from .jobs import Job

WIDENABLE = {"Conv2d": "out_channels", "PointwiseConv2d": "out_channels", "Linear": "out_features"}


class WithWeights(Command):
    """A grow edit of the graph that also switches the document's current weights."""

    def __init__(self, inner, document, weights):
        super().__init__(inner.graph)
        self.inner, self.document = inner, document
        self.weights, self.before = Path(weights), document.current_weights
        self.text = inner.text

    def _redo(self):
        self.inner._redo()
        self.document.set_current_weights(self.weights)

    def _undo(self):
        self.inner._undo()
        self.document.set_current_weights(self.before)


def _output_folder(weights):
    from designer.workspace import variant_folder
    folder = variant_folder(weights, "grow")
    if folder is None:
        folder = app_home() / "grown" / f"{Path(weights).stem}_{time.strftime('%Y%m%d-%H%M%S')}"
        number = 1
        while folder.exists():
            number += 1
            folder = folder.with_name(f"{folder.name}-{number}")
    return folder


def grow_copy(graph, weights, kind, node_id, width=None):
    """In the job: grow a copy of the design with `weights`; write it and its weights; return
    (growth, design path, weights path)."""
    from designer.search.grow import deepen, widen
    from designer.weights import read_state_dict, save_design_with_weights, weights_path_for
    from designer.workspace import write_variant
    state = read_state_dict(weights)
    growth = (widen(graph, state, node_id, width) if kind == "widen"
              else deepen(graph, state, node_id))
    growth.command.redo()
    folder = _output_folder(weights)
    folder.mkdir(parents=True)
    design = folder / "design.json"
    save_design_with_weights(graph, growth.state, design)
    if folder.parent.name == "variants":
        write_variant(folder, {"technique": "grow"}, weights, fileformat.design_hash(graph),
                      name=growth.text[:60])
    return growth, design, weights_path_for(design)


class Grower(QObject):
    """Runs one grow edit at a time for the window's editor."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.job = None

    @property
    def is_running(self):
        return self.job is not None

    def widen(self, node_id, width=None):
        graph = self.window.editor.document.graph
        node = graph.nodes[node_id]
        param = WIDENABLE[node.type]
        if width is None:
            old = node.params[param]
            width, ok = QInputDialog.getInt(self.window, "Widen, keep function",
                                            f"{node_id}: {param.replace('_', ' ')} (now {old})",
                                            old * 2, old + 1, 1 << 20)
            if not ok:
                return False
        return self.start("widen", node_id, width)

    def deepen(self, node_id):
        return self.start("deepen", node_id)

    def start(self, kind, node_id, width=None):
        editor = self.window.editor
        document = editor.document
        if self.job is not None or document is None or document.current_weights is None:
            return False
        self._planned = (document, fileformat.design_hash(document.graph), kind)
        self.job = Job(parent=self)
        self.job.returned.connect(self._apply)
        self.job.errored.connect(lambda text: editor.message.emit(text, MESSAGE_MS))
        self.job.finished.connect(self._done)
        editor.message.emit("growing, keeping the function…", MESSAGE_MS)
        self.job.start(grow_copy, document.graph.copy(), document.current_weights, kind,
                       node_id, width)
        return True

    def _apply(self, result):
        growth, design, weights = result
        editor = self.window.editor
        document, digest, _ = self._planned
        if editor.document is not document or fileformat.design_hash(document.graph) != digest:
            editor.message.emit(f"the design changed while growing; the grown design is in "
                                f"{design}", MESSAGE_MS)
            return
        editor.push(WithWeights(growth.plan(document.graph), document, weights))
        editor.message.emit(f"{growth.text}; weights: {weights}", MESSAGE_MS)

    def _done(self):
        self.job = None


def grower_of(window):
    """The window's one Grower, made on first use (kept as `window.grower`)."""
    grower = getattr(window, "grower", None)
    if grower is None:
        grower = window.grower = Grower(window)
    return grower
