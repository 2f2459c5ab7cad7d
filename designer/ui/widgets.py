"""Small widgets shared by the editor's forms."""

from PySide6.QtCore import QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLayout, QPushButton, QScrollArea,
                               QSizePolicy, QSplitter, QVBoxLayout, QWidget)


def browse_row(edit, on_browse):
    """A path field with a Browse… button beside it, as one form row."""
    row = QWidget()
    box = QHBoxLayout(row)
    box.setContentsMargins(0, 0, 0, 0)
    box.addWidget(edit, 1)
    button = QPushButton("Browse…")
    button.clicked.connect(on_browse)
    box.addWidget(button)
    return row


def scrolled(widget):
    """`widget` in a frameless scroll area that gives it its width: a tall settings form scrolls
    in a short dock instead of making every docked panel as tall as itself."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.NoFrame)
    area.setWidget(widget)
    return area


class PanelArea(QScrollArea):
    """A docked panel that fills its dock and scrolls up and down only where the dock is shorter
    than the panel's minimum height, so no panel holds every dock of its area (and the canvas's
    share of the window) to its own height; its minimum width still holds. Unlike `scrolled`,
    the panel is never made taller than the dock to suit its preferred height (a word-wrapped
    label makes a QScrollArea do that)."""

    def __init__(self, panel):
        super().__init__()
        self.setFrameShape(QFrame.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setWidgetResizable(False)
        self.set_panel(panel)

    def set_panel(self, panel):
        """Show `panel` (in place of the one shown, which is deleted)."""
        self.setWidget(panel)
        panel.installEventFilter(self)
        self._fit()

    def eventFilter(self, watched, event):
        if watched is self.widget() and event.type() == QEvent.LayoutRequest:
            self._fit()     # its minimum size may have changed
        return super().eventFilter(watched, event)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._fit()

    def _fit(self):
        panel = self.widget()
        need = panel.minimumSizeHint().expandedTo(panel.minimumSize())
        room = self.maximumViewportSize()
        bar = self.verticalScrollBar().sizeHint().width()
        tall = need.height() > room.height()
        self.setMinimumWidth(need.width() + (bar if tall else 0))
        size = QSize(max(need.width(), room.width() - (bar if tall else 0)),
                     max(need.height(), room.height()))
        if panel.size() != size:
            panel.resize(size)


def settings_column(form, *below):
    """A panel's settings side: its form, scrolling, over what acts on it (buttons, a progress
    bar, a status line: widgets or layouts), which stay in view."""
    column_widget = QWidget()
    column = QVBoxLayout(column_widget)
    column.setContentsMargins(0, 0, 0, 0)
    column.addWidget(scrolled(form), 1)
    for item in below:
        (column.addLayout if isinstance(item, QLayout) else column.addWidget)(item)
    return column_widget


def side_by_side(panel, left, right, sizes=None):
    """Fill `panel` with `left` (its settings) beside `right` (its results) in a splitter whose
    right side takes the room the panel grows by; `sizes` are the starting widths."""
    splitter = QSplitter(Qt.Horizontal)
    splitter.addWidget(left)
    splitter.addWidget(right)
    splitter.setStretchFactor(1, 1)
    if sizes:
        splitter.setSizes(sizes)
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addWidget(splitter)
    return splitter


def filter_tree(tree, text, haystack):
    """Search a two-level tree (sections of entries), as the palette and the start page do: show
    the entries whose `haystack(section, entry)` text holds every word of `text` (any case), hide
    sections left empty. Returns the words."""
    words = text.lower().split()
    for i in range(tree.topLevelItemCount()):
        section = tree.topLevelItem(i)
        shown = 0
        for j in range(section.childCount()):
            entry = section.child(j)
            match = all(word in haystack(section, entry).lower() for word in words)
            entry.setHidden(not match)
            shown += match
        section.setHidden(not shown)
    return words


_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_ELIDE_RIGHT = Qt.TextElideMode.ElideRight


class FigureText(QWidget):
    """One line of figures that change with every edit (totals, a node's readouts), painted
    rather than laid out: a QLabel given new text asks its layout, and every layout above it up
    to the dock and the window, to lay out again, a millisecond per label per edit on a large
    design. The width asked for only grows (to the longest text shown), so the layouts are
    redone only when a text no longer fits. Text is given as segments: plain strings, or
    (text, bold, colour) with colour a name or None."""

    def __init__(self, parent=None, bold=False):
        super().__init__(parent)
        self._bold = bold
        self._segments = ()
        self._width = 0
        self._fonts = {}      # bold -> (font, metrics), made once per font change
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def text(self):
        return "".join(segment for segment, _, _ in self._segments)

    def setText(self, text):
        self.set_segments([text])

    def set_segments(self, segments):
        segments = tuple((s, self._bold, None) if isinstance(s, str) else s for s in segments)
        if segments == self._segments:
            return
        self._segments = segments
        width = sum(self._font(bold)[1].horizontalAdvance(text) for text, bold, _ in segments)
        if width > self._width:
            self._width = width
            self.updateGeometry()
        self.setToolTip(self.text() if width > self.width() else "")
        self.update()

    def _font(self, bold):
        """(font, metrics) of a segment."""
        if bold not in self._fonts:
            font = QFont(self.font())
            font.setBold(bold)
            self._fonts[bold] = font, QFontMetrics(font)
        return self._fonts[bold]

    def sizeHint(self):
        margins = self.contentsMargins()
        return QSize(self._width + 2 + margins.left() + margins.right(),
                     self._font(True)[1].height() + margins.top() + margins.bottom())

    def minimumSizeHint(self):
        return QSize(0, self.sizeHint().height())

    def changeEvent(self, event):
        if event.type() == QEvent.Type.FontChange:   # a theme's style sheet: measure again
            self._fonts = {}
            self._width = 0
            segments, self._segments = self._segments, ()
            self.set_segments(segments)
        super().changeEvent(event)

    def paintEvent(self, event):
        painter = QPainter(self)
        area = self.contentsRect()
        x, right = area.left(), area.right() + 1
        default = self.palette().color(self.foregroundRole())
        for text, bold, colour in self._segments:
            font, metrics = self._font(bold)
            width = metrics.horizontalAdvance(text)
            shown = text if x + width <= right else metrics.elidedText(text, _ELIDE_RIGHT, right - x)
            painter.setFont(font)
            painter.setPen(QColor(colour) if colour else default)
            painter.drawText(QRectF(x, area.top(), right - x, area.height()), _LEFT, shown)
            if shown != text:
                break
            x += width
        painter.end()
