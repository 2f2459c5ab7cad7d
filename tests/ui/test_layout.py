"""The window's layout and what it remembers (issue 21, item 9): the bottom docks shrink so the
canvas gets the room, the minimap follows a new design, a layer dropped on a wire and an exploded
block make room without moving what they need not, the dark theme reaches every plot and view,
and the window's settings are saved as they change."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from designer.core.layout import NODE_HEIGHT, NODE_WIDTH
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


def _minimap_sees(window, node_id):
    """The colour the minimap draws at the node's centre, or None when that lies outside it."""
    minimap = window.view.minimap
    item = window.scene.item(node_id)
    point = minimap._transform.map(item.mapToScene(item._rect.center())).toPoint()
    if not minimap.rect().adjusted(2, 2, -2, -2).contains(point):
        return None
    return QColor(minimap.grab().toImage().pixel(point))


def _alike(one, two):
    """Alike but for the shade the minimap lays over the part the view shows."""
    return sum(abs(a - b) for a, b in zip(one.getRgb()[:3], two.getRgb()[:3])) < 70


def test_the_minimap_follows_a_new_design_and_its_first_layers(window):
    window.open_design("alexnet")
    window.new_design("")                       # File ▸ New, empty
    QApplication.processEvents()                # its deferred fit runs before any layer is added
    window.view.set_zoom(1.0)
    window.view.centerOn(2000, 1500)            # the new layers land far from AlexNet's place
    first = window.editor.add_layer("Input")
    second = window.editor.add_layer("Conv2d")   # joins below the selected Input
    QApplication.processEvents()
    for node_id in (first, second):
        item = window.scene.item(node_id)
        seen = _minimap_sees(window, node_id)
        assert seen is not None and _alike(seen, item.colour), node_id
    window.document.undo_stack.setClean()
    window.new_design("lenet5")                  # and a preset after it
    QApplication.processEvents()
    assert all(_minimap_sees(window, n) is not None for n in window.document.graph.nodes)


def _overlaps(scene):
    """Pairs of nodes whose drawings overlap."""
    items = sorted(scene.node_items(), key=lambda i: i.sceneBoundingRect().top())
    return [(a.node.id, b.node.id) for i, a in enumerate(items) for b in items[i + 1:]
            if a.sceneBoundingRect().intersects(b.sceneBoundingRect())]


def _positions(graph):
    return {nid: node.pos for nid, node in graph.nodes.items()}


def test_a_layer_dropped_on_a_wire_makes_room_below_it_and_moves_nothing_else(window):
    from PySide6.QtCore import QMimeData, QPointF
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    from designer.ui.view import LAYER_MIME
    window.open_design("alexnet")               # laid out in columns
    graph = window.document.graph
    before = _positions(graph)
    window.view.set_zoom(1.0)
    window.view.centerOn(window.scene.nodes_rect(["conv1", "relu1"]).center())
    QApplication.processEvents()
    edge = next(e for e in graph.edges if e.src == "conv1" and e.dst == "relu1")
    # Dropped nearer relu1 than conv1: it would cover both halves of their neighbours.
    wire = window.scene.edge_item(edge).path()
    drop = window.view.mapFromScene(wire.pointAtPercent(0.7))
    mime = QMimeData()
    mime.setData(LAYER_MIME, b"BatchNorm")
    viewport = window.view.viewport()
    QApplication.sendEvent(viewport, QDragEnterEvent(drop, Qt.CopyAction, mime, Qt.LeftButton,
                                                     Qt.NoModifier))
    QApplication.sendEvent(viewport, QDropEvent(QPointF(drop), Qt.CopyAction, mime, Qt.LeftButton,
                                                Qt.NoModifier))
    QApplication.processEvents()
    added = next(n for n in graph.nodes if graph.nodes[n].type == "BatchNorm")
    assert graph.in_edge(added, "in").src == "conv1" and graph.in_edge("relu1", "in").src == added
    assert _overlaps(window.scene) == []
    x, y = graph.nodes[added].pos
    assert x == before["conv1"][0] and before["conv1"][1] < y < graph.nodes["relu1"].pos[1]
    column = before["conv1"][0]
    moved = {n for n in before if graph.nodes[n].pos != before[n]}
    assert moved and all(before[n][0] == column and before[n][1] > before["conv1"][1]
                         for n in moved)            # only the first column, below conv1
    window.document.undo_stack.undo()
    assert _positions(graph) == before


def test_explode_moves_only_the_nodes_in_the_way_of_the_layers(window):
    window.open_design("resnet18")               # laid out in columns
    graph = window.document.graph
    blocks = [n for n in graph.nodes.values() if n.is_block]
    block = blocks[len(blocks) // 2]
    x, y = block.pos
    before = _positions(graph)
    window.scene.select_ids([block.id])
    window.editor.explode_selection()
    assert block.id not in graph.nodes
    assert _overlaps(window.scene) == []
    far = [n for n in before if n in graph.nodes and abs(before[n][0] - x) > NODE_WIDTH]
    assert any(before[n][1] > y for n in far)    # other columns have nodes below the block
    assert all(graph.nodes[n].pos == before[n] for n in far)
    assert all(graph.nodes[n].pos == before[n] for n in before
               if n in graph.nodes and before[n][1] < y)   # nor does anything above it


def _opaque_colours(pixmap):
    image = pixmap.toImage()
    return {QColor(image.pixel(x, y)).name() for x in range(image.width())
            for y in range(image.height()) if QColor.fromRgba(image.pixel(x, y)).alpha() == 255}


def _distance(one, two):
    return sum(abs(a - b) for a, b in zip(QColor(one).getRgb()[:3], QColor(two).getRgb()[:3]))


def test_the_dark_theme_reaches_plots_views_check_boxes_and_disabled_icons(window):
    from PySide6.QtGui import QIcon, QPainter, QPixmap
    from PySide6.QtWidgets import QStyle, QStyleOptionButton
    window.open_design("alexnet")
    experiments, compare = window.panels["experiments"], window.panels["compare"]
    next(d for d in window.panel_docks if d.objectName() == "experiments").raise_()
    QApplication.processEvents()                 # its plot is made when first shown
    compare.compare_with("lenet5")
    window.act_theme.trigger()
    dark = window.theme
    assert dark.name == "dark"
    plot = experiments.plot
    assert plot.backgroundBrush().color() == QColor(dark.base)
    assert plot.getPlotItem().getAxis("left").textPen().color() == QColor(dark.text)
    assert compare.view.backgroundBrush().color() == QColor(dark.canvas)
    assert all(item.theme is dark for item in compare.scene.node_items())
    status = next(compare.table.item(r, 1) for r in range(compare.table.rowCount())
                  if compare.table.item(r, 1).text() == "removed")
    assert _distance(status.foreground().color(), dark.base) > 200   # readable on the dark table
    # An unticked check box (the runs to compare in the Train panel) has a visible outline.
    runs = window.panels["train"].runs_list
    assert runs.palette().base().color() == QColor(dark.base)
    box = QPixmap(20, 20)
    box.fill(QColor(dark.base))
    option = QStyleOptionButton()
    option.initFrom(runs)
    option.rect = box.rect().adjusted(3, 3, -3, -3)
    option.state = QStyle.State_Enabled | QStyle.State_Off
    painter = QPainter(box)
    QApplication.style().drawPrimitive(QStyle.PE_IndicatorCheckBox, option, painter, runs)
    painter.end()
    assert max(_distance(c, dark.base) for c in _opaque_colours(box)) > 60
    # A disabled tool is drawn dimmer than an enabled one, not lighter (Qt's own greying).
    assert not window.act_undo.isEnabled() and window.act_fit.isEnabled()
    disabled = _opaque_colours(window.act_undo.icon().pixmap(24, QIcon.Disabled))
    assert disabled and all(_distance(c, dark.blocked) < 60 for c in disabled)


def test_the_workspace_is_saved_a_moment_after_it_changes_not_only_on_quit(window, home):
    from PySide6.QtCore import QSettings

    def saved():
        return QSettings(str(home / "settings.ini"), QSettings.IniFormat)   # read afresh

    window.workspace_timer.stop()
    window.act_theme.trigger()
    window.inspector_dock.hide()
    window.panels["train"].editors["epochs"].box.setValue(17)
    window.resizeDocks([window.summary_dock], [180], Qt.Vertical)
    QApplication.processEvents()
    assert window.workspace_timer.isActive()          # waiting for the changes to settle
    assert saved().value("theme") is None             # nothing written yet
    window.workspace_timer.timeout.emit()             # the moment has passed
    settings = saved()
    assert settings.value("theme") == "dark"
    assert settings.value("docks") == window.saveState()
    assert settings.value("geometry") == window.saveGeometry()
    assert '"epochs": 17' in settings.value("panels/train")
    assert window.isVisible()                          # and the window was never closed
