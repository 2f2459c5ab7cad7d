"""The main window, a thin shell around the document editor: docks (palette, inspector, summary,
issues and the panels registered in `panel_registry.PANELS`), menus and toolbar, files (new, open,
save, recent), autosave and crash recovery, themes and settings.

The window holds one `Document` at a time in its `DocumentEditor`; opening a file builds a new
document first, so a file that fails to load leaves the current design untouched.
"""

import atexit
import json
from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QLabel, QMainWindow,
                               QMessageBox, QStackedWidget, QWidget)

from designer.core import fileformat
from designer.core.commands import SetMetadata
from designer.core.errors import DesignError, DesignFileError
from designer.core.presets import PRESETS_DIR, load_design, resolve
from designer.core.summary import human
from designer.home import app_home

from . import context_menu, theme as themes
from .document import Document
from .editor import DocumentEditor, release_clipboard
from .export_dialog import ExportDialog
from .import_dialog import ImportDialog
from .inspector import Inspector
from .palette import Palette
from .panel_registry import PANELS, PanelContext
from .panels import IssuesPanel, SummaryPanel
from .recovery import Recovery
from .start import NewDesignDialog, ParamCounts, StartPage
from .widgets import FigureText, PanelArea

AUTOSAVE_MS = 60_000
WORKSPACE_SAVE_MS = 1000   # the workspace is saved this long after it last changed
MAX_RECENT = 8
FILE_FILTER = "CNN Designer designs (*.json);;All files (*)"
DOCK_AREAS = {"bottom": Qt.BottomDockWidgetArea, "left": Qt.LeftDockWidgetArea,
              "right": Qt.RightDockWidgetArea}

atexit.register(release_clipboard)


def _unique(sequences):
    """Key sequences without repeats (a platform's standard key may equal one we add)."""
    seen = []
    for sequence in sequences:
        if not sequence.isEmpty() and sequence not in seen:
            seen.append(sequence)
    return seen


def _saved_data_choice(text):
    """The data choice kept by the last session, or None when there is none or it is unreadable
    (an edited settings file is left at the default, not a crash)."""
    from designer.data.choice import DataChoice
    try:
        return DataChoice.from_settings(json.loads(text)) if text else None
    except (TypeError, ValueError, AttributeError):
        return None


def recent_labels(paths):
    """File ▸ Open Recent's labels: each file's name, and for names that more than one path
    shares (two "design.json"), as much of the folder as tells them apart:
    "design.json — …/runs/a"."""
    paths = [Path(p) for p in paths]
    labels = []
    for path in paths:
        twins = [p for p in paths if p.name == path.name and p != path]
        if not twins:
            labels.append(path.name)
            continue
        folders = path.parent.parts
        depth = 1
        while depth < len(folders) and any(t.parent.parts[-depth:] == folders[-depth:]
                                           for t in twins):
            depth += 1
        where = str(Path(*folders[-depth:]))
        labels.append(f"{path.name} — {'…/' if depth < len(folders) else ''}{where}")
    return labels


class MainWindow(QMainWindow):
    def __init__(self, theme=None, home=None, defer_panels=False):
        """`theme` "light" or "dark"; None: the one used last. `defer_panels`: the registered
        panels' docks are made, but the panels in them are built by `build_panels()` (the app
        calls it after the window's first paint: their plots cost a third of start-up)."""
        super().__init__()
        self._defer_panels = defer_panels
        self.home = Path(home) if home else app_home()
        self.settings = QSettings(str(self.home / "settings.ini"), QSettings.IniFormat)
        theme = theme or self.settings.value("theme", "light")
        if theme not in themes.THEMES:
            theme = "light"
        self.theme = themes.THEMES[theme]
        self.recovery = Recovery(self.home)
        self.counts = ParamCounts(self.home / "preset-params.json")
        self.resize(1480, 920)
        self._build_widgets()
        self._build_actions()
        self._build_menus()
        self.set_theme(theme)
        self._restore_workspace()
        # The workspace (size, docks, theme, panel settings) is saved as it changes, once it
        # has settled, so a crash or a killed session keeps it too (not only a normal Quit).
        self.workspace_timer = QTimer(self)
        self.workspace_timer.setSingleShot(True)
        self.workspace_timer.setInterval(WORKSPACE_SAVE_MS)
        self.workspace_timer.timeout.connect(self._save_workspace)
        for dock in self.findChildren(QDockWidget):
            dock.installEventFilter(self)   # moved, resized, shown or hidden
            dock.dockLocationChanged.connect(self.workspace_changed)
            dock.topLevelChanged.connect(self.workspace_changed)
        self._watch_panel_states()
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self._update_title()
        self._update_actions()

    # The editor owns the open design and its canvas; these name what the window shows.
    @property
    def document(self):
        return self.editor.document

    @property
    def scene(self):
        return self.editor.scene

    @property
    def view(self):
        return self.editor.view

    # ---- construction ----------------------------------------------------------------------
    def _build_widgets(self):
        self.editor = DocumentEditor(self.theme)
        self.editor.document_changed.connect(self._on_document)
        self.editor.graph_shown.connect(self._on_graph_shown)
        self.editor.selection_changed.connect(self._on_selection)
        self.editor.state_changed.connect(self._update_actions)
        self.editor.graph_changed.connect(self._update_totals)
        self.editor.activated.connect(lambda nid: self.inspector.focus_name())
        self.editor.message.connect(self.statusBar().showMessage)
        self.editor.context_requested.connect(self._context_menu)
        self.editor.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        self.start_page = StartPage(self.counts)
        self.start_page.chosen.connect(self.new_design)
        self.start_page.open_file.connect(self.open_dialog)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.start_page)
        self.stack.addWidget(self.editor)
        self.setCentralWidget(self.stack)

        self.palette = Palette(self.theme)
        self.palette.add_requested.connect(lambda t: self.editor.add_layer(t))
        self.inspector = Inspector()
        self.summary = SummaryPanel()
        self.summary.node_selected.connect(self.editor.focus_node)
        self.summary.heat_changed.connect(self._show_heat)
        self.issues = IssuesPanel()
        self.issues.node_selected.connect(self.editor.focus_node)
        self.issues.count_changed.connect(self._issues_count)
        self.palette_dock = self._dock("Layers", self.palette, Qt.LeftDockWidgetArea, "palette")
        self.inspector_dock = self._dock("Inspector", self.inspector, Qt.RightDockWidgetArea, "inspector")
        self.summary_dock = self._dock("Summary", self.summary, Qt.BottomDockWidgetArea, "summary")
        self.issues_dock = self._dock("Issues", self.issues, Qt.BottomDockWidgetArea, "issues")
        self.tabifyDockWidget(self.summary_dock, self.issues_dock)
        self._build_panels()
        self.summary_dock.raise_()
        self.inspector_dock.raise_()
        self.resizeDocks([self.palette_dock, self.inspector_dock], [230, 350], Qt.Horizontal)

        self.totals_label = FigureText()
        self.totals_label.setContentsMargins(8, 0, 8, 0)
        self.weights_label = QLabel()
        self.weights_label.setContentsMargins(8, 0, 8, 0)
        self.zoom_label = QLabel("100 %")
        self.statusBar().addPermanentWidget(self.totals_label)
        self.statusBar().addPermanentWidget(self.weights_label)
        self.statusBar().addPermanentWidget(self.zoom_label)
        self.context.weights_changed.connect(self._show_weights)
        self.context.data_changed.connect(self.workspace_changed)
        self._show_weights(None)

    def _build_panels(self):
        """One dock per registered panel; each sees the editor only through `self.context`."""
        self.context = PanelContext(self)
        self.context.select_requested.connect(self._select_from_panel)
        self.context.message_requested.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.context.open_requested.connect(self.open_design)
        self.panels, self.panel_docks = {}, []
        self._docks_restored = False
        self._sized_docks = False
        last = {"bottom": self.issues_dock, "left": self.palette_dock, "right": self.inspector_dock}
        self._panel_areas = {}
        for panel in PANELS:
            widget = QWidget() if self._defer_panels else panel.create(self.context)
            # In a scroll area: a panel taller than its dock scrolls instead of holding every
            # dock of its area (and the canvas's share of the window) to its own height.
            area = PanelArea(widget)
            dock = self._dock(panel.title, area, DOCK_AREAS[panel.area], panel.name)
            self.tabifyDockWidget(last[panel.area], dock)
            last[panel.area] = dock
            if not self._defer_panels:
                self.panels[panel.name] = widget
            self._panel_areas[panel.name] = area
            self.panel_docks.append(dock)
            dock.visibilityChanged.connect(lambda visible, d=dock: self._give_room(d, visible))

    def build_panels(self):
        """Build the panels a `defer_panels` window left out (once), and bring them up to date:
        the open document, its selection and the theme, and their saved settings."""
        if not self._defer_panels:
            return
        self._defer_panels = False
        for panel in PANELS:
            widget = panel.create(self.context)
            self.panels[panel.name] = widget
            self._panel_areas[panel.name].set_panel(widget)
        selection = list(self.context.selection)
        if self.context.theme is not None:
            self.context.set_theme(self.context.theme)
        if self.context.document is not None:
            self.context.set_document(self.context.document)
            self.context.set_selection(selection)
        self._restore_panel_states()
        self._watch_panel_states()

    def _watch_panel_states(self):
        for panel in self.panels.values():
            if hasattr(panel, "state_changed"):
                panel.state_changed.connect(self.workspace_changed)

    def _dock(self, title, widget, area, name):
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable
                         | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text, slot, shortcut=None, icon=None, tip=None):
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
        action.triggered.connect(lambda checked=False: slot())
        action.setStatusTip(tip or text.replace("…", "").replace("&", ""))
        action.icon_name = icon
        return action

    def _build_actions(self):
        A, K, E = self._action, QKeySequence, self.editor
        self.act_new = A("&New…", self.new_dialog, K.New, "new", "New design: empty or from a preset")
        self.act_open = A("&Open…", self.open_dialog, K.Open, "open", "Open a design file")
        self.act_save = A("&Save", self.save, K.Save, "save")
        self.act_save_as = A("Save &As…", self.save_as, K("Ctrl+Shift+S"))
        self.act_export = A("&Export…", self.export_dialog, K("Ctrl+E"), "export",
                            "Export to TorchScript, ONNX or PyTorch source")
        self.act_import = A("&Import…", self.import_dialog, K("Ctrl+I"), None,
                            "Import a torchvision, timm, ONNX or PyTorch model as a design")
        self.act_close = A("&Close", self.close_design, K.Close)
        self.act_compare = A("Co&mpare With…", self.compare_dialog, K("Ctrl+Shift+D"), None,
                             "Open a second design beside this one, matching nodes linked")
        self.act_quit = A("&Quit", self.close, K.Quit)
        self.act_undo = A("&Undo", lambda: self.document.undo_stack.undo(), K.Undo, "undo")
        self.act_redo = A("&Redo", lambda: self.document.undo_stack.redo(),
                          _unique([K(K.Redo), K("Ctrl+Shift+Z"), K("Ctrl+Y")]), "redo")
        self.act_cut = A("Cu&t", E.cut, K.Cut)
        self.act_copy = A("&Copy", E.copy, K.Copy, "copy")
        self.act_paste = A("&Paste", E.paste, K.Paste, "paste")
        self.act_duplicate = A("D&uplicate", E.duplicate, K("Ctrl+D"), "duplicate")
        self.act_delete = A("&Delete", E.delete_selection, [K(K.Delete), K(Qt.Key_Backspace)], "delete")
        self.act_rename = A("&Rename", self.rename, K("F2"), "rename")
        self.act_select_all = A("Select &All", E.select_all, K.SelectAll)
        self.act_group = A("&Group into Block", E.group_selection, K("Ctrl+G"), "group")
        self.act_explode = A("&Explode Block", E.explode_selection, K("Ctrl+Shift+G"), "explode")
        self.act_open_block = A("&Look Inside Block", E.open_selected_block, K("Ctrl+Return"),
                                "open-block")
        self.act_close_block = A("Back &Out of Block", E.close_block, K("Ctrl+Backspace"))
        self.act_fit = A("&Fit to View", lambda: self.view.fit(), K("F"), "fit")
        self.act_zoom_in = A("Zoom &In", lambda: self.view.set_zoom(self.view.zoom * 1.25),
                             K.ZoomIn, "zoom-in")
        self.act_zoom_out = A("Zoom &Out", lambda: self.view.set_zoom(self.view.zoom / 1.25),
                              K.ZoomOut, "zoom-out")
        self.act_zoom_reset = A("&Actual Size", lambda: self.view.set_zoom(1.0), K("Ctrl+1"))
        self.act_layout = A("Auto-&Layout", E.auto_layout, K("Ctrl+L"), "layout",
                            "Arrange the network top to bottom")
        self.act_minimap = A("&Minimap", self.toggle_minimap, K("Ctrl+M"))
        self.act_minimap.setCheckable(True)
        self.act_minimap.setChecked(True)
        self.act_theme = A("&Dark Theme", self.toggle_theme, K("Ctrl+T"), "theme")
        self.act_theme.setCheckable(True)
        self.act_about = A("&About CNN Designer", self.about)
        self.act_shortcuts = A("&Keyboard and Mouse", self.show_controls, K.HelpContents)

    def _build_menus(self):
        bar = self.menuBar()
        menu = bar.addMenu("&File")
        for action in (self.act_new, self.act_open):
            menu.addAction(action)
        self.recent_menu = menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        menu.addSeparator()
        for action in (self.act_save, self.act_save_as, None, self.act_import, self.act_export,
                       self.act_compare, None, self.act_close, self.act_quit):
            menu.addSeparator() if action is None else menu.addAction(action)
        menu = bar.addMenu("&Edit")
        for action in (self.act_undo, self.act_redo, None, self.act_cut, self.act_copy, self.act_paste,
                       self.act_duplicate, self.act_delete, self.act_rename, None, self.act_select_all,
                       None, self.act_group, self.act_explode, self.act_open_block, self.act_close_block):
            menu.addSeparator() if action is None else menu.addAction(action)
        menu = bar.addMenu("&View")
        for action in (self.act_fit, self.act_zoom_in, self.act_zoom_out, self.act_zoom_reset, None,
                       self.act_layout, None, self.act_minimap, self.act_theme, None):
            menu.addSeparator() if action is None else menu.addAction(action)
        for dock in (self.palette_dock, self.inspector_dock, self.summary_dock, self.issues_dock,
                     *self.panel_docks):
            menu.addAction(dock.toggleViewAction())
        menu = bar.addMenu("&Help")
        menu.addAction(self.act_shortcuts)
        menu.addAction(self.act_about)

        self.toolbar = self.addToolBar("Main")
        self.toolbar.setObjectName("toolbar")
        self.toolbar.setMovable(False)
        for action in (self.act_new, self.act_open, self.act_save, None, self.act_undo, self.act_redo,
                       None, self.act_delete, self.act_group, self.act_explode, self.act_open_block,
                       None, self.act_layout, self.act_fit, self.act_zoom_in, self.act_zoom_out, None,
                       self.act_export, self.act_theme):
            self.toolbar.addSeparator() if action is None else self.toolbar.addAction(action)
        for action in self.findChildren(QAction):
            seq = action.shortcut().toString(QKeySequence.NativeText)
            if seq and getattr(action, "icon_name", None):
                action.setToolTip(f"{action.text().replace('&', '')} ({seq})")

    # ---- following the editor ------------------------------------------------------------------
    def _on_document(self, document):
        if document is None:   # File ▸ Close: back to the start page
            self.summary.set_source(None, None)
            self.issues.set_source(None, self.theme)
            self.inspector.set_document(None)
            self.context.set_document(None)
            self.stack.setCurrentIndex(0)
            self._update_title()
            self._update_actions()
            self._update_totals()
            return
        document.modified_changed.connect(lambda m: self._update_title())
        document.path_changed.connect(lambda p: self._update_title())
        self.summary.set_source(document.graph, document.analyzer)
        self.issues.set_source(document.analyzer, self.theme)
        self.context.set_document(document)
        self.stack.setCurrentIndex(1)
        self._update_title()
        self._update_actions()
        self._update_totals()

    def _on_graph_shown(self, graph, analysis, editable):
        self.inspector.set_document(self.document, graph, analysis, read_only=not editable)
        self.palette.setEnabled(editable)
        self._show_heat(self.summary.heat())

    def _show_heat(self, heat):
        """The measured-latency tint, on the design's own canvas (not inside a block)."""
        if self.scene is not None and self.document is not None \
                and self.scene.graph is self.document.graph:
            self.scene.set_heat(heat)

    def _on_selection(self, ids):
        self.inspector.show_nodes(ids)
        if not self.editor.crumbs:   # inside a block the ids name the block's layers
            self.summary.select_ids(ids)
            self.context.set_selection(ids)

    def compare_dialog(self):
        """File ▸ Compare With…: ask for a preset or file and show it in the Compare panel."""
        from PySide6.QtWidgets import QInputDialog
        from designer.core.presets import preset_names
        if self.document is None:
            return
        text, ok = QInputDialog.getItem(self, "Compare with", "Preset name or design file:",
                                        preset_names(), 0, True)
        if ok and text:
            self.build_panels()
            dock = next(d for d in self.panel_docks if d.objectName() == "compare")
            dock.show()
            dock.raise_()
            self.context.compare_with(text)

    def _select_from_panel(self, node_ids):
        if node_ids:
            self.editor.focus_node(node_ids[0])
            self.scene.select_ids(node_ids)

    # ---- files -----------------------------------------------------------------------------------
    def new_design(self, name=""):
        if not self.maybe_save():
            return False
        if name:
            try:
                graph = self.editor.fitted_to_view(load_design(name))
            except DesignError as error:
                QMessageBox.critical(self, "Cannot open preset", str(error))
                return False
            self.editor.set_document(Document(graph, None))
        else:
            self.editor.set_document(Document(None, None))
        return True

    def new_dialog(self):
        dialog = NewDesignDialog(self.counts, self)
        if dialog.exec() and dialog.choice is not None:
            self.new_design(dialog.choice)

    def open_design(self, name_or_path, ask=True):
        """Open a design file, or a preset (untitled, so saving asks for a name). On failure a
        dialog names the problem and the current design stays as it is."""
        if ask and not self.maybe_save():
            return False
        try:
            path = resolve(name_or_path)
            graph = fileformat.load(path)
        except DesignError as error:
            QMessageBox.critical(self, "Cannot open design", str(error))
            return False
        is_preset = Path(path).resolve().parent == PRESETS_DIR.resolve()
        if is_preset:   # preset files store one tall column: lay it out for this canvas
            graph = self.editor.fitted_to_view(graph)
        self.editor.set_document(Document(graph, None if is_preset else path))
        if not is_preset:
            self._add_recent(path)
        return True

    def open_dialog(self):
        start = str(self.document.path.parent) if self.document and self.document.path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open design", start, FILE_FILTER)
        if path:
            self.open_design(path)

    def save(self):
        if self.document is None:
            return False
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self):
        if self.document is None:
            return False
        suggestion = str(self.document.path or Path.home() / f"{self.document.graph.name or 'design'}.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save design", suggestion, FILE_FILTER)
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".json"
        path = Path(path)
        graph = self.document.graph
        if graph.name != path.stem:   # the design is named after its file (exports use the name)
            self.editor.push(SetMetadata(graph, name=path.stem))
        return self._save_to(path)

    def _save_to(self, path):
        try:
            self.document.save(path)
        except OSError as error:
            QMessageBox.critical(self, "Cannot save", f"{path}: {error.strerror or error}")
            return False
        self._add_recent(path)
        self.recovery.drop()
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def close_design(self):
        """File ▸ Close: ask about unsaved changes, then show the start page."""
        if self.document is None or not self.maybe_save():
            return False
        self.editor.close_document()
        self.recovery.drop()
        return True

    def maybe_save(self):
        """Ask about unsaved changes; False when the person cancels."""
        if self.document is None or not self.document.modified:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to {self.document.title}?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    def closeEvent(self, event):
        if self.maybe_save() and self.maybe_stop_panels():
            self.summary.shutdown()
            for panel in self.panels.values():
                if hasattr(panel, "shutdown"):
                    panel.shutdown()  # jobs must end before their QThreads die
            self.recovery.drop()
            self.workspace_timer.stop()
            self._save_workspace()
            event.accept()
        else:
            event.ignore()

    # ---- what is remembered between sessions -------------------------------------------------
    def workspace_changed(self, *_):
        """Save the workspace in a moment (each change starts the wait again)."""
        timer = getattr(self, "workspace_timer", None)   # None while the window is being built
        if timer is not None and self.isVisible():
            timer.start()

    def eventFilter(self, watched, event):
        if event.type() in (QEvent.Resize, QEvent.Move, QEvent.Show, QEvent.Hide) \
                and isinstance(watched, QDockWidget):
            self.workspace_changed()
        return super().eventFilter(watched, event)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.workspace_changed()

    def moveEvent(self, event):
        super().moveEvent(event)
        self.workspace_changed()

    def _save_workspace(self):
        """Window size and place, docks, theme and each panel's settings (QSettings)."""
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("docks", self.saveState())
        self.settings.setValue("theme", self.theme.name)
        choice = self.context.last_data_choice     # the open document's, once it has one
        if choice is not None:
            self.settings.setValue("data_choice", json.dumps(choice.settings()))
        for name, panel in self.panels.items():
            if hasattr(panel, "save_state"):
                self.settings.setValue(f"panels/{name}", json.dumps(panel.save_state()))
        self.settings.sync()

    def _restore_workspace(self):
        geometry, docks = self.settings.value("geometry"), self.settings.value("docks")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self._docks_restored = docks is not None and self.restoreState(docks)
        self.context.last_data_choice = _saved_data_choice(self.settings.value("data_choice"))
        self._restore_panel_states()

    def _restore_panel_states(self):
        for name, panel in self.panels.items():
            saved = self.settings.value(f"panels/{name}")
            if saved and hasattr(panel, "restore_state"):
                try:
                    panel.restore_state(json.loads(saved))
                except ValueError:
                    pass   # unreadable settings are left at their defaults

    def showEvent(self, event):
        """The first time the window shows without a saved workspace, the bottom docks (the
        summary table in front) take a third of its height and the canvas the rest, enough to
        draw a fitted preset with its shapes; a panel brought to the front gets more room
        (`_give_room`), and every panel scrolls rather than holding the docks taller."""
        super().showEvent(event)
        if not self._sized_docks and not self._docks_restored:
            self.resizeDocks([self.summary_dock], [self.height() // 3], Qt.Vertical)
        self._sized_docks = True

    def _give_room(self, dock, visible):
        """A panel dock shown at the bottom gets a fair share of the height (the Train panel's
        form and plots are unusable in a summary-sized strip), unless the person sized it."""
        if self._docks_restored:
            return
        if visible and self.dockWidgetArea(dock) == Qt.BottomDockWidgetArea and not dock.isFloating():
            wanted = int(self.height() * 0.42)
            if dock.height() < wanted:
                self.resizeDocks([dock], [wanted], Qt.Vertical)

    def maybe_stop_panels(self):
        """Ask before quitting stops a panel's running work (a training run); False on Cancel."""
        for panel in self.panels.values():
            question = panel.close_question() if hasattr(panel, "close_question") else None
            if question is not None:
                answer = QMessageBox.question(self, *question, QMessageBox.Yes | QMessageBox.Cancel,
                                              QMessageBox.Cancel)
                if answer != QMessageBox.Yes:
                    return False
        return True

    def _add_recent(self, path):
        recent = [str(Path(path).resolve())] + [p for p in self.recent_files()
                                                 if p != str(Path(path).resolve())]
        self.settings.setValue("recent", recent[:MAX_RECENT])

    def recent_files(self):
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _fill_recent(self):
        self.recent_menu.clear()
        files = self.recent_files()
        for i, (path, label) in enumerate(zip(files, recent_labels(files))):
            # "&&": an ampersand in a file name is shown, not taken as a shortcut.
            action = self.recent_menu.addAction(f"&{i + 1} {label.replace('&', '&&')}")
            action.setToolTip(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_design(p))
        if not files:
            self.recent_menu.addAction("No recent files").setEnabled(False)

    # ---- autosave and recovery ----------------------------------------------------------------
    def autosave(self):
        """Write the design to this session's recovery file when it has unsaved changes."""
        return self.recovery.save(self.document)

    def offer_recovery(self):
        """After a crash, offer to bring back the unsaved design. True when one was recovered."""
        for design in self.recovery.pending():
            saved_path, when = self.recovery.describe(design)
            name = Path(saved_path).name if saved_path else "an unsaved design"
            answer = QMessageBox.question(
                self, "Recover unsaved work",
                f"CNN Designer closed unexpectedly while editing {name} (autosaved {when}). "
                "Recover it?", QMessageBox.Yes | QMessageBox.Discard, QMessageBox.Yes)
            recovered = False
            if answer == QMessageBox.Yes:
                try:
                    graph = fileformat.load(design)
                except DesignFileError as error:
                    QMessageBox.critical(self, "Cannot recover", str(error))
                else:
                    document = Document(graph, saved_path)
                    self.editor.set_document(document)
                    document.mark_recovered()
                    recovered = True
            self.recovery.discard(design)
            if recovered:
                return True
        return False

    # ---- status and actions --------------------------------------------------------------------
    def warm_up_torch(self):
        """Import torch and torchvision in the background (after the first paint); work asked
        for meanwhile waits for them, with "loading PyTorch…" in the status bar."""
        from . import warmup
        warmup.start()
        warmup.notifier.waiting.connect(self._say_loading)
        warmup.notifier.loaded.connect(self._torch_loaded)

    def _say_loading(self, text):
        self.statusBar().showMessage(text)

    def _torch_loaded(self):
        from .warmup import LOADING_MESSAGE
        if self.statusBar().currentMessage() == LOADING_MESSAGE:
            self.statusBar().clearMessage()

    def rename(self):
        if len(self.editor.selected_ids()) == 1:
            self.inspector_dock.raise_()
            self.inspector.focus_name()

    def _update_totals(self):
        if self.document is None:
            self.totals_label.setText("")
            return
        totals = self.document.analyzer.totals
        errors = f" · {totals.errors} in error" if totals.errors else ""
        self.totals_label.setText(f"{len(self.document.graph.nodes)} layers · {totals.params:,} "
                                  f"parameters · {human(totals.macs)} multiply-adds{errors}")

    def _show_weights(self, path):
        """The current weights in the status bar: the file's name, its full path as the tip."""
        if self.document is None:
            self.weights_label.setText("")
            self.weights_label.setToolTip("")
        elif path is None:
            self.weights_label.setText("Weights: none")
            self.weights_label.setToolTip("No trained weights yet: train the design, or open a "
                                          "design saved with its weights")
        else:
            self.weights_label.setText(f"Weights: {path.name}")
            self.weights_label.setToolTip(str(path))

    def _issues_count(self, count):
        self.issues_dock.setWindowTitle(f"Issues ({count})" if count else "Issues")
        self._update_totals()

    def _update_title(self):
        if self.document is None:
            self.setWindowTitle("CNN Designer")
            return
        self.setWindowTitle(f"{self.document.title}[*] — CNN Designer")
        self.setWindowModified(self.document.modified)

    def _update_actions(self):
        has_doc = self.document is not None
        editable = self.editor.editable
        ids = self.editor.selected_ids()
        graph = self.scene.graph if self.scene else None
        for action in (self.act_save, self.act_save_as, self.act_export, self.act_close, self.act_compare,
                       self.act_fit, self.act_zoom_in, self.act_zoom_out, self.act_zoom_reset, self.act_select_all):
            action.setEnabled(has_doc)
        stack = self.document.undo_stack if has_doc else None
        self.act_undo.setEnabled(bool(stack and stack.canUndo()) and editable)
        self.act_redo.setEnabled(bool(stack and stack.canRedo()) and editable)
        if stack is not None:
            self.act_undo.setText(f"&Undo {stack.undoText()}".strip())
            self.act_redo.setText(f"&Redo {stack.redoText()}".strip())
        for action in (self.act_cut, self.act_duplicate, self.act_group):
            action.setEnabled(editable and bool(ids))
        wires = self.scene.selected_edges() if self.scene else []
        self.act_delete.setEnabled(editable and bool(ids or wires))
        self.act_copy.setEnabled(bool(ids))
        self.act_paste.setEnabled(editable)
        self.act_layout.setEnabled(editable)
        one_block = len(ids) == 1 and graph is not None and graph.nodes[ids[0]].is_block
        self.act_explode.setEnabled(editable and one_block)
        self.act_open_block.setEnabled(one_block)
        self.act_close_block.setEnabled(bool(self.editor.crumbs))
        self.act_rename.setEnabled(editable and len(ids) == 1)

    def _context_menu(self, global_pos, scene_pos):
        if self.scene is None:
            return
        kind, target = self.scene.target_at(scene_pos)
        self._update_actions()
        context_menu.build(self, scene_pos, kind, target).exec(global_pos)

    # ---- view and themes -------------------------------------------------------------------------
    def toggle_minimap(self):
        self.view.minimap.setVisible(self.act_minimap.isChecked())

    def toggle_theme(self):
        self.set_theme("dark" if self.act_theme.isChecked() else "light")

    def set_theme(self, name):
        self.theme = themes.THEMES[name]
        themes.apply(QApplication.instance(), self.theme)
        self.act_theme.setChecked(name == "dark")
        for action in self.findChildren(QAction):
            if getattr(action, "icon_name", None):
                action.setIcon(themes.icon(action.icon_name, self.theme.text,
                                               self.theme.blocked))
        self.editor.set_theme(self.theme)
        self.context.set_theme(self.theme)
        if self.document is not None:
            self.issues.set_source(self.document.analyzer, self.theme)
        self.palette.set_theme(self.theme)
        self.summary.set_theme(self.theme)
        self.workspace_changed()

    def export_dialog(self):
        if self.document is not None:
            ExportDialog(lambda: self.document.graph, self, self.document.path,
                         self.document.current_weights).exec()

    def import_dialog(self):
        """Import a model; the design written opens (asking to save the current one first)."""
        dialog = ImportDialog(self.editor.view_aspect(), parent=self)
        dialog.imported.connect(self.open_design)
        dialog.exec()

    def show_controls(self):
        QMessageBox.information(self, "Keyboard and mouse", (
            "Canvas: scroll to zoom at the cursor; middle-drag or Space+drag to pan; drag on empty "
            "space to select with a rubber band; F fits the design.\n\n"
            "Connect: drag from an output port (bottom of a node) to an input port (top). A refused "
            "connection says why.\n\n"
            "Add: drag a layer from the palette, or double-click it (it joins below the selected "
            "node).\n\n"
            "Blocks: Ctrl+G groups the selection; double-click a block to look inside; "
            "Ctrl+Shift+G explodes it into editable layers.\n\n"
            "Every change can be undone with Ctrl+Z."))

    def about(self):
        QMessageBox.about(self, "About CNN Designer",
                          "CNN Designer: design convolutional networks as node graphs with live "
                          "shapes, parameter counts and multiply-adds; train and export them.")


def grab_window(window, path):
    """Render the whole window to a PNG (works offscreen). Returns the path."""
    app = QApplication.instance()
    for _ in range(3):
        app.processEvents()
    pixmap = window.grab()
    if not pixmap.save(str(path)):
        raise OSError(f"cannot write {path}")
    return path
