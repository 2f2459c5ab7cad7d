"""The Runs panel: every training run of the open design (matched by what the design computes, not
its name: `designer.workspace.runs_of`) in a sortable table, with what was made from each run
(its variants: Compress results) as child rows.

Selecting a run makes its best.pt (else last.pt) the document's current weights; selecting a
variant makes its weights current, and double-clicking it opens its design with them. The name
and notes cells edit in place (F2, a click on the selected cell, or Rename / Notes) and are kept
in the run's run.json (a variant's variant.json); the folder keeps its name. Delete moves the
folder to the trash and Undo Delete (Ctrl+Z in the table) brings it back while the app runs.
Ticked runs plot together in the Train panel (`PanelContext.plot_runs`). Open Folder shows the
folder in the file manager.

The table follows the runs folder (a watcher on it), the document (another design, or an edit
that makes it another design) and the current weights (a run just finished announces its
best.pt); it reads the folders only while the panel is shown.
"""

from pathlib import Path
import time

from PySide6.QtCore import (QEvent, QFileSystemWatcher, QModelIndex, QPersistentModelIndex,
                            QSortFilterProxyModel, Qt, QTimer, QUrl, Signal)
from PySide6.QtGui import (QColor, QDesktopServices, QKeySequence, QStandardItem,
                           QStandardItemModel)
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QMenu,
                               QPushButton, QTreeView, QVBoxLayout, QWidget)

from designer import workspace
from designer.core.errors import DesignError
from designer.home import runs_root

COLUMNS = ("Name", "Status", "Dataset", "Epochs", "Best error", "Last error", "Duration", "Date",
           "Size", "Notes")
NAME, STATUS, DATASET, EPOCHS, BEST, LAST, DURATION, DATE, SIZE, NOTES = range(len(COLUMNS))
NUMERIC = (EPOCHS, BEST, LAST, DURATION, SIZE)
SORT_ROLE = Qt.UserRole + 1      # what a column sorts by (numbers, not their text)
FOLDER_ROLE = Qt.UserRole + 2    # on the name cell: the row's folder
KIND_ROLE = Qt.UserRole + 3      # on the name cell: "run" or "variant"
REFRESH_DELAY_MS = 300
RUNNING_POLL_MS = 5000           # while a listed run is training


class RunsPanel(QWidget):
    """See the module docstring. `root`: the runs folder (the runs root by default)."""
    refreshed = Signal()

    def __init__(self, context, parent=None, root=None):
        super().__init__(parent)
        self.context = context
        self.root = Path(root) if root is not None else None
        self.records = {}        # folder (str) -> workspace.Run or workspace.Variant
        self.ticked = set()      # run folders (str) plotted in the Train panel
        self.trashed = []        # (trashed folder, name) newest last: what Undo Delete restores
        self.stale = True
        self._filling = False
        self._build()
        self.refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self.refresh_timer.timeout.connect(self.refresh)
        self.poll_timer = QTimer(self, interval=RUNNING_POLL_MS)
        self.poll_timer.timeout.connect(self.refresh)
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(lambda path: self.refresh_later())
        context.document_changed.connect(self._document_changed)
        context.weights_changed.connect(self._weights_changed)
        context.theme_changed.connect(lambda theme: self.refresh_later(now=True))
        self._document_changed(context.document)

    # ---- widgets ---------------------------------------------------------------------------
    def _build(self):
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(COLUMNS)
        for column in NUMERIC:
            self.model.horizontalHeaderItem(column).setTextAlignment(
                Qt.AlignRight | Qt.AlignVCenter)
        self.model.itemChanged.connect(self._item_changed)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setSortCaseSensitivity(Qt.CaseInsensitive)
        self.view = QTreeView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(DATE, Qt.DescendingOrder)
        self.view.setAlternatingRowColors(True)
        self.view.setUniformRowHeights(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditKeyPressed
                                  | QAbstractItemView.SelectedClicked)
        self.view.setContextMenuPolicy(Qt.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.doubleClicked.connect(self._double_clicked)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        self.view.installEventFilter(self)
        header = self.view.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.resizeSection(NAME, 280)

        self.buttons = {}
        row = QHBoxLayout()
        for title, slot, tip in (
                ("Rename", self.rename_selected, "Rename the selected run (F2)"),
                ("Notes", self.edit_notes, "Write notes on the selected run"),
                ("Delete", self.delete_selected, "Move the selected run's folder to the trash "
                 "(Undo Delete brings it back)"),
                ("Undo Delete", self.undo_delete, "Bring back the last run deleted (Ctrl+Z)"),
                ("Open Folder", self.open_folder, "Show the selected run's folder"),
                ("Refresh", self.refresh, "Read the runs folder again")):
            button = QPushButton(title)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            row.addWidget(button)
            self.buttons[title] = button
        row.addStretch(1)
        self.status = QLabel()
        self.status.setObjectName("dim")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        self._update_buttons()

    # ---- following the editor ----------------------------------------------------------------
    def _document_changed(self, document):
        if document is not None:
            document.undo_stack.indexChanged.connect(self._edited, Qt.UniqueConnection)
        self.refresh_later(now=True)

    def _edited(self, index):
        self.refresh_later()     # an edit can make it another design, with other runs

    def _weights_changed(self, path):
        if path is None:
            return
        if self._record_of(self._selected_folder()) is not None and \
                self._weights_of(self._record_of(self._selected_folder())) == Path(path):
            return
        if self._row_with_weights(Path(path)) is not None:
            self._select_silently(self._row_with_weights(Path(path)))
        else:
            self.refresh_later()     # a run just finished, or a variant just made

    def refresh_later(self, now=False):
        self.stale = True
        if self.isVisible():
            self.refresh() if now else self.refresh_timer.start()

    def showEvent(self, event):
        super().showEvent(event)
        if self.stale:
            self.refresh()

    def _runs_folder(self):
        return self.root if self.root is not None else runs_root()

    # ---- the table -------------------------------------------------------------------------
    def refresh(self):
        """Read the runs of the open design again and fill the table, keeping the selection,
        the ticks and the sort."""
        self.stale = False
        self.refresh_timer.stop()
        root = self._runs_folder()
        watched = self.watcher.directories()
        if watched != [str(root)]:
            if watched:
                self.watcher.removePaths(watched)
            if root.is_dir():
                self.watcher.addPath(str(root))
        graph = self.context.graph
        found = workspace.runs_of(graph, root) if graph is not None else []
        selected = self._selected_folder()
        self._filling = True
        try:
            self.model.removeRows(0, self.model.rowCount())
            self.records = {}
            for run in found:
                items = self._run_row(run)
                for variant in run.variants:
                    items[0].appendRow(self._variant_row(variant))
                self.model.appendRow(items)
            self.ticked &= {str(run.folder) for run in found}
            self.view.expandAll()
            for column in range(len(COLUMNS) - 1):
                self.view.resizeColumnToContents(column)
            self.view.setColumnWidth(NAME, min(max(self.view.columnWidth(NAME), 200), 420))
            self.view.setColumnWidth(SIZE, self.view.columnWidth(SIZE) + 12)   # gap before notes
            if selected is not None and self._row_of(selected) is not None:
                self.view.setCurrentIndex(self._row_of(selected))
            elif self.context.current_weights is not None:
                index = self._row_with_weights(self.context.current_weights)
                if index is not None:
                    self.view.setCurrentIndex(index)
        finally:
            self._filling = False
        running = any(run.status == "running" for run in found)
        self.poll_timer.start() if running and self.isVisible() else self.poll_timer.stop()
        if graph is None:
            self.status.setText("Open a design to see its runs.")
        elif not found:
            self.status.setText(f"No runs of this design in {root} yet: train it in the Train "
                                "panel.")
        else:
            self.status.setText(f"{len(found)} run{'s' if len(found) != 1 else ''} of this "
                                f"design in {root}. Tick runs to plot them in the Train panel.")
        self._update_buttons()
        self.refreshed.emit()

    def _cells(self, values, folder, kind):
        theme = self.context.theme
        dim = QColor(theme.text_dim if theme is not None else "#5f6878")
        items = []
        for column, (text, key) in enumerate(values):
            item = QStandardItem("" if text is None else text)
            item.setData(key if key is not None else "", SORT_ROLE)
            item.setEditable(column in (NAME, NOTES))
            if column in NUMERIC:
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            if column in (DATE, SIZE, DURATION):
                item.setForeground(dim)
            items.append(item)
        items[NAME].setData(str(folder), FOLDER_ROLE)
        items[NAME].setData(kind, KIND_ROLE)
        items[NAME].setToolTip(str(folder))
        return items

    def _run_row(self, run):
        self.records[str(run.folder)] = run
        epochs = (f"{run.epochs_done}/{run.epochs}" if run.epochs and run.epochs_done < run.epochs
                  else str(run.epochs_done))
        items = self._cells([
            (run.name, run.name.lower()), (run.status, run.status), (run.dataset, run.dataset),
            (epochs, run.epochs_done), (_error(run.best_error), _key(run.best_error)),
            (_error(run.last_error), _key(run.last_error)),
            (_duration(run.duration_s), _key(run.duration_s)),
            (_date(run.started), _key(run.started)), (_size(run.size), run.size),
            (run.notes, run.notes.lower())], run.folder, "run")
        items[NAME].setCheckable(True)
        items[NAME].setCheckState(Qt.Checked if str(run.folder) in self.ticked
                                  else Qt.Unchecked)
        colour = self._status_colour(run.status)
        if colour is not None:       # else the palette's text, which follows the theme
            items[STATUS].setForeground(colour)
        if run.message:
            items[STATUS].setToolTip(run.message)
        return items

    def _variant_row(self, variant):
        self.records[str(variant.folder)] = variant
        items = self._cells([
            (variant.name, variant.name.lower()), (variant.technique, variant.technique),
            (None, None), (None, None), (None, None),
            (_error(variant.error), _key(variant.error)), (None, None),
            (_date(variant.created), _key(variant.created)), (_size(variant.size), variant.size),
            (variant.notes, variant.notes.lower())], variant.folder, "variant")
        figures = variant.summary
        if "params_before" in figures and "params_after" in figures:
            items[STATUS].setToolTip(f"{figures['params_before']:,} → "
                                     f"{figures['params_after']:,} parameters")
        items[NAME].setToolTip(f"{variant.folder}\nmade from {variant.source}")
        return items

    def _status_colour(self, status):
        theme = self.context.theme
        if status == "failed":
            return QColor(theme.error if theme is not None else "#d33f3f")
        if status == "running":
            return QColor(theme.accent if theme is not None else "#2f6fde")
        return None

    # ---- rows ------------------------------------------------------------------------------
    def _name_items(self):
        for row in range(self.model.rowCount()):
            item = self.model.item(row, NAME)
            yield item
            for child in range(item.rowCount()):
                yield item.child(child, NAME)

    def _row_of(self, folder):
        """The view index of the row of `folder`, or None."""
        for item in self._name_items():
            if item.data(FOLDER_ROLE) == str(folder):
                return self.proxy.mapFromSource(item.index())
        return None

    def _row_with_weights(self, path):
        for folder, record in self.records.items():
            if self._weights_of(record) == Path(path):
                return self._row_of(folder)
        return None

    def _selected_folder(self):
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        return self.proxy.index(index.row(), NAME, index.parent()).data(FOLDER_ROLE)

    def _record_of(self, folder):
        return self.records.get(folder) if folder is not None else None

    @staticmethod
    def _weights_of(record):
        return record.weights if record is not None else None

    def _select_silently(self, index):
        self._filling = True
        try:
            self.view.setCurrentIndex(index)
        finally:
            self._filling = False

    def _current_changed(self, current, previous):
        self._update_buttons()
        if self._filling:
            return
        record = self._record_of(self._selected_folder())
        if record is None:
            return
        weights = record.weights
        if weights is not None:
            self.context.set_current_weights(weights)
        elif isinstance(record, workspace.Variant) and record.model is not None:
            self.context.show_message(f"{record.name} is a compiled model ({record.model.name}), "
                                      "not weights for a design: Open Folder to use it.")
        else:
            self.context.show_message(f"{record.name} has no checkpoint yet.")

    def _update_buttons(self):
        record = self._record_of(self._selected_folder())
        for title in ("Rename", "Notes", "Delete", "Open Folder"):
            self.buttons[title].setEnabled(record is not None)
        self.buttons["Undo Delete"].setEnabled(bool(self.trashed))
        if self.trashed:
            self.buttons["Undo Delete"].setToolTip(f"Bring back {self.trashed[-1][1]} (Ctrl+Z)")

    # ---- editing ---------------------------------------------------------------------------
    def _item_changed(self, item):
        if self._filling:
            return
        name_item = self.model.itemFromIndex(item.index().siblingAtColumn(NAME))
        folder = name_item.data(FOLDER_ROLE)
        record = self._record_of(folder)
        if record is None:
            return
        try:
            if item.column() == NAME and item.isCheckable() and \
                    (item.checkState() == Qt.Checked) != (folder in self.ticked):
                self._ticked(folder, item.checkState() == Qt.Checked)
            elif item.column() == NAME and item.text() != record.name:
                record.name = workspace.rename(folder, item.text())
                self.context.show_message(f"Renamed to {record.name}.")
            elif item.column() == NOTES and item.text() != record.notes:
                workspace.set_notes(folder, item.text())
                record.notes = item.text().strip()
            else:
                return
        except DesignError as error:
            self._fail(str(error))
        self._filling = True
        try:     # the cell shows what was kept (a name's spaces folded, a refused name undone)
            if item.column() == NAME:
                item.setText(record.name)
                item.setData(record.name.lower(), SORT_ROLE)
            elif item.column() == NOTES:
                item.setText(record.notes)
                item.setData(record.notes.lower(), SORT_ROLE)
        finally:
            self._filling = False

    def _ticked(self, folder, on):
        (self.ticked.add if on else self.ticked.discard)(folder)
        order = [f for f in self.records if f in self.ticked]
        self.context.plot_runs(order)

    def rename_selected(self):
        index = self.view.currentIndex()
        if index.isValid():
            self.view.edit(index.siblingAtColumn(NAME))

    def edit_notes(self):
        index = self.view.currentIndex()
        if index.isValid():
            self.view.edit(index.siblingAtColumn(NOTES))

    def _double_clicked(self, index):
        """A variant's row opens it; a run's name or notes cell, and a variant's notes, edit."""
        record = self._record_of(self._selected_folder())
        if isinstance(record, workspace.Variant) and index.column() != NOTES:
            self.open_variant(record)
        elif index.column() in (NAME, NOTES):
            # Once the double-click is handled: the view refuses to edit while it is.
            cell = QPersistentModelIndex(index)
            QTimer.singleShot(0, lambda: cell.isValid() and self.view.edit(QModelIndex(cell)))

    def open_variant(self, variant):
        """Open a variant's design (its weights become current, found beside it), or its folder
        when it is a compiled model rather than a design."""
        if variant.design is not None:
            self.context.open_design(str(variant.design))
        else:
            self.open_folder()

    # ---- delete and undo -------------------------------------------------------------------
    def delete_selected(self):
        folder = self._selected_folder()
        record = self._record_of(folder)
        if record is None:
            return
        if getattr(record, "status", None) == "running":
            self._fail(f"{record.name} is training: stop it in the Train panel first.")
            return
        try:
            trashed = workspace.trash(folder)
        except DesignError as error:
            self._fail(str(error))
            return
        current = self.context.current_weights
        if current is not None and Path(folder) in Path(current).parents:
            self.context.set_current_weights(None)      # its file went with the folder
        self.trashed.append((trashed, record.name))
        self.ticked.discard(folder)
        self.refresh()
        self.status.setText(f"Deleted {record.name} (moved to {trashed.parent}); Undo Delete "
                            "or Ctrl+Z brings it back.")
        self.context.show_message(f"Deleted {record.name}.")

    def undo_delete(self):
        if not self.trashed:
            return
        trashed, name = self.trashed[-1]
        try:
            folder = workspace.restore(trashed)
        except DesignError as error:
            self._fail(str(error))
            return
        self.trashed.pop()
        self.refresh()
        if self._row_of(folder) is not None:
            self.view.setCurrentIndex(self._row_of(folder))
        self.status.setText(f"Brought back {name}.")

    def eventFilter(self, watched, event):
        """Delete and Ctrl+Z in the table act on runs, not on the design (the editor's own
        shortcuts for those keys would take them first)."""
        if watched is self.view and event.type() in (QEvent.ShortcutOverride, QEvent.KeyPress):
            if self.view.state() == QAbstractItemView.EditingState:
                return False
            undo = event.matches(QKeySequence.Undo) and bool(self.trashed)
            delete = event.key() == Qt.Key_Delete and self.view.currentIndex().isValid()
            if undo or delete:
                event.accept()
                if event.type() == QEvent.KeyPress:
                    self.undo_delete() if undo else self.delete_selected()
                return True
        return super().eventFilter(watched, event)

    # ---- other actions ---------------------------------------------------------------------
    def open_folder(self):
        folder = self._selected_folder()
        if folder is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(folder))

    def _context_menu(self, point):
        index = self.view.indexAt(point)
        if not index.isValid():
            return
        self.view.setCurrentIndex(index)
        record = self._record_of(self._selected_folder())
        menu = QMenu(self)
        if isinstance(record, workspace.Variant) and record.design is not None:
            menu.addAction("Open Design", lambda: self.open_variant(record))
        menu.addAction("Rename", self.rename_selected)
        menu.addAction("Notes", self.edit_notes)
        menu.addAction("Open Folder", self.open_folder)
        menu.addSeparator()
        menu.addAction("Delete", self.delete_selected)
        menu.popup(self.view.viewport().mapToGlobal(point))
        self.menu = menu      # kept for tests

    def _fail(self, sentence):
        self.status.setText(sentence)
        self.context.show_message(sentence)


def _key(value):
    return value if value is not None else -1.0


def _error(value):
    return None if value is None else f"{value:.2%}"


def _duration(seconds):
    if seconds is None:
        return None
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _date(when):
    return None if when is None else time.strftime("%d %b %Y %H:%M", time.localtime(when))


def _size(count):
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return None
