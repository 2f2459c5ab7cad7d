"""The summary panel (per-layer table and totals, like MATLAB's analyzeNetwork) and the issues
list (every node in error, then speed hints; click to focus it). Both read the live analysis; neither keeps a copy."""

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel,
                               QListWidget, QListWidgetItem, QPushButton, QTableView, QVBoxLayout,
                               QWidget)

from designer.core.params import format_shape
from designer.core.registry import Role
from designer.core.summary import frozen_params, human
from designer.speed.hints import design_problems

from .theme import icon
from .widgets import FigureText

# Roles as plain ints: a repaint asks data() for every role of every visible cell, and looking
# an enum up by its short name (Qt.DisplayRole) costs microseconds each in PySide6.
DISPLAY, ALIGNMENT, FOREGROUND, TOOLTIP = (int(role.value) for role in (
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole, Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.ToolTipRole))
_ROLES = frozenset((DISPLAY, ALIGNMENT, FOREGROUND, TOOLTIP))
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)

ERROR = "#d33f3f"

COLUMNS = ("Layer", "Type", "Output shape", "Parameters", "Multiply-adds", "Activations",
           "Receptive field", "Latency")
LATENCY = COLUMNS.index("Latency")
FIRST_FIGURE = COLUMNS.index("Output shape")   # the columns an analysis changes, to Latency


def _runs(rows):
    """(first, last) of each run of consecutive numbers in the sorted list `rows`."""
    runs = []
    for row in rows:
        if runs and row == runs[-1][1] + 1:
            runs[-1][1] = row
        else:
            runs.append([row, row])
    return runs


class SummaryModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.graph = None
        self.analysis = None
        self.rows = []
        self.row_of = {}
        self.error_colour = QColor(ERROR)
        self.stale_colour = QColor("#8a93a3")
        self.latency = {}             # node id -> measured ms (a measurement, not graph state)
        self.latency_total = None     # end-to-end ms of that measurement
        self.latency_version = None   # the graph version it was measured at
        self._text_cache = {}         # node id -> (the NodeResult, its row's texts)
        self._in_error = set()        # node ids whose rows show red

    def set_latency(self, node_ms, total_ms, version):
        self.latency, self.latency_total, self.latency_version = dict(node_ms), total_ms, version
        self.refresh_latency()

    def refresh_latency(self):
        if self.rows:
            self.dataChanged.emit(self.index(0, LATENCY), self.index(len(self.rows) - 1, LATENCY))

    @property
    def latency_stale(self):
        return self.graph is not None and self.latency_version != self.graph.version

    def set_source(self, graph, analysis):
        self.beginResetModel()
        self.graph, self.analysis = graph, analysis
        self._order()
        self.endResetModel()

    def _order(self):
        order, rest = self.graph.topological_order() if self.graph is not None else ([], [])
        self.rows = order + rest
        self.row_of = {nid: i for i, nid in enumerate(self.rows)}
        self._text_cache = {}
        results = self.analysis.results if self.analysis is not None else {}
        self._in_error = {nid for nid in self.rows if nid in results and results[nid].error}

    def refresh_structure(self):
        self.beginResetModel()
        self._order()
        self.endResetModel()

    def refresh_nodes(self, node_ids):
        """Announce the changed cells, run by run of rows: rows in view that did not change are
        not redrawn (one range from the first to the last changed row redrew them all), nor are
        a row's name and type, which no analysis changes, unless the row went into or out of
        error (they turn red)."""
        results = self.analysis.results
        figures, whole = [], []
        for nid in node_ids:
            row = self.row_of.get(nid)
            if row is None:
                continue
            result = results.get(nid)
            in_error = result is not None and result.error is not None
            if in_error != (nid in self._in_error):
                self._in_error ^= {nid}
                whole.append(row)
            else:
                figures.append(row)
        for rows, first_column in ((whole, 0), (figures, FIRST_FIGURE)):
            for start, end in _runs(sorted(rows)):
                self.dataChanged.emit(self.index(start, first_column), self.index(end, LATENCY - 1))

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index, role=DISPLAY):
        if role not in _ROLES:
            return None
        nid = self.rows[index.row()]
        result = self.analysis.results.get(nid)
        if result is None or nid not in self.graph.nodes:
            return None
        column = index.column()
        if role == DISPLAY:
            if column == LATENCY:
                ms = self.latency.get(nid)
                return "" if ms is None else f"{ms:.3f} ms"
            return self._texts(nid, result)[column]
        if role == ALIGNMENT:
            return _RIGHT if column >= 3 else None
        if role == FOREGROUND:
            if result.error:
                return self.error_colour
            return self.stale_colour if column == LATENCY and self.latency_stale else None
        if result.error:   # the tooltip
            return result.error
        if column == LATENCY and nid in self.latency:
            share = self.latency[nid] / self.latency_total if self.latency_total else 0.0
            stale = " (measured before the last edit)" if self.latency_stale else ""
            return f"{share:.1%} of the {self.latency_total:.2f} ms forward pass{stale}"
        return None

    def _texts(self, nid, result):
        """The row's texts, formatted once per analysis result (a repaint asks for each cell)."""
        cached = self._text_cache.get(nid)
        if cached is not None and cached[0] is result:
            return cached[1]
        node = self.graph.nodes[nid]
        if not result.ok:
            shape = "error" if result.error else "—"
        else:
            shape = ", ".join(format_shape(s.shape) for s in result.outputs.values())
        texts = (nid, node.type, shape, f"{result.params:,}", human(result.macs),
                 f"{result.memory / 1024:,.1f} KiB" if result.memory else "",
                 format_shape(result.receptive_field) if result.receptive_field else "")
        self._text_cache[nid] = (result, texts)
        return texts


def _bold(value):
    return str(value), True, None


class SummaryTable(QTableView):
    """The per-layer table. Qt repaints the whole table for any range of changed cells; an edit
    that re-flows 900 layers changes every row, so this repaints only the changed cells on
    screen."""

    def dataChanged(self, top_left, bottom_right, roles=()):
        viewport = self.viewport()
        first = max(top_left.row(), self.rowAt(0))
        last = self.rowAt(viewport.height() - 1)
        last = bottom_right.row() if last < 0 else min(bottom_right.row(), last)
        if first > last:
            return                      # all of it off screen
        model = self.model()
        shown = (self.visualRect(model.index(first, top_left.column()))
                 | self.visualRect(model.index(last, bottom_right.column())))
        viewport.update(shown)


class SummaryPanel(QWidget):
    """The table and totals, plus measured latency per layer: "Measure latency" times the design
    in a job's thread (CPU, batch 1); "Heat" tints the canvas nodes by their share of the time."""
    node_selected = Signal(str)
    heat_changed = Signal(object)     # node id -> share of the forward time (0..1), or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = SummaryModel(self)
        self.table = SummaryTable()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)     # one line a row, elided: cheaper to lay out on each repaint
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        for column, width in enumerate((160, 130, 130, 100, 100, 100, 110, 90)):
            if column:
                header.resizeSection(column, width)
        self.totals = FigureText()
        self.latency_label = QLabel()
        self.latency_label.setObjectName("dim")
        self.measure_button = QPushButton("Measure latency")
        self.measure_button.setToolTip("Time every layer on this computer's CPU (batch 1) in the "
                                       "background; the Latency column shows the result")
        self.measure_button.clicked.connect(self.measure_latency)
        self.heat_box = QCheckBox("Heat")
        self.heat_box.setToolTip("Tint the nodes on the canvas by their share of the measured time")
        self.heat_box.toggled.connect(lambda on: self.heat_changed.emit(self.heat()))
        header = QHBoxLayout()
        header.addWidget(self.totals, 1)
        header.addWidget(self.latency_label)
        header.addWidget(self.measure_button)
        header.addWidget(self.heat_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.table)
        self.latency_job = None
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self._syncing = False
        self.graph = None

    def set_source(self, graph, analysis):
        if self.graph is not None:
            self.graph.changed.disconnect(self._on_changed)
            self.analysis.updated.disconnect(self._on_results)
        self.graph, self.analysis = graph, analysis
        self.model.set_source(graph, analysis)
        self.model.set_latency({}, None, None)        # a new design: nothing measured yet
        self.latency_label.setText("")
        self.heat_changed.emit(None)
        if graph is None:   # no design open
            self.totals.setText("")
            return
        graph.changed.connect(self._on_changed)
        analysis.updated.connect(self._on_results)
        self._update_totals()

    def _on_changed(self, change):
        if change.structure:
            self.model.refresh_structure()
        self._update_totals()        # a node frozen or thawed changes no result, only the counts
        if self.model.latency and self.model.latency_stale:
            self.model.refresh_latency()        # grey: measured before this edit
            self.latency_label.setText("edited since measured")

    # ---- measured latency ----------------------------------------------------------------------
    def measure_latency(self):
        """Time the design in a job's thread (CPU, batch 1); False when it cannot start (errors,
        running)."""
        if self.graph is None or self.latency_job is not None:
            return False
        if self.analysis.errors():
            self.latency_label.setText("fix the errors to measure")
            return False
        from designer.speed.profile import measure
        from .jobs import Job
        self.latency_job = Job(parent=self)
        self._measuring = (self.graph, self.graph.version)
        self.latency_job.returned.connect(self._on_measured)
        self.latency_job.errored.connect(self._on_measure_failed)
        self.latency_job.finished.connect(self._on_measure_done)
        self.measure_button.setEnabled(False)
        self.latency_label.setText("measuring…")
        # A frozen copy: editing the design cannot race the measurement.
        self.latency_job.start(measure, self.graph.copy(), repeats=5, warmup=2)
        return True

    def _on_measured(self, timing):
        graph, version = self._measuring
        if graph is not self.graph:      # another design was opened meanwhile
            return
        self.model.set_latency(timing.node_ms, timing.end_to_end_ms, version)
        self.latency_label.setText(f"{timing.end_to_end_ms:.2f} ms forward (CPU, batch 1)")
        self.heat_changed.emit(self.heat())

    def _on_measure_failed(self, text):
        self.latency_label.setText("could not measure")
        self.latency_label.setToolTip(text)

    def _on_measure_done(self):
        self.latency_job.deleteLater()
        self.latency_job = None
        self.measure_button.setEnabled(True)

    def heat(self):
        """Node id -> share of the measured forward time, scaled so the slowest node is 1; None
        when the tint is off or nothing was measured."""
        latency = self.model.latency
        if not self.heat_box.isChecked() or not latency:
            return None
        slowest = max(latency.values()) or 1.0
        return {nid: ms / slowest for nid, ms in latency.items()}

    def set_theme(self, theme):
        """Rows in error take the theme's error colour."""
        self.model.error_colour = QColor(theme.error)
        self.table.viewport().update()

    def shutdown(self):
        if self.latency_job is not None:
            self.latency_job.wait()

    def _on_results(self, changed):
        self.model.refresh_nodes(changed)
        self._update_totals()

    def _update_totals(self):
        totals = getattr(self.analysis, "totals", None)
        if totals is not None:   # the core's totals: layers that reach no output left out
            params, macs, memory, errors = totals.params, totals.macs, totals.memory, totals.errors
        else:                    # a block's inside, analysed once
            results = self.analysis.results
            params = sum(r.params for r in results.values())
            macs = sum(r.macs for r in results.values())
            memory = sum(r.memory for nid, r in results.items()
                         if nid in self.graph.nodes and self.graph.nodes[nid].role is not Role.OUTPUT)
            errors = sum(1 for r in results.values() if r.error)
        error = [" · ", (str(errors), True, ERROR), (" in error", False, ERROR)] if errors else []
        frozen = frozen_params(self.graph, self.analysis.results,
                               getattr(self.analysis, "unused", ()))
        trainable = ([" (", _bold(f"{params - frozen:,}"), " trainable, ", _bold(f"{frozen:,}"),
                      " frozen)"] if frozen else [])
        self.totals.set_segments([_bold(len(self.graph.nodes)), " layers · ", _bold(f"{params:,}"),
                                  " parameters"] + trainable + [" · ", _bold(human(macs)),
                                  " multiply-adds · ",
                                  _bold(f"{memory / 2**20:.2f} MiB"),
                                  " activations per sample (fp32)"] + error)

    def select_ids(self, node_ids):
        """Follow the canvas selection without echoing it back."""
        self._syncing = True
        try:
            selection = self.table.selectionModel()
            selection.clearSelection()
            first = None
            for nid in node_ids:
                row = self.model.row_of.get(nid)
                if row is not None:
                    selection.select(self.model.index(row, 0),
                                     selection.SelectionFlag.Select | selection.SelectionFlag.Rows)
                    first = row if first is None else first
            if first is not None:
                self.table.scrollTo(self.model.index(first, 0))
        finally:
            self._syncing = False

    def _on_selection(self, *args):
        if self._syncing:
            return
        rows = self.table.selectionModel().selectedRows()
        if len(rows) == 1:
            self.node_selected.emit(self.model.rows[rows[0].row()])


class IssuesPanel(QListWidget):
    """Nodes in error, then speed hints (ShuffleNet V2's guidelines, which never block), in network
    order; activating one focuses its node on the canvas."""
    node_selected = Signal(str)
    count_changed = Signal(int)      # errors only: hints are advice

    SEVERITY_ROLE = Qt.UserRole + 1
    CATCH_UP_MS = 150     # after the last edit: a pause, not a frame

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        self.itemClicked.connect(self._clicked)
        self.itemActivated.connect(self._clicked)
        self.analysis = None
        self._shown = None
        self._stale = False
        self._catch_up = QTimer(self)
        self._catch_up.setSingleShot(True)
        self._catch_up.setInterval(self.CATCH_UP_MS)
        self._catch_up.timeout.connect(self._refresh_if_stale)

    def set_source(self, analysis, theme):
        if self.analysis is not None:
            self.analysis.updated.disconnect(self._on_results)
        self.analysis = analysis
        self.theme = theme
        if analysis is None:   # no design open
            self._shown = None
            self.clear()
            self.count_changed.emit(0)
            return
        analysis.updated.connect(self._on_results)
        self.refresh()

    def _on_results(self, changed):
        # The design hints look at the whole graph (milliseconds on a 900-layer design, more than
        # the edit itself): the error count follows every edit, the list catches up once edits
        # pause (a spin box held down is one refresh), or when it is shown or read.
        self._stale = True
        self.count_changed.emit(self.analysis.totals.errors)
        if self.isVisible():
            self._catch_up.start()

    def showEvent(self, event):
        super().showEvent(event)
        self._refresh_if_stale()

    def _refresh_if_stale(self):
        if self._stale and self.analysis is not None:
            self.refresh(force=False)

    def refresh(self, force=True):
        self._stale = False
        problems = design_problems(self.analysis)
        if not force and problems == self._shown:
            return   # most edits change no problem: leave the list as it is
        self._shown = problems
        self.clear()
        icons = {"error": icon("warning", self.theme.error), "hint": icon("hint", self.theme.accent)}
        errors = 0
        for problem in problems:
            errors += problem.severity == "error"
            label = "hint · " if problem.severity == "hint" else ""
            # A problem of the whole design (no Output node...) has no node to name.
            text = (f"{problem.node_id} — {label}{problem.text}" if problem.node_id
                    else problem.text[:1].upper() + problem.text[1:])
            item = QListWidgetItem(icons[problem.severity], text)
            item.setData(Qt.UserRole, problem.node_id)
            item.setData(self.SEVERITY_ROLE, problem.severity)
            item.setToolTip(problem.text)
            self.addItem(item)
        if not errors:
            item = QListWidgetItem("No problems: every shape checks out.")
            item.setFlags(Qt.NoItemFlags)
            self.insertItem(0, item)
        self.count_changed.emit(errors)

    def node_ids(self, severity="error"):
        """The listed nodes with problems of this severity ("error" or "hint"), in order."""
        self._refresh_if_stale()
        return [self.item(i).data(Qt.UserRole) for i in range(self.count())
                if self.item(i).data(Qt.UserRole) and self.item(i).data(self.SEVERITY_ROLE) == severity]

    def _clicked(self, item):
        nid = item.data(Qt.UserRole)
        if nid:
            self.node_selected.emit(nid)
