"""Canvas items: one `NodeItem` per node that paints all its own text (cached by Qt), and one
`EdgeItem` per edge drawn as a vertical cubic curve from an output port (bottom of a node) to an
input port (top). Items show state and forward gestures to the scene; they never change the graph.
"""

import functools
import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyle, QStyleOptionGraphicsItem

from designer.core.layout import NODE_HEIGHT, NODE_WIDTH
from designer.core.params import format_shape
from designer.core.registry import Role
from designer.core.summary import human

from .theme import category_colour

HEADER = 22.0
FULL_DETAIL = 0.62      # below this zoom nodes draw compactly: text would be too small to read
COMPACT_TEXT_PX = 11


FROZEN_OPACITY = 0.6


def compact_text_shown(lod):
    """Whether a node drawn at zoom `lod` shows any text; below that it is a bar whose colour
    (its category, or the error colour) is all its result changes."""
    return NODE_HEIGHT * lod >= COMPACT_TEXT_PX + 2 and NODE_WIDTH * lod >= 30
PORT_RADIUS = 4.5
PORT_HIT = 9.0


# Flags and enums as constants: looked up by their short names (Qt.AlignLeft) on every paint of
# every node they cost microseconds each in PySide6.
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CENTRE = Qt.AlignmentFlag.AlignCenter
_ELIDE_RIGHT = Qt.TextElideMode.ElideRight
_NO_PEN = Qt.PenStyle.NoPen
_SELECTED = QStyle.StateFlag.State_Selected
_PAD = 8.0
_TEXT_WIDTH = NODE_WIDTH - 2 * _PAD


@functools.cache
def _fonts():
    """(bold, plain, small): the node fonts, made once."""
    bold = QFont()
    bold.setPointSizeF(9.0)
    bold.setBold(True)
    plain = QFont()
    plain.setPointSizeF(8.8)
    small = QFont()
    small.setPointSizeF(8.0)
    return bold, plain, small


@functools.cache
def _metrics():
    return tuple(QFontMetrics(font) for font in _fonts())


@functools.cache
def _compact_fonts():
    """(bold, plain, bold metrics, plain metrics) of a compact node's two lines."""
    plain = QFont()
    plain.setPixelSize(COMPACT_TEXT_PX)
    bold = QFont(plain)
    bold.setBold(True)
    return bold, plain, QFontMetrics(bold), QFontMetrics(plain)


@functools.cache
def _header_path():
    """The coloured header's outline: rounded on top, square where it meets the body."""
    rect = QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT)
    header = QPainterPath()
    header.setFillRule(Qt.FillRule.WindingFill)   # the overlap of the two parts is filled, not a hole
    header.addRoundedRect(rect.adjusted(1, 1, -1, 0).intersected(QRectF(0, 0, NODE_WIDTH, HEADER)), 5, 5)
    header.addRect(QRectF(1, HEADER - 6, NODE_WIDTH - 2, 6))
    return header.simplified()


def node_type_text(node):
    return "Block" if node.role is Role.GROUP else node.spec.title


# Shorter forms of layer titles for a node's header when the full title does not fit.
ABBREVIATIONS = (("Fully connected", "FC"), ("Local response norm", "LRN"), ("convolution", "conv"),
                 ("Convolution", "Conv"), ("pooling", "pool"), ("average", "avg"), ("Average", "Avg"),
                 (" layer", ""), ("normalisation", "norm"))


def short_title(title):
    for long, short in ABBREVIATIONS:
        title = title.replace(long, short)
    return title


def elide_name(name, metrics, width):
    """A dotted name that does not fit loses its leading parts first ('…denseblock1'): the
    end says which layer it is; only a last part too long on its own is cut in the middle."""
    if metrics.horizontalAdvance(name) <= width:
        return name
    parts = name.split(".")
    for i in range(1, len(parts)):
        tail = "…" + ".".join(parts[i:])
        if metrics.horizontalAdvance(tail) <= width:
            return tail
    return metrics.elidedText(name, Qt.ElideMiddle, int(width))


def header_texts(node, name_metrics, type_metrics, width, gap=8):
    """(name, type) for a node's header: the name comes first; the type shows in full or
    abbreviated when it fits beside it, and is left out rather than cut (it is in the tooltip)."""
    full = node_type_text(node)
    name_width = name_metrics.horizontalAdvance(node.id)
    for candidate in (full, short_title(full)):
        if name_width + gap + type_metrics.horizontalAdvance(candidate) <= width:
            return node.id, candidate
    short = short_title(full)
    type_width = type_metrics.horizontalAdvance(short)
    if type_width <= width * 0.45:
        return elide_name(node.id, name_metrics, width - gap - type_width), short
    return elide_name(node.id, name_metrics, width), ""


class NodeItem(QGraphicsItem):
    """A node: a coloured header with its name and type, its key parameters, and a footer with
    its output shape and parameter count; input ports on top, output ports at the bottom."""

    def __init__(self, scene_ref, node, theme):
        super().__init__()
        self.scene_ref = scene_ref
        self.node = node
        self.theme = theme
        self.result = None
        self.heat = None       # share of the measured forward time (0..1) when the tint is on
        self.edges = []
        self.in_ports = []
        self.out_ports = []
        self._hover_port = None
        self._hovered = False
        self._rect = QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT)
        self._bounds = self._rect.adjusted(-PORT_RADIUS - 3, -PORT_RADIUS - 3, PORT_RADIUS + 5, PORT_RADIUS + 5)
        flags = QGraphicsItem.ItemIsSelectable | QGraphicsItem.ItemSendsGeometryChanges
        if not scene_ref.read_only:
            flags |= QGraphicsItem.ItemIsMovable
        self.setFlags(flags)
        self.setAcceptHoverEvents(True)
        # No pixmap cache per node: an edit that re-flows shapes repaints every node on screen,
        # and re-rendering the caches cost more than they saved (a new input size on exploded
        # densenet264: 18.5 -> 17.2 ms at the node, 29 -> 26 ms with all of it on screen; a pan
        # step stays under 4.2 ms).
        self.setPos(QPointF(*node.pos))
        self.refresh()

    # ---- state ---------------------------------------------------------------------------
    def refresh(self, result=None):
        """Re-read ports and parameters (and take a new analysis result), then repaint."""
        if result is not None:
            self.result = result
        node = self.node
        # A frozen node (transfer learning: training leaves it as it is) is drawn greyed.
        self.colour = (QColor(self.theme.text_dim) if node.frozen
                       else category_colour(node.spec.category))
        self.setOpacity(FROZEN_OPACITY if node.frozen else 1.0)
        self.in_ports = node.input_ports()
        self.out_ports = node.output_ports()
        self._describe = node.spec.describe(node.params)
        self._lines = None
        self.set_result(self.result)

    def set_result(self, result, repaint=True):
        """A new analysis result: repaint (unless the caller knows the node is off screen: nodes
        keep no pixmap cache, so they are drawn from the new result when they come into view),
        and rebuild the tooltip now only when the pointer is on the node (building 1,000
        tooltips on every keystroke would cost more than the analysis itself); others rebuild
        theirs when next hovered."""
        self.result = result
        self._footer = self._compact = None
        if self._hovered:
            self.refresh_tooltip()
        else:
            self._tip_stale = True
        if repaint:
            self.update()

    def refresh_tooltip(self):
        if self._hovered:
            self.setToolTip(self.scene_ref.port_tooltip(self.node.id, *self._hover_port)
                            if self._hover_port is not None else self.tooltip_text())
            self._tip_stale = False
        else:
            self._tip_stale = True

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
        if self.node.frozen:
            self.colour = QColor(theme.text_dim)
        self.update()

    def set_heat(self, heat):
        if heat != self.heat:
            self.heat = heat
            self.update()

    # ---- geometry ------------------------------------------------------------------------
    def boundingRect(self):
        return self._bounds

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
        colour = self.colour
        selected = bool(option.state & _SELECTED)
        rect = self._rect
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        if lod < FULL_DETAIL:
            self._paint_compact(painter, lod, QColor(theme.error) if error else colour, selected)
            return
        border = QColor(theme.error) if error else (QColor(theme.accent) if selected
                                                   else QColor(theme.node_border))
        painter.setRenderHint(painter.RenderHint.Antialiasing, True)
        if node.is_block:  # a block shows as a small stack of cards
            painter.setPen(QPen(QColor(theme.node_border), 1))
            painter.setBrush(QColor(theme.node))
            painter.drawRoundedRect(rect.translated(4, 4), 6, 6)
        painter.setPen(QPen(border, 2.4 if (selected or error) else 1.0))
        painter.setBrush(QColor(theme.error_fill) if error else QColor(theme.node))
        painter.drawRoundedRect(rect, 6, 6)
        if self.heat is not None and not error:   # measured latency: hotter is slower
            painter.setPen(_NO_PEN)
            painter.setBrush(QColor(255, 110, 30, int(20 + 180 * self.heat)))
            painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 5, 5)
        painter.setPen(_NO_PEN)
        painter.setBrush(QColor(theme.error) if error else colour)
        painter.drawPath(_header_path())
        bold, plain, small = _fonts()
        name, type_text, describe = self._header_lines()
        header = QRectF(_PAD, 0, _TEXT_WIDTH, HEADER)
        painter.setFont(small)
        painter.setPen(QColor(255, 255, 255, 215))
        painter.drawText(header, _RIGHT, type_text)
        painter.setFont(bold)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(header, _LEFT, name)
        painter.setFont(plain)
        painter.setPen(QColor(theme.text))
        painter.drawText(QRectF(_PAD, HEADER + 3, _TEXT_WIDTH, 22), _LEFT, describe)
        footer = QRectF(_PAD, HEADER + 25, _TEXT_WIDTH, 22)
        text, count, count_width = self._footer_lines()
        if error:
            painter.setPen(QColor(theme.error))
            painter.drawText(footer, _LEFT, text)
        else:
            painter.setPen(QColor(theme.blocked) if blocked else QColor(theme.text))
            painter.setFont(bold)
            painter.drawText(footer.adjusted(0, 0, -count_width - 6, 0), _LEFT, text)
            if count:
                painter.setFont(small)
                painter.setPen(QColor(theme.text_dim))
                painter.drawText(footer, _RIGHT, count)
        self._paint_ports(painter)

    # The texts a node draws, fitted to its width once: the header and parameter line when the
    # node changes, the footer when its result does (a paint measured and elided all of them).
    def _header_lines(self):
        if self._lines is None:
            bold, plain, small = _metrics()
            name, type_text = header_texts(self.node, bold, small, _TEXT_WIDTH)
            self._lines = name, type_text, plain.elidedText(self._describe, _ELIDE_RIGHT, int(_TEXT_WIDTH))
        return self._lines

    def _footer_lines(self):
        """(text, parameter count, the count's width) of the footer."""
        r = self.result
        if self._footer is None:
            bold, plain, small = _metrics()
            if r is not None and r.error is not None:
                lines = (plain.elidedText("⚠ " + r.error.split(": ", 1)[-1], _ELIDE_RIGHT,
                                          int(_TEXT_WIDTH)), "", 0)
            else:
                count = human(r.params) if r is not None and r.params else ""
                count_width = small.horizontalAdvance(count) + 2
                lines = (bold.elidedText(self._shape_text(), _ELIDE_RIGHT,
                                         int(_TEXT_WIDTH - count_width - 6)), count, count_width)
            self._footer = lines
        return self._footer

    def _paint_compact(self, painter, lod, fill, selected):
        """Zoomed out (an overview, the minimap): a bar in the layer's colour with its type and
        output shape in a font of fixed screen size, so the overview stays legible."""
        rect = self._rect
        painter.setPen(QPen(QColor(self.theme.accent), 3 / lod) if selected else _NO_PEN)
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, 5, 5)
        if not compact_text_shown(lod):
            return
        width, height = NODE_WIDTH * lod, NODE_HEIGHT * lod   # on screen, in pixels
        painter.save()
        painter.scale(1 / lod, 1 / lod)   # draw text in screen pixels from the node's corner
        bold, plain, metrics, _ = _compact_fonts()
        painter.setFont(bold)
        painter.setPen(QColor(255, 255, 255))
        line = metrics.height()
        title, shape = self._compact_lines(int(width - 8))
        if height >= 2 * line + 4:
            top = (height - 2 * line) / 2
            painter.drawText(QRectF(4, top, width - 8, line), _CENTRE, title)
            painter.setFont(plain)
            painter.drawText(QRectF(4, top + line, width - 8, line), _CENTRE, shape)
        else:
            painter.drawText(QRectF(4, 0, width - 8, height), _CENTRE, title)
        painter.restore()
        if lod >= 0.35:
            self._paint_ports(painter)

    def _compact_lines(self, width):
        """(type, output shape) elided to `width`; the type shortened to what fits: its title,
        its type name, or the title's first word. Kept until the result or the width changes."""
        if self._compact is not None and self._compact[0] == width:
            return self._compact[1]
        r = self.result
        _, _, bold, plain = _compact_fonts()
        node = self.node
        error = r is not None and r.error
        names = [node_type_text(node), node.type, node_type_text(node).split()[0]]
        title = next((n for n in names if bold.horizontalAdvance(("⚠ " if error else "") + n) <= width),
                     names[-1])
        title, shape = ("⚠ " + title, "error") if error else (title, self._shape_text())
        lines = (bold.elidedText(title, _ELIDE_RIGHT, width), plain.elidedText(shape, _ELIDE_RIGHT, width))
        self._compact = (width, lines)
        return lines

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
        self._hovered = True
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
        self._hovered = False
        if self._hover_port is not None:
            self._hover_port = None
            self.update()
        super().hoverLeaveEvent(event)

    def mousePressEvent(self, event):
        port = self.port_at(event.pos())
        if port is not None and event.button() == Qt.LeftButton and not self.scene_ref.read_only:
            edge = self.scene_ref.graph.in_edge(self.node.id, port[1]) if port[0] == "in" else None
            if edge is not None:  # a connected input: pick the wire up by this end
                self.scene_ref.pick_up_edge(edge, event.scenePos())
            else:
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
        scene = self.scene()
        grid = scene.node_grid() if scene is not None else None
        self.setPath(routed(grid, a, b, (self.src_item, self.dst_item)))
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
        option.state &= ~_SELECTED
        super().paint(painter, option, widget)


class NodeGrid:
    """Node rectangles bucketed in a coarse grid, to find the nodes near a wire quickly (the
    scene's own index is not built until the event loop runs, and asking it item by item while
    it is rebuilt cost seconds for a 900-node design)."""

    CELL = 240.0

    def __init__(self, node_items):
        self.cells = {}
        for item in node_items:
            rect = item.mapRectToScene(item._rect)
            for key in self._keys(rect):
                self.cells.setdefault(key, []).append((item, rect))

    def _keys(self, rect):
        c = self.CELL
        for i in range(int(math.floor(rect.left() / c)), int(math.floor(rect.right() / c)) + 1):
            for j in range(int(math.floor(rect.top() / c)), int(math.floor(rect.bottom() / c)) + 1):
                yield i, j

    def near(self, rect):
        """(item, scene rect) of each node whose rectangle meets `rect`."""
        found = {}
        for key in self._keys(rect):
            for item, r in self.cells.get(key, ()):
                if item not in found and r.intersects(rect):
                    found[item] = r
        return found.items()


def routed(grid, a, b, ends):
    """The wire from a to b: the plain curve when it passes behind no other node, else a path
    that leaves downward, runs along a free vertical lane between the nodes in its way and
    enters b from above (a residual shortcut runs beside its branch, a column wrap between
    the columns)."""
    path = curve(a, b)
    going_up = b.y() < a.y() + 2 * 16.0   # a wrapped column's hop, or a wire drawn backwards
    if grid is None or (not going_up and not _blocked(grid, path, ends)):
        return path
    gap = 16.0
    top, bottom = sorted((a.y() + gap, b.y() - gap))
    span = QRectF(min(a.x(), b.x()) - 4 * NODE_WIDTH, top, abs(b.x() - a.x()) + 8 * NODE_WIDTH,
                  max(bottom - top, 1.0))
    taken = sorted((r.left() - gap, r.right() + gap) for item, r in grid.near(span) if item not in ends)
    # Shortcuts going down keep to the right of their branch (the usual way residuals are drawn).
    prefer = (a.x() + b.x()) / 2 if going_up else max(a.x(), b.x()) + NODE_WIDTH / 2
    if taken:
        merged = [list(taken[0])]
        for left, right in taken[1:]:
            if left <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], right)
            else:
                merged.append([left, right])
        lanes = [merged[0][0], merged[-1][1]]
        lanes += [(one[1] + two[0]) / 2 for one, two in zip(merged, merged[1:])]
        lane = min(lanes, key=lambda x: abs(x - prefer))
    elif going_up:
        lane = prefer
    else:
        return path
    y1, y2 = a.y() + gap, b.y() - gap
    return _rounded([a, QPointF(a.x(), y1), QPointF(lane, y1), QPointF(lane, y2), QPointF(b.x(), y2), b],
                    14.0)


def _blocked(grid, path, ends):
    stroke = None
    for item, rect in grid.near(path.boundingRect()):
        if item not in ends:
            if stroke is None:
                stroker = QPainterPathStroker()
                stroker.setWidth(2)
                stroke = stroker.createStroke(path)
            if stroke.intersects(rect):
                return True
    return False


def _rounded(points, radius):
    """A polyline through `points` with its corners rounded."""
    path = QPainterPath(points[0])
    for before, corner, after in zip(points, points[1:], points[2:]):
        into, out = corner - before, after - corner
        into_len = math.hypot(into.x(), into.y())
        out_len = math.hypot(out.x(), out.y())
        if into_len < 1e-6 or out_len < 1e-6:
            continue
        r_in, r_out = min(radius, into_len / 2), min(radius, out_len / 2)
        path.lineTo(corner - into * (r_in / into_len))
        path.quadTo(corner, corner + out * (r_out / out_len))
    path.lineTo(points[-1])
    return path


def curve(a, b):
    """A vertical S-curve from a (an output port) down to b (an input port)."""
    path = QPainterPath(a)
    dy = b.y() - a.y()
    bend = max(30.0, abs(dy) * 0.45)
    if dy < 0:  # going back up: swing out so the curve does not cross the nodes
        bend = max(bend, 80.0)
    path.cubicTo(QPointF(a.x(), a.y() + bend), QPointF(b.x(), b.y() - bend), b)
    return path
