"""The canvas view: zoom to the cursor, pan (middle button, or space + drag), rubber-band select,
fit, a grid, drops from the palette, and a minimap overlay in the corner."""

from PySide6.QtCore import QLineF, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QTransform
from PySide6.QtWidgets import QFrame, QGraphicsView

LAYER_MIME = "application/x-cnn-designer-layer"
MIN_ZOOM, MAX_ZOOM = 0.01, 3.0


class GraphView(QGraphicsView):
    zoom_changed = Signal(float)
    layer_dropped = Signal(str, QPointF)   # layer type, scene position
    context_requested = Signal(QPoint, QPointF)   # global position, scene position

    def __init__(self, theme, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.DontSavePainterState)
        self.setTransformationAnchor(QGraphicsView.NoAnchor)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.IntersectsItemShape)
        self.setFrameShape(QFrame.NoFrame)
        self.setCacheMode(QGraphicsView.CacheBackground)
        self.setAcceptDrops(True)
        self._pan_from = None
        self._space = False
        self._fitted = False   # showing the whole design since the last fit (refit on resize)
        self.minimap = Minimap(self)

    # ---- zoom and pan --------------------------------------------------------------------
    @property
    def zoom(self):
        return self.transform().m11()

    def set_zoom(self, factor, anchor=None):
        """Zoom to `factor`, keeping the scene point under `anchor` (viewport pos) in place."""
        factor = min(MAX_ZOOM, max(MIN_ZOOM, factor))
        self._fitted = False
        anchor = anchor if anchor is not None else self.viewport().rect().center()
        before = self.mapToScene(anchor)
        self.setTransform(QTransform.fromScale(factor, factor))
        self._recentre(before, anchor)
        self.zoom_changed.emit(self.zoom)
        self.minimap.update()

    def _recentre(self, scene_point, anchor):
        # Scroll so `scene_point` sits under `anchor` again (scroll bars, not the transform, pan).
        now = self.mapFromScene(scene_point)
        dx, dy = now.x() - anchor.x(), now.y() - anchor.y()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + dx)
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + dy)

    def wheelEvent(self, event):
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom * (1.15 ** steps), event.position().toPoint())
        event.accept()

    def fit(self, rect=None):
        scene = self.scene()
        if scene is None:
            return
        whole = scene.nodes_rect()
        rect = rect if rect is not None and not rect.isEmpty() else whole
        if rect.isEmpty():
            self.set_zoom(1.0)
            return
        showing_whole = rect == whole
        rect = rect.adjusted(-40, -40, 40, 40)
        view = self.viewport().rect()
        free = QRectF(view)
        if self.minimap.isVisible():   # keep the design clear of the minimap in the corner
            free.setRight(free.right() - self.minimap.width() - 20)
        # The whole design, never beyond actual size; small zooms draw nodes compactly (items.py).
        factor = max(MIN_ZOOM, min(free.width() / rect.width(), view.height() / rect.height(), 1.0))
        self.setTransform(QTransform.fromScale(factor, factor))
        shift = (QRectF(view).center() - free.center()) / factor
        self.centerOn(rect.center() + shift)
        self._fitted = showing_whole   # a fitted whole design stays fitted as the view resizes
        self.zoom_changed.emit(self.zoom)
        self.minimap.refit()

    def state(self):
        """(zoom, scene point at the centre): enough to come back to this view."""
        return self.zoom, self.mapToScene(self.viewport().rect().center())

    def set_state(self, state):
        zoom, centre = state
        self._fitted = False
        self.setTransform(QTransform.fromScale(zoom, zoom))
        self.centerOn(centre)
        self.zoom_changed.emit(self.zoom)
        self.minimap.update()

    def focus_node(self, node_id):
        item = self.scene().item(node_id) if self.scene() else None
        if item is not None:
            self._fitted = False
            if self.zoom < 0.6:
                self.set_zoom(0.9)
            self.centerOn(item.sceneBoundingRect().center())
            self.minimap.update()

    def keyPressEvent(self, event):
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.OpenHandCursor)
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event):
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event):
        if event.button() == Qt.MiddleButton or (self._space and event.button() == Qt.LeftButton):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self._fitted = False
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            self.minimap.update()
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event):
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def contextMenuEvent(self, event):
        self.context_requested.emit(event.globalPos(), self.mapToScene(event.pos()))
        event.accept()

    def scrollContentsBy(self, dx, dy):
        super().scrollContentsBy(dx, dy)
        self.minimap.update()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.minimap.place()
        if self._fitted:
            self.fit()

    # ---- drops from the palette ------------------------------------------------------------
    def dragEnterEvent(self, event):
        if event.mimeData().hasFormat(LAYER_MIME) and not getattr(self.scene(), "read_only", True):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event):
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event):
        if event.mimeData().hasFormat(LAYER_MIME):
            type_name = bytes(event.mimeData().data(LAYER_MIME)).decode("utf-8")
            self.layer_dropped.emit(type_name, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
        else:
            super().dropEvent(event)

    # ---- looks -------------------------------------------------------------------------------
    def set_theme(self, theme):
        self.theme = theme
        self.setBackgroundBrush(QColor(theme.canvas))
        self.resetCachedContent()
        self.viewport().update()
        self.minimap.redraw()

    def drawBackground(self, painter, rect):
        painter.fillRect(rect, QColor(self.theme.canvas))
        step = 24.0 if self.zoom >= 0.6 else 120.0
        if self.zoom * step < 8:
            return
        left = int(rect.left() // step) * step
        top = int(rect.top() // step) * step
        lines = []
        x = left
        while x < rect.right():
            lines.append(QLineF(x, rect.top(), x, rect.bottom()))
            x += step
        y = top
        while y < rect.bottom():
            lines.append(QLineF(rect.left(), y, rect.right(), y))
            y += step
        painter.setPen(QPen(QColor(self.theme.grid), 0))
        painter.drawLines(lines)


class Minimap(QFrame):
    """An overview of the whole design in the view's corner; click or drag to move there.

    It paints each node as a rectangle in its layer's colour (red when in error) straight from the
    scene's items, instead of being a second view of the scene: Qt's per-view item caches left
    the second view showing stale colours, and a few hundred rectangles cost less to draw."""

    SIZE = (180, 130)
    MARGIN = 60.0

    def __init__(self, main):
        super().__init__(main)
        self.main = main
        self.scene = None
        self.setFrameShape(QFrame.Box)
        # It paints every pixel of itself: Qt leaves the canvas beneath it out of a repaint,
        # and repaints it only when it changed (not whenever the canvas behind it does).
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFixedSize(*self.SIZE)
        self.setCursor(Qt.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        self._transform = QTransform()
        self._shown = QRectF()
        self._nodes = None   # the nodes drawn once into a pixmap

    def set_scene(self, scene):
        if self.scene is not None:
            try:
                self.scene.drawing_changed.disconnect(self.redraw)
            except (RuntimeError, TypeError):
                pass
        self.scene = scene
        if scene is not None:
            scene.drawing_changed.connect(self.redraw)
        self.refit()

    def redraw(self):
        """The nodes changed: draw them again at the next paint (scrolling only moves the
        rectangle over the kept drawing)."""
        self._nodes = None
        self.update()

    def place(self):
        parent = self.main.viewport()
        self.move(parent.width() - self.width() - 12, parent.height() - self.height() - 12)

    def refit(self):
        """Scale the whole design into the widget (kept until the next fit, or until a node
        lies outside what it shows: see `paintEvent`)."""
        self._fit_transform()
        self.place()
        self.redraw()

    def _fit_transform(self):
        self._transform = QTransform()
        self._shown = QRectF()      # the scene area the widget shows; empty: nothing to show
        if self.scene is not None:
            rect = self.scene.nodes_rect()
            if not rect.isEmpty():
                rect = rect.adjusted(-self.MARGIN, -self.MARGIN, self.MARGIN, self.MARGIN)
                scale = min(self.width() / rect.width(), self.height() / rect.height())
                centre = rect.center()
                self._transform = QTransform.fromTranslate(self.width() / 2, self.height() / 2)
                self._transform.scale(scale, scale)
                self._transform.translate(-centre.x(), -centre.y())
                self._shown = self._transform.inverted()[0].mapRect(QRectF(self.rect()))

    def to_scene(self, point):
        return self._transform.inverted()[0].map(QPointF(point))

    def paintEvent(self, event):
        theme = self.main.theme
        if self._nodes is None or self._nodes.size() != self.size():
            # A node beyond what the overview shows (the first layers of a new design, a node
            # dragged far off): scale it again to the whole design, or it shows a stale part.
            if self.scene is not None and not self._shown.contains(self.scene.nodes_rect()):
                self._fit_transform()
            self._nodes = self._draw_nodes(theme)
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._nodes)
        if self.scene is not None:
            painter.setTransform(self._transform)
            visible = self.main.mapToScene(self.main.viewport().rect()).boundingRect()
            painter.setPen(QPen(QColor(theme.accent), 0))
            colour = QColor(theme.accent)
            colour.setAlpha(40)
            painter.setBrush(colour)
            painter.drawRect(visible)
        painter.end()
        super().paintEvent(event)   # the frame

    def _draw_nodes(self, theme):
        pixmap = QPixmap(self.size())
        pixmap.fill(QColor(theme.panel))
        if self.scene is not None:
            painter = QPainter(pixmap)
            painter.setTransform(self._transform)
            painter.setPen(Qt.NoPen)
            error = QColor(theme.error)
            for item in self.scene.node_items():
                r = item.result
                painter.setBrush(error if r is not None and r.error else item.colour)
                painter.drawRect(item.mapRectToScene(item._rect))
            painter.end()
        return pixmap

    def _jump(self, event):
        self.main._fitted = False
        self.main.centerOn(self.to_scene(event.position()))
        self.update()

    def mousePressEvent(self, event):
        self._jump(event)

    def mouseMoveEvent(self, event):
        if event.buttons() & Qt.LeftButton:
            self._jump(event)

    def wheelEvent(self, event):
        event.accept()
