"""The summary panel (per-layer table and totals, like MATLAB's analyzeNetwork) and the issues
list (every node in error, then speed hints; click to focus it). Both read the live analysis; neither keeps a copy."""

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QListWidget, QListWidgetItem,
                               QTableView, QVBoxLayout, QWidget)

from designer.core.params import format_shape
from designer.core.summary import human

from .theme import icon

COLUMNS = ("Layer", "Type", "Output shape", "Parameters", "Multiply-adds", "Activations", "Receptive field")


class SummaryModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.graph = None
        self.analysis = None
        self.rows = []
        self.row_of = {}
        self.error_colour = QColor("#d33f3f")

    def set_source(self, graph, analysis):
        self.beginResetModel()
        self.graph, self.analysis = graph, analysis
        self._order()
        self.endResetModel()

    def _order(self):
        order, rest = self.graph.topological_order() if self.graph is not None else ([], [])
        self.rows = order + rest
        self.row_of = {nid: i for i, nid in enumerate(self.rows)}

    def refresh_structure(self):
        self.beginResetModel()
        self._order()
        self.endResetModel()

    def refresh_nodes(self, node_ids):
        """Announce the changed rows, run by run: rows in view that did not change are not
        redrawn (one range from the first to the last changed row redrew them all)."""
        rows = sorted(self.row_of[n] for n in node_ids if n in self.row_of)
        start = previous = None
        for row in rows + [None]:
            if start is not None and (row is None or row != previous + 1):
                self.dataChanged.emit(self.index(start, 0), self.index(previous, len(COLUMNS) - 1))
                start = None
            if start is None:
                start = row
            previous = row

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.DisplayRole):
        nid = self.rows[index.row()]
        node = self.graph.nodes.get(nid)
        result = self.analysis.results.get(nid)
        if node is None or result is None:
            return None
        column = index.column()
        if role == Qt.DisplayRole:
            if column == 0:
                return nid
            if column == 1:
                return node.type
            if column == 2:
                if not result.ok:
                    return "error" if result.error else "—"
                return ", ".join(format_shape(s.shape) for s in result.outputs.values())
            if column == 3:
                return f"{result.params:,}"
            if column == 4:
                return human(result.macs)
            if column == 5:
                return f"{result.memory / 1024:,.1f} KiB" if result.memory else ""
            if column == 6:
                return format_shape(result.receptive_field) if result.receptive_field else ""
        if role == Qt.TextAlignmentRole and column >= 3:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role == Qt.ForegroundRole and result.error:
            return self.error_colour
        if role == Qt.ToolTipRole and result.error:
            return result.error
        return None


class SummaryPanel(QWidget):
    node_selected = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = SummaryModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        for column, width in enumerate((160, 130, 130, 100, 100, 100, 110)):
            if column:
                header.resizeSection(column, width)
        self.totals = QLabel()
        self.totals.setTextFormat(Qt.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.totals)
        layout.addWidget(self.table)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self._syncing = False
        self.graph = None

    def set_source(self, graph, analysis):
        if self.graph is not None:
            self.graph.changed.disconnect(self._on_changed)
            self.analysis.updated.disconnect(self._on_results)
        self.graph, self.analysis = graph, analysis
        self.model.set_source(graph, analysis)
        if graph is None:   # no design open
            self.totals.setText("")
            return
        graph.changed.connect(self._on_changed)
        analysis.updated.connect(self._on_results)
        self._update_totals()

    def _on_changed(self, change):
        if change.structure:
            self.model.refresh_structure()

    def _on_results(self, changed):
        self.model.refresh_nodes(changed)
        self._update_totals()

    def _update_totals(self):
        results = self.analysis.results
        params = sum(r.params for r in results.values())
        macs = sum(r.macs for r in results.values())
        memory = sum(r.memory for nid, r in results.items()
                     if nid in self.graph.nodes and self.graph.nodes[nid].type != "Output")
        errors = sum(1 for r in results.values() if r.error)
        error_text = (f" · <span style='color:#d33f3f'><b>{errors}</b> in error</span>" if errors else "")
        self.totals.setText(f"<b>{len(self.graph.nodes)}</b> layers · <b>{params:,}</b> parameters · "
                            f"<b>{human(macs)}</b> multiply-adds · <b>{memory / 2**20:.2f} MiB</b> "
                            f"activations per sample (fp32){error_text}")

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

    def select_row(self, row):
        self.table.selectRow(row)


class IssuesPanel(QListWidget):
    """Nodes in error, then speed hints (ShuffleNet V2's guidelines, which never block), in network
    order; activating one focuses its node on the canvas."""
    node_selected = Signal(str)
    count_changed = Signal(int)      # errors only: hints are advice

    SEVERITY_ROLE = Qt.UserRole + 1

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        self.itemClicked.connect(self._clicked)
        self.itemActivated.connect(self._clicked)
        self.analysis = None
        self._shown = None

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
        self.refresh(force=False)

    def refresh(self, force=True):
        problems = self.analysis.problems()
        if not force and problems == self._shown:
            return   # most edits change no problem: leave the list as it is
        self._shown = problems
        self.clear()
        icons = {"error": icon("warning", self.theme.error), "hint": icon("hint", self.theme.accent)}
        errors = 0
        for problem in problems:
            errors += problem.severity == "error"
            label = "hint · " if problem.severity == "hint" else ""
            item = QListWidgetItem(icons[problem.severity], f"{problem.node_id} — {label}{problem.text}")
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
        return [self.item(i).data(Qt.UserRole) for i in range(self.count())
                if self.item(i).data(Qt.UserRole) and self.item(i).data(self.SEVERITY_ROLE) == severity]

    def _clicked(self, item):
        nid = item.data(Qt.UserRole)
        if nid:
            self.node_selected.emit(nid)
