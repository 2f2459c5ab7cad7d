"""What the Insight panel's views (its tabs) share: the `View` base and `image_view`."""

import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..forms import editor_for


class View(QWidget):
    """One tab of the Insight panel, made as `View(panel)`: a row of options (`self.options`) over
    what it draws (added to `self.column`). It reads the weights, sample and selection from the
    panel and asks the panel for cached results and for its job."""

    title = ""

    def __init__(self, panel):
        super().__init__()
        self.panel = panel
        self.column = QVBoxLayout(self)
        self.options = QHBoxLayout()
        self.column.addLayout(self.options)
        self.editors = {}

    def add_setting(self, param, label=True):
        """An editor for one setting (designer.insight.settings) in the options row, from the
        shared editor table; the view reads it as `self.editors[name].value()`."""
        editor = editor_for(param)
        if label:
            self.options.addWidget(QLabel(param.label))
        self.options.addWidget(editor)
        self.editors[param.name] = editor
        return editor

    def refresh(self):
        """Draw the panel's current weights, sample and selection (the panel calls this for the
        tab shown when any of them changes). A view computed only on request draws nothing."""


def image_view(widget, row=0, column=0, title=None):
    """(view, image item): a ViewBox holding one ImageItem, y down, aspect locked, added to the
    pyqtgraph GraphicsLayoutWidget `widget` (the title above it)."""
    if title:
        widget.addLabel(title, row=row * 2, col=column)
    view = widget.addViewBox(row=row * 2 + 1, col=column, lockAspect=True, invertY=True)
    view.setMenuEnabled(False)
    item = pg.ImageItem(axisOrder="row-major")
    view.addItem(item)
    return view, item
