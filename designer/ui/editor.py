"""The document editor: the canvas of the open design with its breadcrumb, and everything done to
the design there — editing commands, the clipboard, looking inside blocks, the selection.

Every edit is a core command pushed on the document's undo stack; a refused edit changes nothing
and says why through `message`. The editor knows nothing of docks, menus or files: the main window
listens to its signals and calls its methods.
"""

from PySide6.QtCore import QMimeData, QPoint, QPointF, QTimer, Signal
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from designer.core import fileformat
from designer.core.commands import (AddNode, Compound, Connect, Disconnect, delete_nodes, insert_on_edge,
                                    layout as layout_command, paste, selection_graph)
from designer.core.errors import DesignError
from designer.core.graph import Node
from designer.core.grouping import explode_command, group_command
from designer.core.infer import PortState, analyze, input_states
from designer.core.layout import NODE_HEIGHT, NODE_WIDTH, V_GAP, layered_positions

from .scene import GraphScene, StaticResults
from .view import GraphView

CLIP_MIME = "application/x-cnn-designer-graph"
MESSAGE_MS = 8000


def release_clipboard():
    """Qt's clipboard owns the QMimeData that Copy made in Python and would destroy it after Python
    has shut down (a crash at exit); hand it back while Python still runs. A clipboard holding
    another program's data is left alone."""
    app = QApplication.instance()
    mime = app.clipboard().mimeData() if app is not None else None
    if mime is not None and mime.hasFormat(CLIP_MIME):
        app.clipboard().clear()


class DocumentEditor(QWidget):
    document_changed = Signal(object)           # a new Document is shown
    graph_shown = Signal(object, object, bool)  # graph, analysis, editable (a block's inside is not)
    selection_changed = Signal(list)            # node ids selected in the graph shown
    state_changed = Signal()                    # undo, selection or block navigation moved
    graph_changed = Signal()                    # the document's graph changed (totals follow)
    activated = Signal(str)                     # a node was double-clicked
    message = Signal(str, int)                  # (text, milliseconds) for the status bar
    context_requested = Signal(QPoint, QPointF)  # right-click: global position, scene position

    def __init__(self, theme, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.document = None
        self.scene = None
        self.crumbs = []          # [(title, graph, analysis)] for the blocks opened, outermost first
        self._views = {}          # crumb level -> the view's zoom and centre when a block was opened
        self.view = GraphView(theme)
        self.view.layer_dropped.connect(self.add_layer)
        self.view.context_requested.connect(self.context_requested)
        self.breadcrumb = QFrame()
        self.breadcrumb.setObjectName("breadcrumb")
        self.breadcrumb_layout = QHBoxLayout(self.breadcrumb)
        self.breadcrumb_layout.setContentsMargins(8, 2, 8, 2)
        self.breadcrumb.hide()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.breadcrumb)
        column.addWidget(self.view)

    # ---- the document -------------------------------------------------------------------------
    def set_document(self, document):
        """Show `document` (replacing the current one, which is closed)."""
        if self.document is not None:
            self._release_document()
        self.document = document
        document.setParent(self)
        document.undo_stack.indexChanged.connect(self._on_undo_index)
        document.graph.changed.connect(self._on_graph_changed)
        self._show_graph(document.graph, document.analyzer, editable=True)
        self.document_changed.emit(document)
        self.view.fit()
        QTimer.singleShot(0, self.view.fit)  # again once the view has its final size

    def _release_document(self):
        """Stop following the open document and close it (the caller replaces or clears it)."""
        self.close_all_blocks()
        self.document.graph.changed.disconnect(self._on_graph_changed)
        self.document.undo_stack.indexChanged.disconnect(self._on_undo_index)
        self.document.close()
        self.document.deleteLater()

    def close_document(self):
        """Close the open design (File ▸ Close): no document, no canvas."""
        if self.document is None:
            return
        self._release_document()
        self.document = None
        old, self.scene = self.scene, None
        self.view.setScene(None)
        self.view.minimap.set_scene(None)
        old.detach()
        old.deleteLater()
        self.document_changed.emit(None)

    def _show_graph(self, graph, analysis, editable):
        old = self.scene
        self.scene = GraphScene(graph, analysis, self.theme,
                                push=self.push if editable else None, parent=self)
        self.scene.selectionChanged.connect(self._on_selection)
        self.scene.open_block.connect(self.open_block)
        self.scene.activated.connect(self.activated)
        self.scene.message.connect(lambda text: self.message.emit(text, 6000))
        self.view.setScene(self.scene)
        self.view.minimap.set_scene(self.scene)
        self.graph_shown.emit(graph, analysis, editable)
        if old is not None:
            old.detach()
            old.deleteLater()

    @property
    def editable(self):
        return self.document is not None and not self.crumbs

    def selected_ids(self):
        return self.scene.selected_ids() if self.scene is not None else []

    def push(self, command):
        """Do a core command as one undo step; a refusal shows its sentence and changes nothing."""
        try:
            self.document.push(command)
        except DesignError as error:
            self.message.emit(str(error), MESSAGE_MS)
            raise
        return True

    def _try(self, make_command, select=None):
        """Build and push a command; refusals show in the status bar. True when it was done."""
        try:
            command = make_command()
            self.push(command)
        except DesignError as error:
            self.message.emit(str(error), MESSAGE_MS)
            return False
        if select is not None:
            self.scene.select_ids(select(command) if callable(select) else select)
        return True

    # ---- editing --------------------------------------------------------------------------------
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
            try:
                if outs and ins:
                    graph.check_connect(source.id, outs[0], node_id, ins[0],
                                        self.document.analyzer.results, new_node=probe)
                    command.add(Connect(graph, source.id, outs[0], node_id, ins[0]))
            except DesignError:
                pass    # added unconnected: it would not fit below the selected node
        try:
            self.push(command)
        except DesignError:
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
        ids = self.selected_ids()
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
            self.message.emit(f"cannot paste: {error}", 6000)
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
        """The states reaching a node's inputs (one per port), or None if any is unknown."""
        graph = graph or self.document.graph
        analysis = analysis or self.document.analyzer
        states = list(input_states(graph, analysis.results, node_id).values())
        return states if all(isinstance(s, PortState) for s in states) else None

    def explode_selection(self):
        if not self.editable:
            return
        graph = self.document.graph
        blocks = [nid for nid in self.scene.selected_ids() if graph.nodes[nid].is_block]
        if len(blocks) != 1:
            self.message.emit("select one block to explode", 5000)
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

    def view_aspect(self):
        """Width / height of the canvas's free part (before the window is first shown: a
        typical one)."""
        view = self.view.viewport().rect()   # sized with the window even while hidden
        if view.height() < 100:
            return 1.6
        minimap = self.view.minimap
        return (view.width() - (minimap.width() + 20 if minimap.isVisibleTo(self.view) else 0)) / view.height()

    def fitted_to_view(self, graph):
        """A preset laid out afresh for this canvas (before it becomes a document): a long
        network wraps into columns, so the whole of it shows at a readable size."""
        for node_id, pos in layered_positions(graph, aspect=self.view_aspect()).items():
            graph.move(node_id, pos)
        return graph

    # ---- looking inside blocks ------------------------------------------------------------------
    def open_selected_block(self):
        ids = self.selected_ids()
        if len(ids) == 1 and self.scene.graph.nodes[ids[0]].is_block:
            self.open_block(ids[0])

    def open_block(self, node_id):
        """Show the inside of a block (read-only), with a breadcrumb back out."""
        graph, analysis = self.scene.graph, self.scene.analysis
        node = graph.nodes[node_id]
        states = self.input_shapes(node_id, graph, analysis)
        if node.subgraph is None and states is None:
            self.message.emit(f"{node_id}: its input shapes are unknown; fix the errors upstream to "
                              "look inside", 6000)
            return False
        ports = node.input_ports()
        inner = node.block_graph([s.shape for s in states] if states is not None else None)
        input_states = dict(zip(ports, states)) if states is not None else {}
        results = StaticResults(analyze(inner, input_states))
        if not self.crumbs:
            self.crumbs.append((self.document.graph.name or "design", graph, analysis))
        self._views[len(self.crumbs) - 1] = self.view.state()   # back out returns here
        self.crumbs.append((node_id, inner, results))
        self._show_graph(inner, results, editable=False)
        self._update_breadcrumb()
        self.state_changed.emit()
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
        self.state_changed.emit()
        view = self._views.pop(index, None)
        for deeper in [level for level in self._views if level > index]:
            del self._views[deeper]
        if view is not None:
            self.view.set_state(view)   # where the person was before looking inside
        else:
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

    # ---- selection and view ---------------------------------------------------------------------
    def focus_node(self, node_id):
        """Select a node of the design and centre the view on it (leaving any block opened)."""
        if self.crumbs:
            self.close_all_blocks()
        if self.scene is None or self.scene.item(node_id) is None:
            return
        self.scene.select_ids([node_id])
        self.view.focus_node(node_id)

    def _on_selection(self):
        self.selection_changed.emit(self.scene.selected_ids())
        self.state_changed.emit()

    def _on_undo_index(self, index):
        self.state_changed.emit()

    def _on_graph_changed(self, change):
        if change.structure and self.crumbs:
            self.close_all_blocks()
        self.graph_changed.emit()

    def set_theme(self, theme):
        self.theme = theme
        self.view.set_theme(theme)
        if self.scene is not None:
            self.scene.set_theme(theme)
