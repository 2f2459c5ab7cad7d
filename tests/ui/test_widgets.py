"""FigureText (issue 11, item 12): figures that change on every edit are painted without laying
the window out again, and still show whole, or elided with the full text in the tooltip."""

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget

from designer.ui.widgets import FigureText


class LayoutRequests(QObject):
    def __init__(self, widget):
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched, event):
        self.count += event.type() == QEvent.Type.LayoutRequest
        return False


def test_new_figures_repaint_without_a_new_layout_until_they_need_more_room(qtbot):
    holder = QWidget()
    qtbot.addWidget(holder)
    figures = FigureText()
    QHBoxLayout(holder).addWidget(figures)
    figures.set_segments([("12", True, None), " layers · ", ("3,456", True, None), " parameters"])
    holder.resize(600, 40)
    holder.show()
    QApplication.processEvents()
    assert figures.text() == "12 layers · 3,456 parameters"
    requests = LayoutRequests(holder)
    figures.set_segments([("13", True, None), " layers · ", ("3,457", True, None), " parameters"])
    figures.set_segments([("9", True, None), " layers · ", ("99", True, None), " parameters"])
    QApplication.processEvents()
    assert requests.count == 0                     # same width or narrower: repainted only
    assert figures.text() == "9 layers · 99 parameters"
    figures.set_segments(["a much longer line of figures than any shown before it"])
    QApplication.processEvents()
    assert requests.count == 1
    assert figures.sizeHint().width() > figures.fontMetrics().horizontalAdvance("9 layers · 99 parameters")


def test_a_line_too_long_for_its_room_is_elided_with_the_whole_text_in_the_tooltip(qtbot):
    figures = FigureText()
    qtbot.addWidget(figures)
    figures.resize(60, 20)
    figures.show()
    figures.setText("Output: 2048×7×7, 100,352 values")
    assert figures.toolTip() == "Output: 2048×7×7, 100,352 values"
    figures.setText("1×1")
    assert figures.toolTip() == ""
    assert not figures.grab().isNull()


def test_a_panel_area_fills_its_dock_and_scrolls_only_below_the_panels_minimum(qtbot):
    """A docked panel (issue 21, item 9): a word-wrapped label made a QScrollArea lay the panel
    out at its preferred height, taller than the dock, with the bottom of it out of view."""
    from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout

    from designer.ui.widgets import PanelArea
    panel = QWidget()
    column = QVBoxLayout(panel)
    note = QLabel("a sentence long enough to wrap over more than one line in a narrow panel")
    note.setWordWrap(True)
    column.addWidget(note)
    column.addWidget(QPlainTextEdit(), 1)           # prefers ~200 px, makes do with less
    area = PanelArea(panel)
    qtbot.addWidget(area)
    area.resize(300, 160)
    area.show()
    QApplication.processEvents()
    assert panel.height() == area.viewport().height() == 160
    assert area.verticalScrollBar().maximum() == 0
    area.resize(300, 40)                             # shorter than the panel can be
    QApplication.processEvents()
    assert panel.height() >= panel.minimumSizeHint().height() > 40
    assert area.verticalScrollBar().maximum() > 0
    assert area.minimumSizeHint().height() < 100     # the dock may be this short
