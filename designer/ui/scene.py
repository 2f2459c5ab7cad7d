"""The canvas scene: mirrors one graph through its signals (after orange-canvas-core's
`canvas/scene.py`).

The scene keeps a private node id -> item map and edge -> item map, adds and removes items as the
graph notifies, and repaints only the nodes the analysis reports as changed. Gestures (moving
nodes, dragging a connection) become core commands passed to `push`; a scene without `push` is a
read-only view (the inside of a block).
"""

import math

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (QGraphicsPathItem, QGraphicsScene, QStyleOptionGraphicsItem,
                               QToolTip)

from designer.core.commands import Connect, Disconnect, MoveNodes, move_connection
from designer.core.errors import DesignError
from designer.core.infer import PortState, input_state
from designer.core.layout import NODE_HEIGHT, NODE_WIDTH
from designer.core.params import format_shape

from .items import PORT_HIT, EdgeItem, NodeGrid, NodeItem, compact_text_shown, curve


class StaticResults:
    """Analysis results that never change (a read-only block view); quacks like an Analyzer."""

    def __init__(self, results):
        from designer.core.events import Signal as CoreSignal
        self.results = results
        self.updated = CoreSignal()


class GraphScene(QGraphicsScene):
    open_block = Signal(str)      # a block node was double-clicked
    activated = Signal(str)       # another node was double-clicked
    message = Signal(str)         # a refusal or hint for the status bar
    drawing_changed = Signal()    # nodes added, removed, moved or recoloured (the minimap redraws)

    def __init__(self, graph, analysis, theme, push=None, parent=None):
        super().__init__(parent)
        self.graph = graph
        self.analysis = analysis
        self.theme = theme
        self.push = push
        self.read_only = push is None
        self._items = {}
        self._edges = {}
        self._drag = None        # (item, kind, port) while dragging a new connection
        self._moving = None      # the edge picked up by its input end, while it is dragged
        self._drag_path = None
        self._reroute = QTimer(self)       # wires re-routed once after nodes moved
        self._reroute.setSingleShot(True)
        self._reroute.setInterval(0)
        self._reroute.timeout.connect(self.reroute_edges)
        self.setItemIndexMethod(QGraphicsScene.BspTreeIndex)
        for node in graph.nodes.values():
            self._on_node_added(node)
        self._grid = None        # where the nodes are, for routing wires (rebuilt after moves)
        self._building = True    # edges are routed once, after every item is in place
        for edge in graph.edges:
            self._on_edge_added(edge)
        self._building = False
        self.reroute_edges()
        self._subscriptions = [
            (graph.node_added, self._on_node_added), (graph.node_removed, self._on_node_removed),
            (graph.edge_added, self._on_edge_added), (graph.edge_removed, self._on_edge_removed),
            (graph.node_changed, self._on_node_changed), (graph.changed, self._on_structure),
            (analysis.updated, self._on_results),
        ]
        for signal, slot in self._subscriptions:
            signal.connect(slot)
        self._update_rect()

    def detach(self):
        for signal, slot in self._subscriptions:
            signal.disconnect(slot)
        self._subscriptions = []

    # ---- queries -------------------------------------------------------------------------
    def set_heat(self, heat):
        """Tint nodes by `heat` (node id -> 0..1, from measured latency); None clears the tint."""
        for node_id, item in self._items.items():
            item.set_heat(heat.get(node_id) if heat else None)

    def item(self, node_id):
        return self._items.get(node_id)

    def node_items(self):
        return self._items.values()

    def edge_item(self, edge):
        return self._edges.get(edge)

    def edge_at(self, scene_pos):
        """The edge whose wire passes under a scene point, or None."""
        item = next((i for i in self.items(scene_pos) if isinstance(i, EdgeItem)), None)
        return item.edge if item is not None else None

    def selected_ids(self):
        return [item.node.id for item in self.selectedItems() if isinstance(item, NodeItem)]

    def selected_edges(self):
        return [item.edge for item in self.selectedItems() if isinstance(item, EdgeItem)]

    def target_at(self, scene_pos):
        """What a right-click at a scene point acts on: ("node", id), ("edge", edge) or
        (None, None); a node or wire that was not selected becomes the selection."""
        for item in self.items(scene_pos):
            if isinstance(item, NodeItem):
                if not item.isSelected():
                    self.select_ids([item.node.id])
                return "node", item.node.id
            if isinstance(item, EdgeItem):
                if not item.isSelected():
                    self.clearSelection()
                    item.setSelected(True)
                return "edge", item.edge
        return None, None

    def select_ids(self, node_ids):
        wanted = set(node_ids)
        self.blockSignals(True)
        try:
            self.clearSelection()
            for nid in wanted:
                item = self._items.get(nid)
                if item is not None:
                    item.setSelected(True)
        finally:
            self.blockSignals(False)
        self.selectionChanged.emit()

    def nodes_rect(self, node_ids=None):
        items = [self._items[n] for n in node_ids if n in self._items] if node_ids else list(self._items.values())
        rect = QRectF()
        for item in items:
            rect = rect.united(item.sceneBoundingRect())
        return rect

    # ---- mirroring the graph -----------------------------------------------------------------
    def _on_node_added(self, node):
        item = NodeItem(self, node, self.theme)
        item.result = self.analysis.results.get(node.id)
        item.refresh()
        self._items[node.id] = item
        self.addItem(item)
        self._grid = None
        self.drawing_changed.emit()

    def _on_node_removed(self, node):
        item = self._items.pop(node.id, None)
        if item is not None:
            self.removeItem(item)
            self._grid = None
            self.drawing_changed.emit()

    def _on_edge_added(self, edge):
        src, dst = self._items[edge.src], self._items[edge.dst]
        item = EdgeItem(edge, src, dst, self.theme)
        src.edges.append(item)
        dst.edges.append(item)
        self._edges[edge] = item
        self.addItem(item)
        if not self._building:
            item.update_path()   # routed around the nodes now that it is in the scene
        for end in (src, dst):
            end.refresh_tooltip()
            end.update()

    def _on_edge_removed(self, edge):
        item = self._edges.pop(edge, None)
        if item is None:
            return
        for end in (item.src_item, item.dst_item):
            if item in end.edges:
                end.edges.remove(item)
            end.refresh_tooltip()
            end.update()
        self.removeItem(item)

    def _on_node_changed(self, node, aspect):
        if aspect == "id":
            old = next(k for k, v in self._items.items() if v.node is node)
            item = self._items.pop(old)
            self._items[node.id] = item
            item.refresh()
        elif aspect == "pos":
            item = self._items[node.id]
            if (item.pos().x(), item.pos().y()) != node.pos:
                item.setPos(QPointF(*node.pos))
            self._grid = None
            self._reroute.start()
            self.drawing_changed.emit()
        else:
            item = self._items[node.id]
            item.refresh()
            for edge in item.edges:
                edge.update_path()

    def _on_structure(self, change):
        if change.structure:
            self._update_rect()

    def node_grid(self):
        if self._grid is None:
            self._grid = NodeGrid(self._items.values())
        return self._grid

    def reroute_edges(self):
        """Route every wire again (nodes moved: a wire may now pass behind one)."""
        self._grid = None
        for item in self._edges.values():
            item.update_path()

    def _on_results(self, changed):
        results = self.analysis.results
        recoloured = False
        left, top, right, bottom = self._on_screen()
        # Zoomed out so far that nodes are bars without text (the whole design fitted), a
        # node's pixels change only when it goes into or out of error: the rest need no repaint.
        bars = not compact_text_shown(self._detail())
        for nid in changed:
            item = self._items.get(nid)
            if item is None:
                continue
            was_error = item.result is not None and item.result.error is not None
            result = results.get(nid)
            flipped = was_error != (result is not None and result.error is not None)
            x, y = item.node.pos
            item.set_result(result, repaint=(flipped or not bars)
                            and left < x < right and top < y < bottom)
            recoloured |= flipped
        if recoloured:   # the minimap shows errors only: most edits leave it as it is
            self.drawing_changed.emit()

    def _on_screen(self):
        """(left, top, right, bottom): the scene area shown by a view, widened by a node, for
        which nodes' positions (their top-left corners) mean they need repainting. Asking
        Qt to repaint each of 900 changed nodes, most of them off screen, cost a millisecond."""
        shown = QRectF()
        for view in self.views():
            shown |= view.mapToScene(view.viewport().rect()).boundingRect()
        if shown.isEmpty():   # not shown anywhere (a grab renders the scene afresh)
            return -math.inf, -math.inf, math.inf, math.inf
        return (shown.left() - NODE_WIDTH - PORT_HIT, shown.top() - NODE_HEIGHT - PORT_HIT,
                shown.right() + PORT_HIT, shown.bottom() + PORT_HIT)

    def _detail(self):
        """The largest zoom (level of detail) at which a view shows the scene; 1 when none does."""
        zooms = [QStyleOptionGraphicsItem.levelOfDetailFromTransform(view.transform())
                 for view in self.views() if view.isVisible()]
        return max(zooms) if zooms else 1.0

    def _update_rect(self):
        rect = self.itemsBoundingRect()
        margin = max(800.0, 0.5 * max(rect.width(), rect.height()))
        self.setSceneRect(rect.adjusted(-margin, -margin, margin, margin))

    def set_theme(self, theme):
        self.theme = theme
        for item in self._items.values():
            item.set_theme(theme)
        for item in self._edges.values():
            item.set_theme(theme)
        self.drawing_changed.emit()

    def port_tooltip(self, node_id, kind, port):
        graph = self.graph
        if kind == "in":
            edge = graph.in_edge(node_id, port)
            if edge is None:
                return f"input {port}: not connected (drag from an output port here)"
            state = input_state(graph, self.analysis.results, node_id, port)
            shape = format_shape(state.shape) if isinstance(state, PortState) else "not computable"
            return f"input {port} ← {edge.src}: {shape}"
        result = self.analysis.results.get(node_id)
        state = result.outputs.get(port) if result is not None and result.ok else None
        return f"output {port}: {format_shape(state.shape) if state else 'not computable'}" + (
            "" if self.read_only else "\ndrag to an input port to connect")

    # ---- gestures --------------------------------------------------------------------------
    def activate(self, node_id):
        node = self.graph.nodes.get(node_id)
        if node is not None and node.is_block:
            self.open_block.emit(node_id)
        else:
            self.activated.emit(node_id)

    def mouseReleaseEvent(self, event):
        super().mouseReleaseEvent(event)
        if not self.read_only and event.button() == Qt.LeftButton:
            self.commit_moves()

    def commit_moves(self):
        """Turn the items dragged since the last commit into one Move command."""
        moves = {}
        for item in self._items.values():
            pos = (item.pos().x(), item.pos().y())
            if pos != item.node.pos:
                moves[item.node.id] = pos
        if moves:
            text = f"Move {next(iter(moves))}" if len(moves) == 1 else f"Move {len(moves)} nodes"
            self.push(MoveNodes(self.graph, moves, text))

    @property
    def connecting(self):
        return self._drag is not None

    def begin_connection(self, item, kind, port, scene_pos):
        self._drag = (item, kind, port)
        self._drag_path = QGraphicsPathItem()
        self._drag_path.setPen(QPen(QColor(self.theme.accent), 2, Qt.DashLine))
        self._drag_path.setZValue(10)
        self.addItem(self._drag_path)
        self.drag_connection(scene_pos)

    def pick_up_edge(self, edge, scene_pos):
        """Drag an existing wire by its input end: dropped on another input it moves there,
        dropped anywhere else it is disconnected."""
        self._moving = edge
        self._edges[edge].setVisible(False)
        self.begin_connection(self._items[edge.src], "out", edge.src_port, scene_pos)

    def drag_connection(self, scene_pos):
        item, kind, port = self._drag
        anchor = item.port_scene(kind, port)
        self._drag_path.setPath(curve(anchor, scene_pos) if kind == "out" else curve(scene_pos, anchor))

    def end_connection(self, scene_pos):
        item, kind, port = self._drag
        moving, self._moving = self._moving, None
        self.removeItem(self._drag_path)
        self._drag, self._drag_path = None, None
        target, target_port = self._port_target(item, kind, scene_pos)
        if moving is not None:
            self._end_move(moving, target, target_port, scene_pos)
            return
        if target is None:
            return
        if target_port is None:
            want = "input" if kind == "out" else "output"
            self._refuse(scene_pos, f"{target.node.id} has no {want} port")
            return
        if kind == "out":
            args = (item.node.id, port, target.node.id, target_port)
        else:
            args = (target.node.id, target_port, item.node.id, port)
        self.connect_ports(*args, scene_pos=scene_pos)

    def _port_target(self, item, kind, scene_pos):
        """(node item, port) a connection dragged from `item` would land on; (None, None) over
        empty canvas, (item, None) over a node without a matching port."""
        target = next((i for i in self.items(scene_pos) if isinstance(i, NodeItem) and i is not item), None)
        if target is None:
            return None, None
        local = target.mapFromScene(scene_pos)
        want = "in" if kind == "out" else "out"
        hit = target.port_at(local, reach=14)
        return target, hit[1] if hit and hit[0] == want else target.nearest_port(want, local)

    def _end_move(self, edge, target, target_port, scene_pos):
        if target is not None and (target.node.id, target_port) == (edge.dst, edge.dst_port):
            self._edges[edge].setVisible(True)   # put back where it was: nothing to do
            return
        try:
            if target is None or target_port is None:
                self.push(Disconnect(self.graph, edge))
            else:
                self.graph.check_connect(edge.src, edge.src_port, target.node.id, target_port)
                self.push(move_connection(self.graph, edge, target.node.id, target_port))
        except DesignError as error:
            self._refuse(scene_pos, str(error))
        if edge in self._edges:
            self._edges[edge].setVisible(True)

    def connect_ports(self, src, src_port, dst, dst_port, scene_pos=None):
        """Connect unless it would close a cycle. A connection whose shapes do not fit is made
        all the same: the receiving node turns red with the sentence saying why (undoable, and
        listed in the Issues tab), as for every other error. True if connected."""
        try:
            self.graph.check_connect(src, src_port, dst, dst_port)   # topology only: self, cycles
            self.push(Connect(self.graph, src, src_port, dst, dst_port, replace=True))
        except DesignError as error:
            self._refuse(scene_pos, str(error))
            return False
        result = self.analysis.results.get(dst)
        if result is not None and result.error:
            self.message.emit(f"{dst}: {result.error}")
        return True

    def _refuse(self, scene_pos, text):
        self.message.emit(text)
        view = self.views()[0] if self.views() else None
        if view is not None and scene_pos is not None:
            QToolTip.showText(view.mapToGlobal(view.mapFromScene(scene_pos)), text, view)
