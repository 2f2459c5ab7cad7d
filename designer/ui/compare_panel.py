"""File ▸ Compare: a second design beside the open one, with matching nodes linked.

The panel shows design B (a file or preset) read-only in its own view, the totals of A and B with
their ratios, and a table of every node of either design (matched by name) with its status and
both sides' shapes, parameters and multiply-adds, from `designer.interop.diff` (the same data as
`designer diff --json`). Selecting nodes in the editor selects and shows their matches in B and in
the table; clicking a row or a node of B selects its match in the editor.
"""

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QPushButton, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget, QFileDialog,
                               QAbstractItemView)

from designer.core.errors import DesignError
from designer.core.infer import analyze
from designer.core.layout import layered_positions
from designer.core.params import format_shape
from designer.core.summary import human

from .scene import GraphScene, StaticResults
from .theme import THEMES
from .view import GraphView

COLUMNS = ("Node", "Status", "Shape A", "Shape B", "Params A", "Params B", "MACs A", "MACs B")
STATUS_COLOURS = {   # by theme: the light theme's deep colours are unreadable on a dark table
    "light": {"added": "#2e7d32", "removed": "#c62828", "changed": "#ef6c00"},
    "dark": {"added": "#66bb6a", "removed": "#ef5350", "changed": "#ffa726"},
}


class ComparePanel(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.other = None          # design B's graph
        self.result = None         # the diff of A and B
        self.scene = None
        self._linking = False
        self.theme = context.theme or THEMES["light"]

        self.source = QComboBox()
        self.source.setEditable(True)
        # As wide as the dock allows, not as the longest preset name: the panel shares the
        # right-hand dock area with the Inspector, which it would otherwise hold wide.
        self.source.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.source.setMinimumContentsLength(12)
        self.source.setToolTip("A preset name or a design file to compare the open design with")
        from designer.core.presets import preset_names
        self.source.addItems(preset_names())
        self.source.setCurrentText("")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        compare = QPushButton("Compare")
        compare.clicked.connect(lambda: self.compare_with(self.source.currentText()))
        row = QHBoxLayout()
        row.addWidget(QLabel("Compare with"))
        row.addWidget(self.source, 1)
        row.addWidget(browse)
        row.addWidget(compare)

        self.totals = QLabel("Open a design, then choose one to compare it with.")
        self.totals.setWordWrap(True)
        self.view = GraphView(self.theme)
        self.view.minimap.hide()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.itemSelectionChanged.connect(self._on_table_selection)
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.view)
        split.addWidget(self.table)
        split.hide()  # until there is a design B
        self.split = split

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.totals)
        layout.addWidget(split, 1)
        context.document_changed.connect(lambda document: self.refresh())
        context.selection_changed.connect(self.show_matches)
        context.compare_requested.connect(self.compare_with)
        context.theme_changed.connect(self.set_theme)

    # ---- choosing design B ------------------------------------------------------------------
    def _browse(self):
        path, _ = QFileDialog.getOpenFileName(self, "Compare with", "", "Designs (*.json)")
        if path:
            self.compare_with(path)

    def compare_with(self, file_or_preset):
        """Load design B (a file or preset name) and compare; a bad name is reported, not raised."""
        from designer.core.presets import load_design
        try:
            other = load_design(file_or_preset.strip())
        except DesignError as error:
            self.context.show_message(f"Compare: {error}")
            self.totals.setText(str(error))
            return False
        self.source.setCurrentText(file_or_preset)
        # B is shown read-only: lay it out afresh for this view, as presets open in the editor,
        # so a long network wraps into columns instead of a column of unlabelled bars.
        for node_id, position in layered_positions(other, aspect=self._view_aspect()).items():
            other.move(node_id, position)
        self.other = other
        self.shutdown()
        self.scene = GraphScene(other, StaticResults(analyze(other)), self.theme)
        self.scene.selectionChanged.connect(self._on_scene_selection)
        self.view.setScene(self.scene)
        if not self.split.isVisible():      # first shown: the table gets half, not one row
            self.split.show()
            height = max(self.split.height(), 200)
            self.split.setSizes([height // 2, height - height // 2])
        self.view.fit()
        self.refresh()
        return True

    def _view_aspect(self):
        """Width / height of B's view (a typical one before it is first shown)."""
        size = self.view.viewport().size()
        return size.width() / size.height() if size.height() >= 100 else 1.6

    def set_theme(self, theme):
        """Design B's canvas and the table's status colours in the editor's theme."""
        self.theme = theme
        self.view.set_theme(theme)
        if self.scene is not None:
            self.scene.set_theme(theme)
        if self.result is not None:
            self._fill_table()

    def shutdown(self):
        """Let go of design B's scene (also called by the window when it closes)."""
        if self.scene is not None:
            self.scene.selectionChanged.disconnect(self._on_scene_selection)
            self.scene.detach()

    def refresh(self):
        """Recompute the comparison of the open design with design B."""
        graph = self.context.graph
        if graph is None or self.other is None:
            return
        from designer.interop.diff import diff_designs
        self.result = diff_designs(graph, self.other)
        ta, tb = self.result["totals"]["a"], self.result["totals"]["b"]
        ratio = self.result["totals"]["ratio"]

        def line(key, label):
            r = f" (×{ratio[key]:.3f})" if ratio[key] is not None else ""
            return f"{label} {human(ta[key])} → {human(tb[key])}{r}"

        self.totals.setText(
            f"A: {self.result['a']}   B: {self.result['b']}\n"
            f"{line('params', 'Parameters')}   {line('macs', 'MACs')}\n"
            f"{len(self.result['added'])} added, {len(self.result['removed'])} removed, "
            f"{len(self.result['changed'])} changed")
        self._fill_table()

    def _fill_table(self):
        nodes = self.result["nodes"]
        self.table.blockSignals(True)
        self.table.setRowCount(len(nodes))
        for row, entry in enumerate(nodes):
            a, b = entry["a"] or {}, entry["b"] or {}

            def shape(side):
                return format_shape(side["output_shape"]) if side.get("output_shape") else "—"

            values = (entry["id"], entry["status"], shape(a), shape(b),
                      f"{a['param_count']:,}" if a else "—", f"{b['param_count']:,}" if b else "—",
                      human(a["macs"]) if a else "—", human(b["macs"]) if b else "—")
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                colour = STATUS_COLOURS[self.theme.name].get(entry["status"])
                if colour and column == 1:
                    item.setForeground(QColor(colour))
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.blockSignals(False)

    # ---- linking ------------------------------------------------------------------------------
    def row_of(self, node_id):
        if self.result is None:
            return None
        for row, entry in enumerate(self.result["nodes"]):
            if entry["id"] == node_id:
                return row
        return None

    def show_matches(self, node_ids):
        """The editor selected `node_ids`: select and show their matches in B and the table."""
        if self.scene is None or self._linking:
            return
        self._linking = True
        try:
            self.scene.clearSelection()
            matches = [nid for nid in node_ids if self.scene.item(nid) is not None]
            for nid in matches:
                self.scene.item(nid).setSelected(True)
            if matches:
                self.view.centerOn(self.scene.item(matches[0]))
            row = self.row_of(node_ids[0]) if node_ids else None
            if row is not None:
                self.table.selectRow(row)
                self.table.scrollToItem(self.table.item(row, 0))
        finally:
            self._linking = False

    def _link_back(self, node_ids):
        graph = self.context.graph
        if graph is None or self._linking:
            return
        matches = [nid for nid in node_ids if nid in graph.nodes]
        if matches:
            self._linking = True
            try:
                self.context.select(matches)
            finally:
                self._linking = False

    def _on_scene_selection(self):
        if not self._linking:
            self._link_back(self.scene.selected_ids())

    def _on_table_selection(self):
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        if not rows or self._linking or self.result is None:
            return
        node_ids = [self.result["nodes"][r]["id"] for r in rows]
        if self.scene is not None:
            self._linking = True
            try:
                self.scene.clearSelection()
                for nid in node_ids:
                    if self.scene.item(nid) is not None:
                        self.scene.item(nid).setSelected(True)
                        self.view.centerOn(self.scene.item(nid))
            finally:
                self._linking = False
        self._link_back(node_ids)
