"""The open design: its graph, live analysis, undo stack, file path, modified flag and current
weights.

The `Document` is the only place the editor keeps state about a design, and the graph is the only
truth; every edit goes through `push(command)` as a core command (see `designer.core.commands`)
wrapped in a QUndoCommand, so undo and redo restore the exact earlier graph.

The current weights are the trained weights every panel starts from (Export, Compress, Insight):
the best.pt of the run just trained, or the weights a design file was saved with (design.pt
beside design.json, as Compress writes its results). Edits leave them in place: panels load what
still fits and say which nodes lost theirs.

The data choice (`designer.data.choice.DataChoice`, or None until one is made) is the dataset the
design trains on, chosen once (the Data panel, or a Dataset row of any panel's form) and read by
Train, Insight, Compress and Sweep.
"""

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QUndoCommand, QUndoStack

from designer.core import fileformat
from designer.core.commands import SetParams
from designer.core.graph import Graph
from designer.core.infer import Analyzer
from designer.weights import weights_beside

_MERGEABLE_PARAMS = 1


class UndoableCommand(QUndoCommand):
    """A core command on the QUndoStack. The core command is done before it is pushed (so a
    refused edit raises and never reaches the stack); the stack's first `redo` is skipped."""

    def __init__(self, core):
        super().__init__(core.text)
        self.core = core
        self._done = True

    def redo(self):
        if self._done:
            self._done = False
            return
        self.core.redo()

    def undo(self):
        self.core.undo()

    def id(self):
        return _MERGEABLE_PARAMS if isinstance(self.core, SetParams) else -1

    def mergeWith(self, other):
        return self.core.merge(other.core)


class Document(QObject):
    modified_changed = Signal(bool)
    path_changed = Signal(object)
    weights_changed = Signal(object)    # the new current weights: a Path, or None
    data_changed = Signal(object)       # the new data choice: a DataChoice

    def __init__(self, graph=None, path=None, parent=None):
        super().__init__(parent)
        self.graph = graph if graph is not None else Graph("untitled")
        self.analyzer = Analyzer(self.graph)
        self.undo_stack = QUndoStack(self)
        self.path = Path(path) if path else None
        self.current_weights = weights_beside(self.path) if self.path else None
        self.data_choice = None
        self._recovered = False
        # A slot of this QObject (not a lambda): Qt drops the connection when the document is
        # destroyed, before the stack, whose destructor signals cleanChanged as it empties itself.
        self.undo_stack.cleanChanged.connect(self._clean_changed)

    @Slot(bool)
    def _clean_changed(self, clean):
        self.modified_changed.emit(self._recovered or not clean)

    @property
    def modified(self):
        return self._recovered or not self.undo_stack.isClean()

    def mark_recovered(self):
        """A design brought back from a recovery file has unsaved work until saved."""
        self._recovered = True
        self.modified_changed.emit(True)

    def set_current_weights(self, path):
        path = Path(path) if path else None
        if path != self.current_weights:
            self.current_weights = path
            self.weights_changed.emit(path)

    def set_data_choice(self, choice):
        if choice != self.data_choice:
            self.data_choice = choice
            self.data_changed.emit(choice)

    @property
    def title(self):
        return self.path.name if self.path else (self.graph.name or "untitled")

    def push(self, core_command):
        """Do a core command and put it on the undo stack; its errors propagate unchanged."""
        core_command.redo()
        self.undo_stack.push(UndoableCommand(core_command))

    def save(self, path=None):
        path = Path(path) if path else self.path
        fileformat.save(self.graph, path)
        if path != self.path:
            self.path = path
            self.path_changed.emit(path)
        self._recovered = False
        self.undo_stack.setClean()
        self.modified_changed.emit(False)

    def close(self):
        """Tear down in order: stop analysing the graph, stop listening to the undo stack, then
        empty it while this document is whole (undo commands hold the graph)."""
        self.analyzer.detach()
        # A closing stack with unsaved steps announces it is clean as it is destroyed; nobody
        # may listen by then.
        self.undo_stack.cleanChanged.disconnect()
        self.undo_stack.clear()
