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
