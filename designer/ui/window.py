"""The main window: canvas, palette, inspector, summary and issues docks, menus and toolbar, files
(new, open, save, recent, autosave and crash recovery), looking inside blocks, themes.

The window holds one `Document` at a time and wires views to it; opening a file builds a new
document first, so a file that fails to load leaves the current design untouched.
"""

import atexit
import json
import os
import time
from pathlib import Path

from PySide6.QtCore import QMimeData, QSettings, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QFrame, QHBoxLayout, QLabel,
                               QMainWindow, QMessageBox, QPushButton, QStackedWidget, QVBoxLayout,
                               QWidget)

from designer.core import fileformat
from designer.core.commands import (AddNode, Compound, Connect, Disconnect, delete_nodes, insert_on_edge, layout as
                                    layout_command, paste, selection_graph)
from designer.core.errors import DesignError, DesignFileError
from designer.core.grouping import explode_command, group_command
from designer.core.infer import analyze
from designer.core.layout import NODE_HEIGHT, NODE_WIDTH, V_GAP, layered_positions
from designer.core.graph import Node
from designer.core.summary import human
from designer.core.presets import PRESETS_DIR, load_design, resolve

from . import context_menu, theme as themes
from .document import Document
from .inspector import Inspector
from .palette import Palette
from .panels import IssuesPanel, SummaryPanel
from .scene import GraphScene, StaticResults
from .start import NewDesignDialog, ParamCounts, StartPage
from .view import GraphView

CLIP_MIME = "application/x-cnn-designer-graph"
AUTOSAVE_MS = 60_000
MAX_RECENT = 8
FILE_FILTER = "CNN Designer designs (*.json);;All files (*)"


def app_home():
    """Where settings, recovery files and caches live (CNN_DESIGNER_HOME overrides, for tests)."""
    override = os.environ.get("CNN_DESIGNER_HOME")
    if override:
        return Path(override)
    base = QStandardPaths.writableLocation(QStandardPaths.GenericDataLocation)
    return Path(base or Path.home()) / "cnn-designer"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@atexit.register
def _clipboard_release():
    """Qt's clipboard owns the QMimeData that Copy made in Python and would destroy it after Python
    has shut down (a crash at exit); hand it back while Python still runs. A clipboard holding
    another program's data is left alone."""
    app = QApplication.instance()
    mime = app.clipboard().mimeData() if app is not None else None
    if mime is not None and mime.hasFormat(CLIP_MIME):
        app.clipboard().clear()


def _unique(sequences):
    """Key sequences without repeats (a platform's standard key may equal one we add)."""
    seen = []
    for sequence in sequences:
        if not sequence.isEmpty() and sequence not in seen:
            seen.append(sequence)
    return seen


class MainWindow(QMainWindow):
    def __init__(self, theme="light", home=None):
        super().__init__()
        self.home = Path(home) if home else app_home()
        self.settings = QSettings(str(self.home / "settings.ini"), QSettings.IniFormat)
        self.theme = themes.THEMES[theme]
        self.document = None
        self.scene = None
        self.crumbs = []          # [(title, graph, analysis)] for the blocks opened, outermost first
        self.recovery_path = self.home / "recovery" / f"{os.getpid()}.json"
        self.counts = ParamCounts(self.home / "preset-params.json")
        self.resize(1480, 920)
        self._build_widgets()
        self._build_actions()
        self._build_menus()
        self.set_theme(theme)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self._update_title()
        self._update_actions()

    # ---- construction ----------------------------------------------------------------------
    def _build_widgets(self):
        self.view = GraphView(self.theme)
        self.view.layer_dropped.connect(self.add_layer)
        self.view.context_requested.connect(self._context_menu)
        self.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        self.breadcrumb = QFrame()
        self.breadcrumb.setObjectName("breadcrumb")
        self.breadcrumb_layout = QHBoxLayout(self.breadcrumb)
        self.breadcrumb_layout.setContentsMargins(8, 2, 8, 2)
        self.breadcrumb.hide()
        editor = QWidget()
        column = QVBoxLayout(editor)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.breadcrumb)
        column.addWidget(self.view)
        self.start_page = StartPage(self.counts)
        self.start_page.chosen.connect(self.new_design)
        self.start_page.open_file.connect(self.open_dialog)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.start_page)
        self.stack.addWidget(editor)
        self.setCentralWidget(self.stack)

        self.palette = Palette(self.theme)
        self.palette.add_requested.connect(lambda t: self.add_layer(t))
        self.inspector = Inspector()
        self.summary = SummaryPanel()
        self.summary.node_selected.connect(self.focus_node)
        self.issues = IssuesPanel()
        self.issues.node_selected.connect(self.focus_node)
        self.issues.count_changed.connect(self._issues_count)
        self.palette_dock = self._dock("Layers", self.palette, Qt.LeftDockWidgetArea, "palette")
        self.inspector_dock = self._dock("Inspector", self.inspector, Qt.RightDockWidgetArea, "inspector")
        self.summary_dock = self._dock("Summary", self.summary, Qt.BottomDockWidgetArea, "summary")
        self.issues_dock = self._dock("Issues", self.issues, Qt.BottomDockWidgetArea, "issues")
        self.tabifyDockWidget(self.summary_dock, self.issues_dock)
        self.train_dock = None
        try:
            from .train_panel import TrainPanel
        except ImportError:
            TrainPanel = None
        if TrainPanel is not None:
            self.train_panel = TrainPanel(lambda: self.document.graph if self.document else None, self)
            self.train_dock = self._dock("Train", self.train_panel, Qt.BottomDockWidgetArea, "train")
            self.tabifyDockWidget(self.issues_dock, self.train_dock)
        self.summary_dock.raise_()
        self.resizeDocks([self.palette_dock, self.inspector_dock], [230, 350], Qt.Horizontal)
        self.resizeDocks([self.summary_dock], [190], Qt.Vertical)

        self.totals_label = QLabel()
        self.zoom_label = QLabel("100 %")
        self.statusBar().addPermanentWidget(self.totals_label)
        self.statusBar().addPermanentWidget(self.zoom_label)

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
        A, K = self._action, QKeySequence
        self.act_new = A("&New…", self.new_dialog, K.New, "new", "New design: empty or from a preset")
        self.act_open = A("&Open…", self.open_dialog, K.Open, "open", "Open a design file")
        self.act_save = A("&Save", self.save, K.Save, "save")
        self.act_save_as = A("Save &As…", self.save_as, K("Ctrl+Shift+S"))
        self.act_export = A("&Export…", self.export_dialog, K("Ctrl+E"), "export",
                            "Export to TorchScript, ONNX or PyTorch source")
        self.act_quit = A("&Quit", self.close, K.Quit)
        self.act_undo = A("&Undo", lambda: self.document.undo_stack.undo(), K.Undo, "undo")
        self.act_redo = A("&Redo", lambda: self.document.undo_stack.redo(),
                          _unique([K(K.Redo), K("Ctrl+Shift+Z"), K("Ctrl+Y")]), "redo")
        self.act_cut = A("Cu&t", self.cut, K.Cut)
        self.act_copy = A("&Copy", self.copy, K.Copy, "copy")
        self.act_paste = A("&Paste", self.paste, K.Paste, "paste")
        self.act_duplicate = A("D&uplicate", self.duplicate, K("Ctrl+D"), "duplicate")
        self.act_delete = A("&Delete", self.delete_selection, [K(K.Delete), K(Qt.Key_Backspace)], "delete")
        self.act_rename = A("&Rename", self.rename, K("F2"), "rename")
        self.act_select_all = A("Select &All", self.select_all, K.SelectAll)
        self.act_group = A("&Group into Block", self.group_selection, K("Ctrl+G"), "group")
        self.act_explode = A("&Explode Block", self.explode_selection, K("Ctrl+Shift+G"), "explode")
        self.act_open_block = A("&Look Inside Block", self.open_selected_block, K("Ctrl+Return"),
                                "open-block")
        self.act_close_block = A("Back &Out of Block", self.close_block, K("Ctrl+Backspace"))
        self.act_fit = A("&Fit to View", lambda: self.view.fit(), K("F"), "fit")
        self.act_zoom_in = A("Zoom &In", lambda: self.view.set_zoom(self.view.zoom * 1.25),
                             K.ZoomIn, "zoom-in")
        self.act_zoom_out = A("Zoom &Out", lambda: self.view.set_zoom(self.view.zoom / 1.25),
                              K.ZoomOut, "zoom-out")
        self.act_zoom_reset = A("&Actual Size", lambda: self.view.set_zoom(1.0), K("Ctrl+1"))
        self.act_layout = A("Auto-&Layout", self.auto_layout, K("Ctrl+L"), "layout",
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
        for action in (self.act_save, self.act_save_as, None, self.act_export, None, self.act_quit):
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
                     self.train_dock):
            if dock is not None:
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

    # ---- documents ----------------------------------------------------------------------------
    def set_document(self, document):
        """Show `document` (replacing the current one, which is closed)."""
        if self.document is not None:
            self.close_all_blocks()
            self.document.graph.changed.disconnect(self._on_graph_changed)
            self.document.undo_stack.indexChanged.disconnect(self._update_actions)
            self.document.close()
            self.document.deleteLater()
        self.document = document
        document.setParent(self)
        document.modified_changed.connect(lambda m: self._update_title())
        document.path_changed.connect(lambda p: self._update_title())
        document.undo_stack.indexChanged.connect(self._update_actions)
        document.graph.changed.connect(self._on_graph_changed)
        self._show_graph(document.graph, document.analyzer, editable=True)
        self.summary.set_source(document.graph, document.analyzer)
        self.issues.set_source(document.analyzer, self.theme)
        self.stack.setCurrentIndex(1)
        self._update_title()
        self._update_actions()
        self._update_totals()
        self.view.fit()
        QTimer.singleShot(0, self.view.fit)  # again once the view has its final size

    def _show_graph(self, graph, analysis, editable):
        old = self.scene
        self.scene = GraphScene(graph, analysis, self.theme,
                                push=self.push if editable else None, parent=self)
        self.scene.selectionChanged.connect(self._on_selection)
        self.scene.open_block.connect(self.open_block)
        self.scene.activated.connect(lambda nid: self.inspector.focus_name())
        self.scene.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.view.setScene(self.scene)
        self.view.minimap.set_scene(self.scene)
        self.inspector.set_document(self.document, graph, analysis, read_only=not editable)
        self.palette.setEnabled(editable)
        if old is not None:
            old.detach()
            old.deleteLater()

    def push(self, command):
        """Do a core command as one undo step; a refusal shows its sentence and changes nothing."""
        try:
            self.document.push(command)
        except (DesignError, ValueError, KeyError) as error:
            self.statusBar().showMessage(str(error), 8000)
            raise
        return True

    def _try(self, make_command, select=None):
        """Build and push a command; refusals show in the status bar. True when it was done."""
        try:
            command = make_command()
            self.push(command)
        except (DesignError, ValueError, KeyError) as error:
            self.statusBar().showMessage(str(error), 8000)
            return False
        if select is not None:
            self.scene.select_ids(select(command) if callable(select) else select)
        return True

    def new_design(self, name=""):
        if not self.maybe_save():
            return False
        if name:
            try:
                graph = self.fitted_to_view(load_design(name))
            except DesignError as error:
                QMessageBox.critical(self, "Cannot open preset", str(error))
                return False
            self.set_document(Document(graph, None))
        else:
            self.set_document(Document(None, None))
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
        if is_preset:
            graph = self.fitted_to_view(graph)
        self.set_document(Document(graph, None if is_preset else path))
        if not is_preset:
            self._add_recent(path)
        return True

    def view_aspect(self):
        """Width / height of the canvas (before the window is first shown: a typical one)."""
        view = self.view.viewport().rect()   # sized with the window even while hidden
        if view.height() < 100:
            return 1.6
        minimap = self.view.minimap
        return (view.width() - (minimap.width() + 20 if minimap.isVisibleTo(self.view) else 0)) / view.height()

    def fitted_to_view(self, graph):
        """A preset laid out afresh for this canvas: a long network wraps into columns, so the
        whole of it shows at a readable size. (Preset files store one tall column.)"""
        for node_id, pos in layered_positions(graph, aspect=self.view_aspect()).items():
            graph.move(node_id, pos)
        return graph

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
        suggestion = str(self.document.path or Path.cwd() / f"{self.document.graph.name or 'design'}.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save design", suggestion, FILE_FILTER)
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".json"
        return self._save_to(Path(path))

    def _save_to(self, path):
        try:
            self.document.save(path)
        except OSError as error:
            QMessageBox.critical(self, "Cannot save", f"{path}: {error.strerror or error}")
            return False
        self._add_recent(path)
        self._drop_recovery()
        self.statusBar().showMessage(f"Saved {path}", 4000)
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
        if self.maybe_save() and self.maybe_stop_training():
            if self.train_dock is not None:
                self.train_panel.shutdown()  # the worker thread must end before its QThread dies
            self._drop_recovery()
            event.accept()
        else:
            event.ignore()

    def maybe_stop_training(self):
        """Ask before quitting stops a training run; False when the person cancels."""
        if self.train_dock is None or not self.train_panel.is_running:
            return True
        answer = QMessageBox.question(
            self, "Training is running", "Stop the training run and quit? The last checkpoint "
            "is kept and the run can be resumed from it.",
            QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Cancel)
        return answer == QMessageBox.Yes

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
        for i, path in enumerate(files):
            action = self.recent_menu.addAction(f"&{i + 1} {Path(path).name}")
            action.setToolTip(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_design(p))
        if not files:
            self.recent_menu.addAction("No recent files").setEnabled(False)

    # ---- autosave and recovery ----------------------------------------------------------------
    def autosave(self):
        """Write the design to this session's recovery file when it has unsaved changes."""
        if self.document is None or not self.document.modified:
            return False
        self.recovery_path.parent.mkdir(parents=True, exist_ok=True)
        fileformat.save(self.document.graph, self.recovery_path)
        meta = {"path": str(self.document.path) if self.document.path else None, "time": time.time()}
        self.recovery_path.with_suffix(".meta").write_text(json.dumps(meta), encoding="utf-8")
        return True

    def _drop_recovery(self):
        for path in (self.recovery_path, self.recovery_path.with_suffix(".meta")):
            if path.exists():
                path.unlink()

    def pending_recoveries(self):
        """Recovery files left by sessions that are no longer running (a crash)."""
        folder = self.home / "recovery"
        found = []
        for design in sorted(folder.glob("*.json")) if folder.exists() else []:
            try:
                pid = int(design.stem)
            except ValueError:
                continue
            if pid != os.getpid() and not _pid_alive(pid):
                found.append(design)
        return found

    def offer_recovery(self):
        """After a crash, offer to bring back the unsaved design. True when one was recovered."""
        for design in self.pending_recoveries():
            meta_path = design.with_suffix(".meta")
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                meta = {}
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(meta.get("time", design.stat().st_mtime)))
            name = Path(meta["path"]).name if meta.get("path") else "an unsaved design"
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
                    document = Document(graph, meta.get("path"))
                    self.set_document(document)
                    document.mark_recovered()
                    recovered = True
            for path in (design, meta_path):
                if path.exists():
                    path.unlink()
            if recovered:
                return True
        return False

    # ---- editing ----------------------------------------------------------------------------------
    @property
    def editable(self):
        return self.document is not None and not self.crumbs

    def add_layer(self, type_name, scene_pos=None):
        """Add a layer. Dropped: where it fell. Otherwise below the one selected node and connected
        to it when that makes sense, or at the centre of the view."""
        if not self.editable:
            return None
        graph = self.document.graph
        node_id = graph.unique_id(type_name.lower())
        selected = self.scene.selected_ids()
        source = graph.nodes[selected[0]] if scene_pos is None and len(selected) == 1 else None
        if scene_pos is not None:
            pos = (scene_pos.x() - NODE_WIDTH / 2, scene_pos.y() - NODE_HEIGHT / 2)
        elif source is not None:
            pos = (source.pos[0], source.pos[1] + NODE_HEIGHT + V_GAP)
        else:
            centre = self.view.mapToScene(self.view.viewport().rect().center())
            pos = (centre.x() - NODE_WIDTH / 2, centre.y() - NODE_HEIGHT / 2)
        command = Compound(graph, f"Add {node_id}", [AddNode(graph, type_name, node_id, None, pos)])
        edge = self.scene.edge_at(scene_pos) if scene_pos is not None else None
        if edge is not None:  # dropped on a wire: insert it there
            command = insert_on_edge(graph, edge, type_name, node_id, pos)
        elif source is not None:
            probe = Node(node_id, type_name, None)
            probe.params = probe.spec.defaults()
            outs, ins = source.output_ports(), probe.input_ports()
            if outs and ins and self.scene.fits(source.id, outs[0], probe, ins[0]):
                command.add(Connect(graph, source.id, outs[0], node_id, ins[0]))
        try:
            self.push(command)
        except (DesignError, ValueError, KeyError):
            return None
        self.scene.select_ids([node_id])
        return node_id

    def delete_selection(self):
        if not self.editable:
            return
        ids, edges = self.scene.selected_ids(), self.scene.selected_edges()
        if not ids and not edges:
            return
        graph = self.document.graph
        command = delete_nodes(graph, ids)
        for edge in edges:
            if edge.src not in ids and edge.dst not in ids:
                command.children.insert(0, Disconnect(graph, edge))
        if not ids:
            command.text = "Delete connection" if len(edges) == 1 else f"Delete {len(edges)} connections"
        self._try(lambda: command)

    def copy(self):
        ids = self.scene.selected_ids() if self.scene else []
        if not ids:
            return False
        clip = selection_graph(self.scene.graph, ids)
        mime = QMimeData()
        text = fileformat.dumps(clip)
        mime.setData(CLIP_MIME, text.encode("utf-8"))
        mime.setText(text)
        QApplication.clipboard().setMimeData(mime)
        return True

    def cut(self):
        if self.editable and self.copy():
            self.delete_selection()

    def paste(self):
        if not self.editable:
            return
        mime = QApplication.clipboard().mimeData()
        if mime is None or not mime.hasFormat(CLIP_MIME):
            return
        try:
            clip = fileformat.loads(bytes(mime.data(CLIP_MIME)).decode("utf-8"))
        except DesignError as error:
            self.statusBar().showMessage(f"cannot paste: {error}", 6000)
            return
        self._paste_graph(clip)

    def _paste_graph(self, clip):
        graph = self.document.graph
        holder = {}

        def make():
            command, names = paste(graph, clip)
            holder["names"] = names
            return command
        self._try(make, select=lambda c: list(holder["names"].values()))

    def duplicate(self):
        if self.editable and self.scene.selected_ids():
            self._paste_graph(selection_graph(self.document.graph, self.scene.selected_ids()))

    def rename(self):
        if len(self.scene.selected_ids() if self.scene else []) == 1:
            self.inspector_dock.raise_()
            self.inspector.focus_name()

    def select_all(self):
        if self.scene is not None:
            self.scene.select_ids(list(self.scene.graph.nodes))

    def group_selection(self):
        if not self.editable:
            return
        graph = self.document.graph
        ids = self.scene.selected_ids()
        holder = {}

        def make():
            command = group_command(graph, ids)
            holder["id"] = next(c.node_id for c in command.children if isinstance(c, AddNode))
            return command
        self._try(make, select=lambda c: [holder["id"]])

    def input_shapes(self, node_id, graph=None, analysis=None):
        """The shapes reaching a node's inputs (one per port), or None if any is unknown."""
        graph = graph or self.document.graph
        analysis = analysis or self.document.analyzer
        shapes = []
        for port in graph.nodes[node_id].input_ports():
            edge = graph.in_edge(node_id, port)
            result = analysis.results.get(edge.src) if edge else None
            if result is None or not result.ok or edge.src_port not in result.outputs:
                return None
            shapes.append(result.outputs[edge.src_port])
        return shapes

    def explode_selection(self):
        if not self.editable:
            return
        graph = self.document.graph
        blocks = [nid for nid in self.scene.selected_ids() if graph.nodes[nid].is_block]
        if len(blocks) != 1:
            self.statusBar().showMessage("select one block to explode", 5000)
            return
        states = self.input_shapes(blocks[0])
        shapes = [s.shape for s in states] if states is not None else None
        before = set(graph.nodes)
        self._try(lambda: explode_command(graph, blocks[0], shapes),
                  select=lambda c: [n for n in graph.nodes if n not in before])

    def auto_layout(self):
        if self.editable:
            graph = self.document.graph
            aspect = self.view_aspect()
            self._try(lambda: layout_command(graph, layered_positions(graph, aspect=aspect)))
            self.view.fit()

    def _context_menu(self, global_pos, scene_pos):
        if self.scene is None:
            return
        kind, target = self.scene.target_at(scene_pos)
        self._update_actions()
        context_menu.build(self, scene_pos, kind, target).exec(global_pos)

    # ---- looking inside blocks ------------------------------------------------------------------
    def open_selected_block(self):
        ids = self.scene.selected_ids() if self.scene else []
        if len(ids) == 1 and self.scene.graph.nodes[ids[0]].is_block:
            self.open_block(ids[0])

    def open_block(self, node_id):
        """Show the inside of a block (read-only), with a breadcrumb back out."""
        graph, analysis = self.scene.graph, self.scene.analysis
        node = graph.nodes[node_id]
        states = self.input_shapes(node_id, graph, analysis)
        if node.subgraph is None and states is None:
            self.statusBar().showMessage(f"{node_id}: its input shapes are unknown; fix the errors "
                                         "upstream to look inside", 6000)
            return False
        ports = node.input_ports()
        inner = node.block_graph([s.shape for s in states] if states is not None else None)
        input_states = dict(zip(ports, states)) if states is not None else {}
        results = StaticResults(analyze(inner, input_states))
        if not self.crumbs:
            self.crumbs.append((self.document.graph.name or "design", graph, analysis))
        self.crumbs.append((node_id, inner, results))
        self._show_graph(inner, results, editable=False)
        self._update_breadcrumb()
        self._update_actions()
        self.view.fit()
        return True

    def close_block(self):
        if len(self.crumbs) > 1:
            self._go_to_crumb(len(self.crumbs) - 2)

    def close_all_blocks(self):
        if self.crumbs:
            self._go_to_crumb(0)

    def _go_to_crumb(self, index):
        title, graph, analysis = self.crumbs[index]
        del self.crumbs[index + 1:]
        if index == 0:
            self.crumbs = []
        self._show_graph(graph, analysis, editable=not self.crumbs)
        self._update_breadcrumb()
        self._update_actions()
        self.view.fit()

    def _update_breadcrumb(self):
        while self.breadcrumb_layout.count():
            item = self.breadcrumb_layout.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        if not self.crumbs:
            self.breadcrumb.hide()
            return
        for i, (title, _, _) in enumerate(self.crumbs):
            if i:
                self.breadcrumb_layout.addWidget(QLabel("›"))
            button = QPushButton(title)
            button.setObjectName("crumb")
            button.setFlat(True)
            button.setEnabled(i < len(self.crumbs) - 1)
            button.clicked.connect(lambda checked=False, index=i: self._go_to_crumb(index))
            self.breadcrumb_layout.addWidget(button)
        note = QLabel("read-only view of the block's inside; explode the block to edit its layers")
        note.setObjectName("dim")
        self.breadcrumb_layout.addSpacing(16)
        self.breadcrumb_layout.addWidget(note)
        self.breadcrumb_layout.addStretch(1)
        self.breadcrumb.show()

    def breadcrumb_titles(self):
        return [title for title, _, _ in self.crumbs]

    # ---- view --------------------------------------------------------------------------------------
    def focus_node(self, node_id):
        if self.crumbs:
            self.close_all_blocks()
        if self.scene is None or self.scene.item(node_id) is None:
            return
        self.scene.select_ids([node_id])
        self.view.focus_node(node_id)

    def _on_selection(self):
        ids = self.scene.selected_ids()
        self.inspector.show_nodes(ids)
        if not self.crumbs:
            self.summary.select_ids(ids)
        self._update_actions()

    def _on_graph_changed(self, change):
        if change.structure and self.crumbs:
            self.close_all_blocks()
        self._update_totals()

    def _update_totals(self):
        if self.document is None:
            self.totals_label.setText("")
            return
        totals = self.document.analyzer.totals
        errors = f" · {totals.errors} in error" if totals.errors else ""
        self.totals_label.setText(f"{len(self.document.graph.nodes)} layers · {totals.params:,} "
                                  f"parameters · {human(totals.macs)} multiply-adds{errors}")

    def _issues_count(self, count):
        self.issues_dock.setWindowTitle(f"Issues ({count})" if count else "Issues")
        self._update_totals()

    def _update_title(self):
        if self.document is None:
            self.setWindowTitle("CNN Designer")
            return
        self.setWindowTitle(f"{self.document.title}[*] — CNN Designer")
        self.setWindowModified(self.document.modified)

    def _update_actions(self, *args):
        has_doc = self.document is not None
        editable = self.editable
        ids = self.scene.selected_ids() if self.scene else []
        graph = self.scene.graph if self.scene else None
        for action in (self.act_save, self.act_save_as, self.act_export, self.act_fit,
                       self.act_zoom_in, self.act_zoom_out, self.act_zoom_reset, self.act_select_all):
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
        self.act_close_block.setEnabled(bool(self.crumbs))
        self.act_rename.setEnabled(editable and len(ids) == 1)

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
                action.setIcon(themes.icon(action.icon_name, self.theme.text))
        self.view.set_theme(self.theme)
        if self.scene is not None:
            self.scene.set_theme(self.theme)
            self.issues.set_source(self.document.analyzer, self.theme)
        self.palette.set_theme(self.theme)
        self.summary.model.error_colour = themes.QColor(self.theme.error)

    def export_dialog(self):
        if self.document is None:
            return
        try:
            from .export_dialog import ExportDialog
        except ImportError as error:
            QMessageBox.information(self, "Export", f"Export is not available in this build ({error}).")
            return
        ExportDialog(lambda: self.document.graph, self).exec()

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

