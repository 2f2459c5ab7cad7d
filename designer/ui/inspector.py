"""The inspector: one typed editor per parameter of the selected node, its readouts (output shape,
parameters, multiply-adds, memory, receptive field, the error sentence), and renaming.

The editors are the shared table of `forms.py` (the panels' settings forms use the same ones).
They are bound both ways without echo: a value typed by the person becomes a `SetParams`
command; a change in the graph (undo, another view) updates the editors with their signals
blocked (napari's layer-control binding). A refused value shows the `ParamError` sentence and the
editor returns to the node's value. Undo and redo keys in a field undo the design, not the
field's text.
"""

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QAbstractSpinBox, QComboBox, QFormLayout, QFrame,
                               QLabel, QLayout, QLineEdit, QScrollArea, QVBoxLayout, QWidget)

from designer.core import space
from designer.core.commands import Rename, SetParams, SetTraining
from designer.core.errors import DesignError
from designer.core.params import Param, format_shape
from designer.core.registry import Role
from designer.core.space import SetSearchable
from designer.core.summary import human

from .forms import EDITORS, tooltip
from .widgets import FigureText


# How training treats a node (transfer learning), edited like its parameters; stored on the node.
TRAINING_MARKS = (
    Param("frozen", "bool", False, "Training leaves this node's parameters as they are (no "
          "gradient) and its batch norms keep their statistics; drawn greyed",
          title="Frozen"),
    Param("lr_factor", "float", 1.0, "This node's learning rate is the run's times this "
          "factor (MATLAB's learn-rate factor)", title="LR factor", above=0, decimals=3,
          step=0.1),
)

# Parameter kinds a search may vary (a number, a choice, a kernel or stride pair, a flag).
SEARCHABLE_KINDS = ("int", "float", "count", "choice", "pair", "padding", "bool")


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
        self.marks = {}        # name in TRAINING_MARKS -> its editor
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
        self.marks = {}
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
        self._shown_ids = [n for n in node_ids if n in self.graph.nodes]
        form = QFormLayout()
        self._add_mark(form, TRAINING_MARKS[0],
                       all(self.graph.nodes[n].frozen for n in self._shown_ids))
        layout.addLayout(form)
        self.problem = QLabel()
        self.problem.setObjectName("error")
        self.problem.hide()
        layout.addWidget(self.problem)

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
            editor.setToolTip(tooltip(param))
            editor.setEnabled(not self.read_only)
            editor.edited.connect(lambda value, name=param.name: self._edit(name, value))
            label = QLabel(param.label)
            label.setToolTip(editor.toolTip())
            form.addRow(label, editor)
            self.editors[param.name] = editor
        if node.role not in (Role.INPUT, Role.OUTPUT):     # the layers that can hold weights
            for mark in TRAINING_MARKS:
                self._add_mark(form, mark, getattr(node, mark.name))
        layout.addLayout(form)
        self._build_search(layout, node)
        self.problem = QLabel()
        self.problem.setObjectName("error")
        self.problem.setWordWrap(True)
        self.problem.hide()
        layout.addWidget(self.problem)
        self.readout = Readout()
        layout.addWidget(self.readout)
        self._update_readout()

    def _add_mark(self, form, mark, value):
        editor = EDITORS[mark.kind](mark)
        editor.set_value(value)
        editor.setToolTip(tooltip(mark))
        editor.setEnabled(not self.read_only)
        editor.edited.connect(lambda value, name=mark.name: self._mark(name, value))
        label = QLabel(mark.label)
        label.setToolTip(editor.toolTip())
        form.addRow(label, editor)
        self.marks[mark.name] = editor

    def _marked_ids(self):
        return [self.node_id] if self.node_id is not None else list(self._shown_ids)

    def _mark(self, name, value):
        """A Frozen tick or an LR factor typed: one `SetTraining` edit of the node(s) shown."""
        if self.read_only or not self._marked_ids():
            return
        self._push(lambda: SetTraining(self.graph, self._marked_ids(), **{name: value}),
                   self._show_marks)

    def _show_marks(self):
        nodes = [self.graph.nodes[n] for n in self._marked_ids() if n in self.graph.nodes]
        if not nodes:
            return
        values = {"frozen": all(n.frozen for n in nodes), "lr_factor": nodes[0].lr_factor}
        for name, editor in self.marks.items():
            if editor.value() != values[name]:
                editor.set_value(values[name])

    def _build_search(self, layout, node):
        """The node's search space: one field per parameter a search may vary (values "3, 5, 7"
        or a range "8:32:8"; empty: not searched), and the block type among compatible ones."""
        self.search_fields = {}
        names = [p.name for p in node.spec.params if p.kind in SEARCHABLE_KINDS]
        if node.is_block and node.subgraph is None:
            names.append(space.TYPE)
        if not names or self.read_only:
            return
        title = QLabel("Search space")
        title.setObjectName("heading")
        title.setToolTip("What `designer sweep --space design` and the Experiments panel may "
                         "vary; saved in the design file")
        layout.addWidget(title)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignRight)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        for name in names:
            field = QLineEdit()
            field.setPlaceholderText("not searched (3, 5, 7 or 8:32:8)" if name != space.TYPE
                                     else "not searched (BasicBlock, Bottleneck)")
            field.setToolTip("Values separated by commas, or LOW:HIGH:STEP for a number; "
                             "empty to keep the parameter fixed")
            field.editingFinished.connect(lambda name=name: self._edit_search(name))
            form.addRow(QLabel(name.replace("_", " ")), field)
            self.search_fields[name] = field
        layout.addLayout(form)
        self._show_search()

    def _show_search(self):
        searched = self.graph.search.get(self.node_id, {})
        for name, field in getattr(self, "search_fields", {}).items():
            found = searched.get(name)
            field.setText(found.text() if found else "")

    def _edit_search(self, name):
        if self.read_only or self.node_id is None:
            return
        text = self.search_fields[name].text().strip()
        current = self.graph.search.get(self.node_id, {}).get(name)
        try:
            searchable = space.parse(text) if text else None
        except DesignError as error:
            self._refuse(error, self._show_search)
            return
        if searchable == current or (searchable is None and current is None):
            return
        self._push(lambda: SetSearchable(self.graph, self.node_id, name, searchable),
                   self._show_search)

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
        self._push(lambda: SetParams(self.graph, self.node_id, **{name: value}),
                   lambda: self.editors[name].set_value(
                       self.graph.nodes[self.node_id].params[name]))

    def _push(self, make_command, restore):
        """Push the edit `make_command()` builds; a refused one shows its sentence and
        `restore()` puts the field back. True when the edit was made."""
        try:
            self.document.push(make_command())
        except DesignError as error:
            self._refuse(error, restore)
            return False
        self.problem.hide()
        return True

    def _refuse(self, error, restore):
        self.problem.setText(str(error))
        self.problem.show()
        restore()

    def _rename(self):
        new = self.name_edit.text().strip()
        if self.read_only or self.node_id is None or new == self.node_id:
            return
        if self._push(lambda: Rename(self.graph, self.node_id, new),
                      lambda: self.name_edit.setText(self.node_id)):
            self.node_id = new

    # ---- following the graph -------------------------------------------------------------------
    def _on_node_changed(self, node, aspect):
        if aspect == "id" and self.node_id is not None and self.node_id not in self.graph.nodes:
            if self.graph.nodes.get(node.id) is node:
                self.node_id = node.id
                self.name_edit.setText(node.id)
            return
        if aspect == "training" and node.id in self._marked_ids():
            self._show_marks()
            return
        if node.id != self.node_id or aspect != "params":
            return
        for name, editor in self.editors.items():
            if editor.value() != node.params[name]:
                editor.set_value(node.params[name])

    def _on_metadata(self):
        if not self._shown_ids:   # the whole design is shown: its name changed
            self.show_nodes([])
        elif self.node_id is not None:      # the search space may have changed (undo...)
            self._show_search()

    def _on_results(self, changed):
        if self.node_id is None or self.node_id in changed:
            self._update_readout()

    def focus_name(self):
        if self.node_id is not None:
            self.name_edit.setFocus()
            self.name_edit.selectAll()
