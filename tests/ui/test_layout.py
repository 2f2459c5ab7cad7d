"""The window's layout and what it remembers (issue 21, item 9): the bottom docks shrink so the
canvas gets the room, the minimap follows a new design, a layer dropped on a wire and an exploded
block make room without moving what they need not, the dark theme reaches every plot and view,
and the window's settings are saved as they change."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from designer.core.layout import NODE_HEIGHT
from designer.ui.items import _compact_fonts


def _bottom_docks(window):
    return [dock for dock in (window.summary_dock, window.issues_dock, *window.panel_docks)
            if window.dockWidgetArea(dock) == Qt.BottomDockWidgetArea]


def test_no_panel_holds_the_bottom_docks_tall_and_the_canvas_takes_the_room(window):
    window.open_design("alexnet")
    docks = _bottom_docks(window)
    assert {d.objectName() for d in docks} >= {"summary", "train", "insight", "experiments"}
    for dock in docks:
        dock.raise_()       # a panel builds its plots when first shown
        QApplication.processEvents()
        assert dock.minimumSizeHint().height() <= 200, dock.objectName()
        window.resizeDocks([dock], [150], Qt.Vertical)
        QApplication.processEvents()
        assert dock.height() <= 200, dock.objectName()
        # The canvas gets what the docks gave up (menus, toolbar, status bar: under 120 px).
        assert window.view.height() >= window.height() - dock.height() - 120, dock.objectName()


def test_at_its_first_size_the_window_draws_a_fitted_preset_with_its_shapes(qtbot, home, dialogs):
    """A fitted AlexNet drew as bars with only their type: the docks took half the height."""
    from designer.ui.window import MainWindow
    window = MainWindow(home=home)      # its own first size, no saved workspace
    qtbot.addWidget(window)
    window.open_design("alexnet")
    window.show()
    QApplication.processEvents()
    assert window.summary_dock.height() <= window.height() // 3 + 10
    line = _compact_fonts()[2].height()
    assert NODE_HEIGHT * window.view.zoom >= 2 * line + 4    # room for the type and the shape
    window.close()
