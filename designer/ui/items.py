"""Canvas items: one `NodeItem` per node that paints all its own text (cached by Qt), and one
`EdgeItem` per edge drawn as a vertical cubic curve from an output port (bottom of a node) to an
input port (top). Items show state and forward gestures to the scene; they never change the graph.
"""

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyle, QStyleOptionGraphicsItem

from designer.core.layout import NODE_HEIGHT, NODE_WIDTH
from designer.core.params import format_shape
from designer.core.registry import Role
from designer.core.summary import human

from .theme import category_colour

HEADER = 22.0
PORT_RADIUS = 4.5
PORT_HIT = 9.0


def _fonts():
    bold = QFont()
    bold.setPointSizeF(9.0)
    bold.setBold(True)
    plain = QFont()
    plain.setPointSizeF(8.8)
    small = QFont()
    small.setPointSizeF(8.0)
    return bold, plain, small


class NodeItem(QGraphicsItem):
    """A node: a coloured header with its name and type, its key parameters, and a footer with
    its output shape and parameter count; input ports on top, output ports at the bottom."""

    def __init__(self, scene_ref, node, theme):
        super().__init__()
        self.scene_ref = scene_ref
        self.node = node
        self.theme = theme
        self.result = None
        self.edges = []
        self.in_ports = []
        self.out_ports = []
        self._hover_port = None
        self._rect = QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT)
        flags = QGraphicsItem.ItemIsSelectable | QGraphicsItem.ItemSendsGeometryChanges
        if not scene_ref.read_only:
            flags |= QGraphicsItem.ItemIsMovable
        self.setFlags(flags)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.setPos(QPointF(*node.pos))
        self.refresh()

    # ---- state ---------------------------------------------------------------------------
    def refresh(self, result=None):
        """Re-read ports and parameters (and take a new analysis result), then repaint."""
        if result is not None:
            self.result = result
        node = self.node
        self.in_ports = node.input_ports()
        self.out_ports = node.output_ports()
        self._describe = node.spec.describe(node.params)
        self.set_result(self.result)

    def set_result(self, result):
        """A new analysis result: repaint; the tooltip is rebuilt when next hovered (building
        1,000 tooltips on every keystroke would cost more than the analysis itself)."""
        self.result = result
        self._tip_stale = True
        self.update()

    def tooltip_text(self):
        node, r = self.node, self.result
        if r is not None and r.error:
            return r.error
        if r is not None and r.ok:
            lines = [f"{node.id}: {node.spec.title}", f"output {self._shape_text()}",
                     f"{r.params:,} parameters, {human(r.macs)} multiply-adds"]
            if r.receptive_field:
                lines.append(f"receptive field {format_shape(r.receptive_field)}")
            if node.is_block:
                lines.append("double-click to look inside")
            return "\n".join(lines)
        return f"{node.id}: {node.spec.title}\n{r.message if r else ''}".strip()

    def _shape_text(self):
        r = self.result
        if r is None or not r.ok:
            return "—"
        shapes = [format_shape(s.shape) for s in r.outputs.values()]
        if len(shapes) > 2:
            return f"{shapes[0]} ×{len(shapes)}"
        return ", ".join(shapes) if shapes else ""

    def set_theme(self, theme):
        self.theme = theme
        self.update()

    # ---- geometry ------------------------------------------------------------------------
    def boundingRect(self):
        return self._rect.adjusted(-PORT_RADIUS - 3, -PORT_RADIUS - 3, PORT_RADIUS + 5, PORT_RADIUS + 5)

    def shape(self):
        path = QPainterPath()
        path.addRect(self._rect.adjusted(-PORT_HIT, -PORT_HIT, PORT_HIT, PORT_HIT))
        return path

    def port_local(self, kind, port):
        ports = self.in_ports if kind == "in" else self.out_ports
        index = ports.index(port) if port in ports else 0
        x = NODE_WIDTH * (index + 1) / (len(ports) + 1)
        return QPointF(x, 0.0 if kind == "in" else NODE_HEIGHT)

    def port_scene(self, kind, port):
        return self.mapToScene(self.port_local(kind, port))

    def port_at(self, local, reach=PORT_HIT):
        """(kind, port) of the port under a local point, or None."""
        for kind, ports in (("in", self.in_ports), ("out", self.out_ports)):
            for port in ports:
                delta = self.port_local(kind, port) - local
                if abs(delta.x()) <= reach and abs(delta.y()) <= reach:
                    return kind, port
        return None

    def nearest_port(self, kind, local):
        ports = self.in_ports if kind == "in" else self.out_ports
        if not ports:
            return None
        return min(ports, key=lambda p: abs(self.port_local(kind, p).x() - local.x()))

    # ---- painting ------------------------------------------------------------------------
    def paint(self, painter, option, widget=None):
        theme = self.theme
        node, r = self.node, self.result
        error = r is not None and r.error is not None
        blocked = r is not None and r.blocked
        colour = category_colour(node.spec.category)
        selected = bool(option.state & QStyle.State_Selected)
        rect = self._rect
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        border = QColor(theme.error) if error else (QColor(theme.accent) if selected
                                                   else QColor(theme.node_border))
        if lod < 0.3:  # far out (minimap, fitted large nets): a block of colour is enough
            painter.setPen(Qt.NoPen)
            painter.setBrush(QColor(theme.error) if error else colour)
            painter.drawRect(rect)
            if selected:
                painter.setBrush(Qt.NoBrush)
                painter.setPen(QPen(QColor(theme.accent), 6))
                painter.drawRect(rect)
            return
        painter.setRenderHint(painter.RenderHint.Antialiasing, True)
        if node.is_block:  # a block shows as a small stack of cards
            painter.setPen(QPen(QColor(theme.node_border), 1))
            painter.setBrush(QColor(theme.node))
            painter.drawRoundedRect(rect.translated(4, 4), 6, 6)
        painter.setPen(QPen(border, 2.4 if (selected or error) else 1.0))
        painter.setBrush(QColor(theme.error_fill) if error else QColor(theme.node))
        painter.drawRoundedRect(rect, 6, 6)
        header = QPainterPath()
        header.addRoundedRect(rect.adjusted(1, 1, -1, 0).intersected(QRectF(0, 0, NODE_WIDTH, HEADER)), 5, 5)
        header.addRect(QRectF(1, HEADER - 6, NODE_WIDTH - 2, 6))
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(theme.error) if error else colour)
        painter.drawPath(header.simplified())
        if lod < 0.55:
            self._paint_ports(painter)
            return
        bold, plain, small = _fonts()
        pad = 8.0
        painter.setFont(small)
        type_text = "Block" if node.role is Role.GROUP else node.spec.title
        type_width = min(QFontMetrics(small).horizontalAdvance(type_text) + 3, NODE_WIDTH * 0.45)
        painter.setPen(QColor(255, 255, 255, 215))
        painter.drawText(QRectF(NODE_WIDTH - pad - type_width, 0, type_width, HEADER),
                         Qt.AlignRight | Qt.AlignVCenter,
                         QFontMetrics(small).elidedText(type_text, Qt.ElideRight, int(type_width)))
        painter.setFont(bold)
        painter.setPen(QColor("#ffffff"))
        name_width = NODE_WIDTH - 2 * pad - type_width - 6
        painter.drawText(QRectF(pad, 0, name_width, HEADER), Qt.AlignLeft | Qt.AlignVCenter,
                         QFontMetrics(bold).elidedText(node.id, Qt.ElideMiddle, int(name_width)))
        painter.setFont(plain)
        text_colour = QColor(theme.text)
        painter.setPen(text_colour)
        describe = self._describe or ("")
        painter.drawText(QRectF(pad, HEADER + 3, NODE_WIDTH - 2 * pad, 22),
                         Qt.AlignLeft | Qt.AlignVCenter,
                         QFontMetrics(plain).elidedText(describe, Qt.ElideRight, int(NODE_WIDTH - 2 * pad)))
        footer = QRectF(pad, HEADER + 25, NODE_WIDTH - 2 * pad, 22)
        if error:
            painter.setPen(QColor(theme.error))
            painter.drawText(footer, Qt.AlignLeft | Qt.AlignVCenter,
                             QFontMetrics(plain).elidedText("⚠ " + r.error.split(": ", 1)[-1],
                                                            Qt.ElideRight, int(footer.width())))
        else:
            count = human(r.params) if r is not None and r.params else ""
            count_width = QFontMetrics(small).horizontalAdvance(count) + 2
            painter.setPen(QColor(theme.blocked) if blocked else QColor(theme.text))
            painter.setFont(bold)
            painter.drawText(footer.adjusted(0, 0, -count_width - 6, 0), Qt.AlignLeft | Qt.AlignVCenter,
                             QFontMetrics(bold).elidedText(self._shape_text(), Qt.ElideRight,
                                                           int(footer.width() - count_width - 6)))
            if count:
                painter.setFont(small)
                painter.setPen(QColor(theme.text_dim))
                painter.drawText(footer, Qt.AlignRight | Qt.AlignVCenter, count)
        self._paint_ports(painter)

    def _paint_ports(self, painter):
        theme = self.theme
        graph = self.scene_ref.graph
        for kind, ports in (("in", self.in_ports), ("out", self.out_ports)):
            for port in ports:
                connected = (graph.in_edge(self.node.id, port) is not None if kind == "in"
                             else any(e.src_port == port for e in graph.out_edges(self.node.id)))
                hovered = self._hover_port == (kind, port)
                painter.setPen(QPen(QColor(theme.edge_hover if hovered else theme.edge), 1.4))
                painter.setBrush(QColor(theme.edge) if connected else QColor(theme.node))
                radius = PORT_RADIUS + (1.5 if hovered else 0)
                painter.drawEllipse(self.port_local(kind, port), radius, radius)

    # ---- gestures (forwarded to the scene) --------------------------------------------------
    def itemChange(self, change, value):
        if change == QGraphicsItem.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
        return super().itemChange(change, value)

    def hoverEnterEvent(self, event):
        self.setToolTip(self.tooltip_text())
        self._tip_stale = False
        super().hoverEnterEvent(event)

    def hoverMoveEvent(self, event):
        port = self.port_at(event.pos())
        if port != self._hover_port or self._tip_stale:
            self._hover_port = port
            self._tip_stale = False
            self.setToolTip(self.scene_ref.port_tooltip(self.node.id, *port) if port is not None
                            else self.tooltip_text())
            self.update()
        super().hoverMoveEvent(event)

    def hoverLeaveEvent(self, event):
        if self._hover_port is not None:
            self._hover_port = None
            self.update()
        super().hoverLeaveEvent(event)

    def mousePressEvent(self, event):
        port = self.port_at(event.pos())
        if port is not None and event.button() == Qt.LeftButton and not self.scene_ref.read_only:
            self.scene_ref.begin_connection(self, *port, event.scenePos())
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):
        if self.scene_ref.connecting:
            self.scene_ref.drag_connection(event.scenePos())
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event):
        if self.scene_ref.connecting:
            self.scene_ref.end_connection(event.scenePos())
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event):
        self.scene_ref.activate(self.node.id)


class EdgeItem(QGraphicsPathItem):
    """One edge; its tooltip is the tensor shape it carries."""

    def __init__(self, edge, src_item, dst_item, theme):
        super().__init__()
        self.edge = edge
        self.src_item = src_item
        self.dst_item = dst_item
        self.theme = theme
        self._hover = False
        self._shape = None
        self.setZValue(-1)
        self.setAcceptHoverEvents(True)
        self.setFlag(QGraphicsItem.ItemIsSelectable, True)
        self._apply_pen()
        self.update_path()

    def tooltip_text(self):
        """The tensor this edge carries, read from the scene's analysis when hovered."""
        e = self.edge
        result = self.src_item.result
        state = result.outputs.get(e.src_port) if result is not None and result.ok else None
        shape = format_shape(state.shape) if state is not None else "not computable"
        return f"{shape}\n{e.src}.{e.src_port} → {e.dst}.{e.dst_port}"

    def _apply_pen(self):
        colour = self.theme.edge_hover if (self._hover or self.isSelected()) else self.theme.edge
        self.setPen(QPen(QColor(colour), 2.4 if self._hover or self.isSelected() else 1.5,
                         Qt.SolidLine, Qt.RoundCap))

    def set_theme(self, theme):
        self.theme = theme
        self._apply_pen()

    def update_path(self):
        a = self.src_item.port_scene("out", self.edge.src_port)
        b = self.dst_item.port_scene("in", self.edge.dst_port)
        self.setPath(curve(a, b))
        self._shape = None

    def shape(self):
        if self._shape is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(10)
            self._shape = stroker.createStroke(self.path())
        return self._shape

    def itemChange(self, change, value):
        if change == QGraphicsItem.ItemSelectedHasChanged:
            self._apply_pen()
        return super().itemChange(change, value)

    def hoverEnterEvent(self, event):
        self._hover = True
        self._apply_pen()
        self.setToolTip(self.tooltip_text())
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event):
        self._hover = False
        self._apply_pen()
        super().hoverLeaveEvent(event)

    def paint(self, painter, option, widget=None):
        # Selection is shown by colour; skip Qt's dashed selection rectangle.
        option.state &= ~QStyle.State_Selected
        super().paint(painter, option, widget)


def curve(a, b):
    """A vertical S-curve from a (an output port) down to b (an input port). An edge that skips
    rows of a column (a residual shortcut) swings out to the right of the column instead of
    running behind the nodes it skips."""
    path = QPainterPath(a)
    dy = b.y() - a.y()
    if dy > 1.6 * (NODE_HEIGHT + 46.0) and abs(b.x() - a.x()) < NODE_WIDTH * 0.75:
        side = max(a.x(), b.x()) + NODE_WIDTH * 0.5 + 26.0
        r = 40.0
        path.cubicTo(QPointF(a.x(), a.y() + r), QPointF(side, a.y() + r * 0.4), QPointF(side, a.y() + 2 * r))
        path.lineTo(QPointF(side, b.y() - 2 * r))
        path.cubicTo(QPointF(side, b.y() - r * 0.4), QPointF(b.x(), b.y() - r), b)
        return path
    bend = max(30.0, abs(dy) * 0.45)
    if dy < 0:  # going back up: swing out so the curve does not cross the nodes
        bend = max(bend, 80.0)
    path.cubicTo(QPointF(a.x(), a.y() + bend), QPointF(b.x(), b.y() - bend), b)
    return path
