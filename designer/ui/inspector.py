"""The inspector: one typed editor per parameter of the selected node, its readouts (output shape,
parameters, multiply-adds, memory, receptive field, the error sentence), and renaming.

Editors are bound both ways without echo: a value typed by the person becomes a `SetParams`
command; a change in the graph (undo, another view) updates the editors with their signals
blocked (napari's layer-control binding). A refused value shows the `ParamError` sentence and the
editor returns to the node's value.

Numbers typed into a field apply on Enter, on leaving the field or after a short pause, not on
every keystroke (typing 48 must not apply 4 first and re-flow the network); arrows and the wheel
apply at once. Undo and redo keys in a field undo the design, not the field's text. Height ×
width pairs keep a square lock, on while the value is square.
"""

from contextlib import ExitStack
import re

from PySide6.QtCore import QEvent, QObject, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QFrame,
                               QHBoxLayout, QLabel, QLayout, QLineEdit, QScrollArea, QSpinBox, QToolButton,
                               QVBoxLayout, QWidget)

from designer.core.commands import Rename, SetParams
from designer.core.errors import DesignError
from designer.core.params import format_shape
from designer.core.summary import human

from .widgets import FigureText

INT_LIMIT = 2**31 - 1
TYPING_PAUSE_MS = 700


def _bounds(param, integer):
    low = param.min if param.min is not None else (-INT_LIMIT if integer else -1e12)
    high = param.max if param.max is not None else (INT_LIMIT if integer else 1e12)
    return (int(low), int(high)) if integer else (float(low), float(high))


def _commit_after_pause(box):
    """Typed numbers apply on Enter, focus-out, or once typing pauses; steps apply at once."""
    box.setKeyboardTracking(False)
    timer = QTimer(box)
    timer.setSingleShot(True)
    timer.setInterval(TYPING_PAUSE_MS)
    timer.timeout.connect(box.interpretText)
    box.lineEdit().textEdited.connect(lambda text: timer.start())
    return box


def _int_box(param):
    box = QSpinBox()
    box.setRange(*_bounds(param, True))
    box.setAccelerated(True)
    return _commit_after_pause(box)


class DesignUndoKeys(QObject):
    """Event filter for the inspector's fields: Undo/Redo keys pass to the window's actions
    (the design's undo stack) instead of the field's own text undo."""

    STANDARD = (QKeySequence.Undo, QKeySequence.Redo)
    EXTRA = ((Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier), (Qt.Key_Y, Qt.ControlModifier))

    def eventFilter(self, watched, event):
        if event.type() == QEvent.ShortcutOverride and (
                any(event.matches(k) for k in self.STANDARD)
                or (event.key(), event.modifiers()) in self.EXTRA):
            return True   # left unaccepted: the shortcut goes to the window's Undo/Redo
        return False


class Editor(QWidget):
    """Base of the typed editors: `set_value` (silent) and the `edited(value)` signal. A subclass
    shows a value in `show_value`; only the user's changes are announced."""
    edited = Signal(object)

    def __init__(self, param):
        super().__init__()
        self.param = param
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(4)

    def set_value(self, value):
        """Show `value` without announcing it as an edit: the editor's widgets stay silent."""
        with ExitStack() as silence:
            for widget in self.findChildren(QWidget):
                silence.enter_context(QSignalBlocker(widget))
            self.show_value(value)

    def _emit(self, *args):
        self.edited.emit(self.value())


class IntEditor(Editor):
    def __init__(self, param):
        super().__init__(param)
        self.box = _int_box(param)
        self.layout_.addWidget(self.box)
        self.box.valueChanged.connect(self._emit)

    def show_value(self, value):
        self.box.setValue(value)

    def value(self):
        return self.box.value()


class FloatEditor(Editor):
    def __init__(self, param):
        super().__init__(param)
        self.box = _commit_after_pause(QDoubleSpinBox())
        self.box.setDecimals(5)
        self.box.setRange(*_bounds(param, False))
        small = param.max is not None and param.max <= 1.0
        self.box.setSingleStep(0.05 if small else 0.1)
        self.layout_.addWidget(self.box)
        self.box.valueChanged.connect(self._emit)

    def show_value(self, value):
        self.box.setValue(value)

    def value(self):
        return self.box.value()


class BoolEditor(Editor):
    def __init__(self, param):
        super().__init__(param)
        self.box = QCheckBox()
        self.layout_.addWidget(self.box)
        self.box.toggled.connect(self._emit)

    def show_value(self, value):
        self.box.setChecked(value)

    def value(self):
        return self.box.isChecked()


class ChoiceEditor(Editor):
    def __init__(self, param):
        super().__init__(param)
        self.box = QComboBox()
        for choice in param.choices:
            self.box.addItem(str(choice), choice)
        self.layout_.addWidget(self.box)
        self.box.currentIndexChanged.connect(self._emit)

    def show_value(self, value):
        self.box.setCurrentIndex(max(0, self.box.findData(value)))

    def value(self):
        return self.box.currentData()


class PairEditor(Editor):
    """Height × width as two spin boxes, with a square lock that keeps them equal."""

    def __init__(self, param):
        super().__init__(param)
        self.h, self.w = _int_box(param), _int_box(param)
        self.h.setToolTip("height")
        self.w.setToolTip("width")
        self.lock = QToolButton()
        self.lock.setText("■")
        self.lock.setCheckable(True)
        self.lock.setChecked(True)
        self.lock.setToolTip("Square: keep height and width equal")
        self.lock.setAutoRaise(True)
        self.layout_.addWidget(self.h)
        self.layout_.addWidget(QLabel("×"))
        self.layout_.addWidget(self.w)
        self.layout_.addWidget(self.lock)
        self.h.valueChanged.connect(lambda value: self._changed(self.w, value))
        self.w.valueChanged.connect(lambda value: self._changed(self.h, value))
        self.lock.toggled.connect(self._locked)

    def _changed(self, other, value):
        if self.lock.isChecked() and other.value() != value:
            with QSignalBlocker(other):
                other.setValue(value)
        self._emit()

    def _locked(self, on):
        if on and self.h.value() != self.w.value():
            self._changed(self.w, self.h.value())

    def show_value(self, value):
        self.h.setValue(value[0])
        self.w.setValue(value[1])
        if value[0] != value[1]:   # a value that is not square unlocks
            self.lock.setChecked(False)

    def value(self):
        return (self.h.value(), self.w.value())


class PaddingEditor(Editor):
    """'same', 'valid', or explicit zeros (height × width)."""

    def __init__(self, param):
        super().__init__(param)
        self.mode = QComboBox()
        self.mode.addItems(["same", "valid", "explicit"])
        self.pair = PairEditor(param)
        self.layout_.addWidget(self.mode)
        self.layout_.addWidget(self.pair, 1)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.pair.edited.connect(self._emit)

    def _mode_changed(self, index):
        self.pair.setEnabled(self.mode.currentText() == "explicit")
        self._emit()

    def show_value(self, value):
        if isinstance(value, str):
            self.mode.setCurrentText(value)
        else:
            self.mode.setCurrentText("explicit")
            self.pair.show_value(value)
        self.pair.setEnabled(not isinstance(value, str))

    def value(self):
        mode = self.mode.currentText()
        return self.pair.value() if mode == "explicit" else mode


class TextEditor(Editor):
    """Free text (names), applied when editing finishes."""

    def __init__(self, param):
        super().__init__(param)
        self.line = QLineEdit()
        self.layout_.addWidget(self.line)
        self.line.editingFinished.connect(self._finished)
        self._shown = None

    def _finished(self):
        if self.line.text() != self._shown:
            self._emit()

    def show_value(self, value):
        self._shown = self.format(value)
        self.line.setText(self._shown)

    def format(self, value):
        return value

    def value(self):
        return self.line.text()


class ShapeEditor(TextEditor):
    """A shape typed as 3×224×224 (x, ×, commas or spaces between the numbers)."""

    def __init__(self, param):
        super().__init__(param)
        self.line.setPlaceholderText("3×224×224")

    def format(self, value):
        return format_shape(value)

    def value(self):
        parts = [p for p in re.split(r"[x×X,\s]+", self.line.text().strip()) if p]
        try:
            return [int(p) for p in parts]
        except ValueError:
            return self.line.text()


class IntsEditor(ShapeEditor):
    def format(self, value):
        return ", ".join(str(v) for v in value)


EDITORS = {"int": IntEditor, "float": FloatEditor, "bool": BoolEditor, "choice": ChoiceEditor,
           "pair": PairEditor, "padding": PaddingEditor, "shape": ShapeEditor, "ints": IntsEditor,
           "str": TextEditor}


class Readout(QWidget):
    """A node's or the design's figures as rows (name, bold value), or one message in their
    place. The values are `FigureText`s, which repaint without laying the inspector out again;
    the rich-text table this replaces was laid out as a document on every edit."""

    def __init__(self):
        super().__init__()
        self._form = QFormLayout(self)
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.setVerticalSpacing(2)
        self.message = QLabel()
        self.message.setObjectName("error")
        self.message.setWordWrap(True)
        self.message.hide()
        self._form.addRow(self.message)
        self.values = {}    # row name -> its value label

    def set_rows(self, rows):
        """`rows`: (name, value text) pairs; labels are reused while the names stay the same."""
        self.message.hide()
        if [name for name, _ in rows] != list(self.values):
            while self._form.rowCount() > 1:
                self._form.removeRow(1)
            self.values = {}
            for name, _ in rows:
                value = FigureText(bold=True)   # painted: a new value lays nothing out again
                self._form.addRow(name, value)
                self.values[name] = value
        for name, text in rows:
            self.values[name].setText(text)
            self._form.setRowVisible(self.values[name], True)

    def set_message(self, text):
        for value in self.values.values():
            self._form.setRowVisible(value, False)
        self.message.setText(text)
        self.message.show()

    def text(self):
        """What it shows, as plain text (name: value lines, or the message)."""
        if not self.message.isHidden() or not self.values:
            return self.message.text()
        return "\n".join(f"{name}: {label.text()}" for name, label in self.values.items())


class Inspector(QScrollArea):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.document = None
        self.graph = None
        self.read_only = False
        self.node_id = None
        self.editors = {}
        self._body = None
        self._undo_keys = DesignUndoKeys(self)
        self.show_nodes([])

    def set_document(self, document, graph=None, analysis=None, read_only=False):
        """Inspect `graph` (the document's, or a block's inside shown read-only)."""
        if self.graph is not None:
            self.graph.node_changed.disconnect(self._on_node_changed)
            self.graph.metadata_changed.disconnect(self._on_metadata)
            self.analysis.updated.disconnect(self._on_results)
        self.document = document
        if document is None:   # no design open
            self.graph = None
            self.show_nodes([])
            return
        self.graph = graph if graph is not None else document.graph
        self.analysis = analysis if analysis is not None else document.analyzer
        self.read_only = read_only
        self.graph.node_changed.connect(self._on_node_changed)
        self.graph.metadata_changed.connect(self._on_metadata)
        self.analysis.updated.connect(self._on_results)
        self.show_nodes([])

    # ---- building ----------------------------------------------------------------------------
    def _new_body(self):
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(8)
        # Never squeezed below the fields' own height: a short dock scrolls instead (by default
        # the word-wrapped help text's height-for-width let the scroll area crush the fields).
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        self.setWidget(body)
        self._body = body
        self.editors = {}
        return layout

    def show_nodes(self, node_ids):
        self._shown_ids = list(node_ids)
        layout = self._new_body()
        self.node_id = node_ids[0] if len(node_ids) == 1 else None
        if self.graph is None:
            layout.addWidget(QLabel("No design open"))
        elif self.node_id is not None and self.node_id in self.graph.nodes:
            self._build_node(layout, self.graph.nodes[self.node_id])
        elif node_ids:
            self._build_many(layout, node_ids)
        else:
            self._build_design(layout)
        layout.addStretch(1)
        for field in self._body.findChildren(QWidget):
            if isinstance(field, (QLineEdit, QAbstractSpinBox, QComboBox)):
                field.installEventFilter(self._undo_keys)

    def _heading(self, layout, text, sub=""):
        title = QLabel(text)
        title.setObjectName("heading")
        title.setWordWrap(True)
        layout.addWidget(title)
        if sub:
            label = QLabel(sub)
            label.setObjectName("dim")
            label.setWordWrap(True)
            layout.addWidget(label)

    def _build_design(self, layout):
        graph = self.graph
        self._heading(layout, graph.name or "untitled", "Nothing selected: the whole design")
        if graph.description:
            text = QLabel(graph.description)
            text.setWordWrap(True)
            layout.addWidget(text)
        self.readout = Readout()
        layout.addWidget(self.readout)
        hint = QLabel("Select a node to edit its parameters. Drag layers in from the palette; drag "
                      "from an output port (bottom) to an input port (top) to connect.")
        hint.setObjectName("dim")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self._update_readout()

    def _build_many(self, layout, node_ids):
        results = self.analysis.results
        params = sum(results[n].params for n in node_ids if n in results)
        macs = sum(results[n].macs for n in node_ids if n in results)
        self._heading(layout, f"{len(node_ids)} nodes selected",
                      f"{params:,} parameters · {human(macs)} multiply-adds")
        self.readout = None

    def _build_node(self, layout, node):
        spec = node.spec
        self._heading(layout, spec.title, spec.type if spec.title != spec.type else "")
        help_text = QLabel(spec.help)
        help_text.setWordWrap(True)
        help_text.setObjectName("dim")
        layout.addWidget(help_text)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignRight)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.name_edit = QLineEdit(node.id)
        self.name_edit.setToolTip("The node's name; module paths and state_dict keys use it")
        self.name_edit.setReadOnly(self.read_only)
        self.name_edit.editingFinished.connect(self._rename)
        form.addRow("name", self.name_edit)
        for param in spec.params:
            editor = EDITORS[param.kind](param)
            editor.set_value(node.params[param.name])
            tip = param.help
            if param.min is not None or param.max is not None:
                tip += f" (range {param.min if param.min is not None else '…'} to "
                tip += f"{param.max if param.max is not None else '…'})"
            editor.setToolTip(tip)
            editor.setEnabled(not self.read_only)
            editor.edited.connect(lambda value, name=param.name: self._edit(name, value))
            label = QLabel(param.label)
            label.setToolTip(tip)
            form.addRow(label, editor)
            self.editors[param.name] = editor
        layout.addLayout(form)
        self.problem = QLabel()
        self.problem.setObjectName("error")
        self.problem.setWordWrap(True)
        self.problem.hide()
        layout.addWidget(self.problem)
        self.readout = Readout()
        layout.addWidget(self.readout)
        self._update_readout()

    def _update_readout(self):
        if getattr(self, "readout", None) is None:
            return
        if self.node_id is None:
            results = self.analysis.results.values()
            params = sum(r.params for r in results)
            macs = sum(r.macs for r in results)
            errors = sum(1 for r in results if r.error)
            rows = [("Layers", f"{len(self.graph.nodes)}"), ("Parameters", f"{params:,}"),
                    ("Multiply-adds", f"{macs:,} ({human(macs)})"), ("Errors", str(errors))]
        else:
            r = self.analysis.results.get(self.node_id)
            if r is None:
                return
            if r.error or r.blocked:
                self.readout.set_message(r.message)
                return
            shapes = ", ".join(f"{port}: {format_shape(s.shape)}" if len(r.outputs) > 1
                               else format_shape(s.shape) for port, s in r.outputs.items())
            rows = [("Output", shapes), ("Parameters", f"{r.params:,}"),
                    ("Multiply-adds", f"{r.macs:,} ({human(r.macs)})"),
                    ("Activations", f"{r.memory / 1024:,.1f} KiB per sample")]
            if r.receptive_field:
                rows.append(("Receptive field", format_shape(r.receptive_field)))
        self.readout.set_rows(rows)

    # ---- edits -------------------------------------------------------------------------------
    def _edit(self, name, value):
        if self.read_only or self.node_id is None:
            return
        try:
            self.document.push(SetParams(self.graph, self.node_id, **{name: value}))
        except DesignError as error:
            self.problem.setText(str(error))
            self.problem.show()
            self.editors[name].set_value(self.graph.nodes[self.node_id].params[name])
            return
        self.problem.hide()

    def _rename(self):
        new = self.name_edit.text().strip()
        if self.read_only or self.node_id is None or new == self.node_id:
            return
        try:
            self.document.push(Rename(self.graph, self.node_id, new))
        except DesignError as error:
            self.problem.setText(str(error))
            self.problem.show()
            self.name_edit.setText(self.node_id)
            return
        self.node_id = new
        self.problem.hide()

    # ---- following the graph -------------------------------------------------------------------
    def _on_node_changed(self, node, aspect):
        if aspect == "id" and self.node_id is not None and self.node_id not in self.graph.nodes:
            if self.graph.nodes.get(node.id) is node:
                self.node_id = node.id
                self.name_edit.setText(node.id)
            return
        if node.id != self.node_id or aspect != "params":
            return
        for name, editor in self.editors.items():
            if editor.value() != node.params[name]:
                editor.set_value(node.params[name])

    def _on_metadata(self):
        if not self._shown_ids:   # the whole design is shown: its name changed
            self.show_nodes([])

    def _on_results(self, changed):
        if self.node_id is None or self.node_id in changed:
            self._update_readout()

    def focus_name(self):
        if self.node_id is not None:
            self.name_edit.setFocus()
            self.name_edit.selectAll()
