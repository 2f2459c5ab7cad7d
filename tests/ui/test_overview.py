"""The whole network at a glance and canvas repaints (issue 11, items 5 and 6): fit shows every node,
zoomed-out nodes draw as legible coloured bars, auto-layout wraps long chains into columns, no
wire runs behind a node, and what is drawn follows the graph without a hover."""

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QPainterPathStroker
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from designer.core.builder import GraphBuilder
from designer.core.presets import PRESETS_DIR
from designer.ui.document import Document
from designer.ui.items import FULL_DETAIL
from designer.ui.theme import category_colour


def _visible_rect(window):
    return window.view.mapToScene(window.view.viewport().rect()).boundingRect()


def _wires_behind_nodes(scene):
    """(edge, node id) for every wire whose drawn path crosses a node other than its ends."""
    crossings = []
    for edge_item in scene._edges.values():
        stroker = QPainterPathStroker()
        stroker.setWidth(2)
        stroke = stroker.createStroke(edge_item.path())
        for item in scene.node_items():
            if item in (edge_item.src_item, edge_item.dst_item):
                continue
            if stroke.intersects(item.mapRectToScene(item._rect)):
                crossings.append((edge_item.edge, item.node.id))
    return crossings


def _pixel(window, scene_point):
    image = window.view.viewport().grab().toImage()
    point = window.view.mapFromScene(scene_point)
    return QColor(image.pixel(point.x(), point.y()))


def _one_column_alexnet(window, tmp_path):
    """AlexNet as a file of one's own, stored as one tall column (presets open laid out to fit)."""
    path = tmp_path / "tall.json"
    path.write_text((PRESETS_DIR / "alexnet.json").read_text())
    assert window.open_design(str(path))
    assert len({node.pos[0] for node in window.document.graph.nodes.values()}) == 1


def test_fit_shows_every_node_drawn_as_legible_bars(window, tmp_path):
    _one_column_alexnet(window, tmp_path)
    window.view.set_zoom(1.0)
    QTest.keyClick(window.view.viewport(), Qt.Key_F)
    visible = _visible_rect(window)
    outside = [i.node.id for i in window.scene.node_items() if not visible.contains(i.sceneBoundingRect())]
    assert outside == []
    assert window.view.zoom < FULL_DETAIL  # 25 layers in one column: the overview drawing
    conv = window.scene.item("conv1")
    inside_edge = conv.mapToScene(QPointF(3, conv._rect.height() / 2))
    colour = _pixel(window, inside_edge)
    expected = category_colour(conv.node.spec.category)
    assert abs(colour.red() - expected.red()) + abs(colour.green() - expected.green()) < 40


def test_auto_layout_wraps_a_long_chain_into_columns_without_wires_behind_nodes(window, tmp_path):
    _one_column_alexnet(window, tmp_path)
    before = window.scene.nodes_rect()
    window.view.setFocus()
    QTest.keyClick(window.view.viewport(), Qt.Key_L, Qt.ControlModifier)
    after = window.scene.nodes_rect()
    columns = {round(node.pos[0]) for node in window.document.graph.nodes.values()}
    assert len(columns) >= 3 and after.height() < before.height() / 2
    viewport = window.view.viewport().rect()
    assert abs(after.width() / after.height() - viewport.width() / viewport.height()) < 1.0
    QApplication.processEvents()  # wires are re-routed once the moves are done
    assert _wires_behind_nodes(window.scene) == []
    visible = _visible_rect(window)
    assert all(visible.contains(i.sceneBoundingRect()) for i in window.scene.node_items())


def test_a_hand_made_residual_shortcut_never_runs_behind_its_branch(window):
    b = GraphBuilder("residual")
    x = b.input((16, 32, 32))
    y = b.add("Conv2d", "conv1", x, out_channels=16, kernel=3, padding=1)
    y = b.add("ReLU", "relu1", y)
    y = b.add("Conv2d", "conv2", y, out_channels=16, kernel=3, padding=1)
    y = b.add("Add", "add", y, x)
    z = b.add("Conv2d", "conv3", y, out_channels=16, kernel=1)   # a shortcut over one layer
    z = b.add("Add", "add2", z, y)
    b.output(z)
    window.editor.set_document(Document(b.finish()))
    # Put everything in one column first, as a person building it by hand might.
    for i, node in enumerate(window.document.graph.nodes.values()):
        item = window.scene.item(node.id)
        item.setPos(QPointF(0, i * 120))
    window.scene.commit_moves()
    QApplication.processEvents()
    assert _wires_behind_nodes(window.scene) == []
    QTest.keyClick(window.view.viewport(), Qt.Key_L, Qt.ControlModifier)
    QApplication.processEvents()
    assert _wires_behind_nodes(window.scene) == []
    skip = next(e for e in window.scene._edges if e.src == "input" and e.dst == "add")
    assert window.scene.edge_item(skip).path().boundingRect().right() > \
        window.scene.item("conv1").mapRectToScene(window.scene.item("conv1")._rect).right()


def _near(one, two, tolerance=70):
    """Colours alike (the minimap shades the part the view shows)."""
    return sum(abs(a - b) for a, b in zip(one.getRgb()[:3], two.getRgb()[:3])) < tolerance


def _minimap_colour(window, node_id):
    minimap = window.view.minimap
    item = window.scene.item(node_id)
    point = minimap._transform.map(item.mapToScene(item._rect.center()))
    return QColor(minimap.grab().toImage().pixel(int(point.x()), int(point.y())))


def _body_colour(window, node_id):
    item = window.scene.item(node_id)
    return _pixel(window, item.mapToScene(QPointF(4, item._rect.height() * 0.55)))


def test_minimap_follows_errors_and_nodes_follow_the_theme_without_a_hover(window):
    window.open_design("lenet5")
    error = QColor(window.theme.error)
    window.scene.select_ids(["c1"])
    box = window.inspector.editors["kernel"].h
    box.setValue(40)   # larger than the 32×32 input: c1 turns red, in the minimap too
    box.editingFinished.emit()
    QApplication.processEvents()
    assert window.scene.item("c1").result.error
    assert _near(_minimap_colour(window, "c1"), error)
    QTest.keyClick(window.view.viewport(), Qt.Key_Z, Qt.ControlModifier)
    QApplication.processEvents()
    assert window.scene.item("c1").result.error is None
    assert not _near(_minimap_colour(window, "c1"), error)
    assert _near(_minimap_colour(window, "c1"), window.scene.item("c1").colour)
    window.view.set_zoom(1.0)
    window.view.centerOn(window.scene.item("c3").sceneBoundingRect().center())
    assert _body_colour(window, "c3") == QColor(window.theme.node)
    window.act_theme.trigger()
    QApplication.processEvents()
    assert _body_colour(window, "c3") == QColor(window.theme.node) and window.theme.name == "dark"


def test_a_just_connected_node_redraws_and_its_tooltip_follows(window):
    window.new_design("")
    scene = window.scene
    window.editor.add_layer("Input", scene_pos=QPointF(0, 0))
    window.editor.add_layer("Conv2d", scene_pos=QPointF(0, 200))
    QApplication.processEvents()   # the opening fit has run
    conv = next(n for n in window.document.graph.nodes if n != "input1" and n.startswith("conv"))
    window.view.set_zoom(1.0)
    window.view.centerOn(QPointF(0, 100))
    assert _body_colour(window, conv) == QColor(window.theme.error_fill)
    item = scene.item(conv)
    viewport = window.view.viewport()
    target = window.view.mapFromScene(item.port_scene("in", item.in_ports[0]))
    QTest.mouseMove(viewport, target + QPoint(0, -60))
    QTest.mouseMove(viewport, target)   # hovering the input port first: "not connected"
    assert "not connected" in item.toolTip()
    source = next(i for i in scene.node_items() if i.node.type == "Input")
    start = window.view.mapFromScene(source.port_scene("out", source.out_ports[0]))
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    QTest.mouseMove(viewport, target)
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, target)
    QApplication.processEvents()
    assert window.document.graph.in_edge(conv, "in") is not None
    assert _body_colour(window, conv) == QColor(window.theme.node)
    assert "not connected" not in item.toolTip()


def test_a_preset_opens_laid_out_to_show_whole_at_a_readable_size(window, tmp_path):
    _one_column_alexnet(window, tmp_path)
    one_column = window.view.zoom
    window.open_design("alexnet")
    visible = _visible_rect(window)
    assert all(visible.contains(i.sceneBoundingRect()) for i in window.scene.node_items())
    assert window.view.zoom > 2 * one_column
    minimap = window.view.minimap.geometry()
    covered = [i.node.id for i in window.scene.node_items()
               if window.view.mapFromScene(i.sceneBoundingRect()).boundingRect().intersects(minimap)]
    assert covered == []
    assert not window.document.modified


def test_node_headers_are_whole_and_elide_sensibly_with_the_full_text_in_the_tooltip(window):
    from PySide6.QtGui import QFontMetrics
    from designer.ui.items import HEADER, _fonts, header_texts, short_title
    window.open_design("densenet264")
    window.view.set_zoom(1.0)
    item = window.scene.item("features.denseblock1")
    window.view.centerOn(item.sceneBoundingRect().center())
    # The coloured header runs its full height (the title's baseline is not cut off).
    assert _near(_pixel(window, item.mapToScene(QPointF(item._rect.width() / 2, HEADER - 2))), item.colour)
    bold, _, small = _fonts()
    for node_item in window.scene.node_items():
        node = node_item.node
        name, type_text = header_texts(node, QFontMetrics(bold), QFontMetrics(small), item._rect.width() - 16)
        assert type_text in ("", node.spec.title, short_title(node.spec.title))
        assert name == node.id or name.startswith("…") and node.id.endswith(name[1:])
        tip = node_item.tooltip_text()
        assert node.id in tip and node.spec.title in tip
    assert header_texts(item.node, QFontMetrics(bold), QFontMetrics(small), 174)[0].endswith("denseblock1")


def test_a_fitted_design_stays_whole_when_the_canvas_shrinks(window):
    window.open_design("alexnet")
    window.resize(window.width(), window.height() - 250)   # e.g. a bottom dock growing
    QApplication.processEvents()
    visible = _visible_rect(window)
    assert all(visible.contains(i.sceneBoundingRect()) for i in window.scene.node_items())
    window.view.set_zoom(1.0)                               # zoomed by hand: left alone
    window.resize(window.width(), window.height() + 100)
    QApplication.processEvents()
    assert window.view.zoom == 1.0


def test_an_edit_repaints_the_nodes_on_screen_and_the_rest_draw_fresh_when_shown(window, monkeypatch):
    """Item 12: a new input size changes every node, but only those on screen are repainted
    at once; the others, scrolled to, draw from their new results."""
    from designer.ui.items import NodeItem
    window.open_design("vgg16")
    graph = window.document.graph
    QApplication.processEvents()                  # the window settles (its second fit)
    window.editor.focus_node("input")
    window.view.set_zoom(1.0)
    QApplication.processEvents()
    repainted = []
    real_update = NodeItem.update
    monkeypatch.setattr(NodeItem, "update", lambda item, *args: (repainted.append(item.node.id),
                                                                  real_update(item, *args)))
    line = window.inspector.editors["shape"].line
    QTest.keyClick(line, Qt.Key_A, Qt.ControlModifier)
    QTest.keyClicks(line, "3×160×160")
    QTest.keyClick(line, Qt.Key_Return)
    assert graph.nodes["input"].params["shape"] == (3, 160, 160)
    on_screen = {item.node.id for item in window.scene.items(_visible_rect(window))
                 if isinstance(item, NodeItem)}
    assert "input" in on_screen and len(on_screen) < len(graph.nodes) // 2
    assert on_screen <= set(repainted) and len(repainted) < len(graph.nodes) // 2
    last_conv = [n for n in graph.topological_order()[0] if graph.nodes[n].type == "Conv2d"][-1]
    assert last_conv not in repainted
    window.editor.focus_node(last_conv)
    window.view.viewport().grab()                 # draws what is now on screen
    item = window.scene.item(last_conv)
    expected = window.document.analyzer.results[last_conv].output_shape
    assert item._footer is not None and item._footer[0] == "×".join(map(str, expected))
    assert expected[1:] == (10, 10)               # 160 / 16 after four poolings


def test_zoomed_out_to_bars_an_edit_repaints_only_the_nodes_that_turn_red_or_back(window,
                                                                                 monkeypatch):
    """With the whole design fitted so small that nodes are bars without text, a new input size
    changes every node's shapes but no bar's pixels: only the edited node repaints, until an
    input too small for the poolings puts later nodes in error, which repaints those red."""
    from designer.ui.items import NodeItem, compact_text_shown
    window.open_design("vgg16")
    graph = window.document.graph
    QApplication.processEvents()
    window.view.set_zoom(0.1)
    QApplication.processEvents()
    assert not compact_text_shown(window.view.zoom)
    repainted = []
    real_update = NodeItem.update
    monkeypatch.setattr(NodeItem, "update", lambda item, *args: (repainted.append(item.node.id),
                                                                  real_update(item, *args)))
    graph_errors = lambda: {n for n, r in window.document.analyzer.results.items()   # noqa: E731
                            if r.error is not None}
    window.scene.select_ids(["input"])
    line = window.inspector.editors["shape"].line
    QTest.keyClick(line, Qt.Key_A, Qt.ControlModifier)
    QTest.keyClicks(line, "3×160×160")
    QTest.keyClick(line, Qt.Key_Return)
    assert graph.nodes["input"].params["shape"] == (3, 160, 160) and not graph_errors()
    assert set(repainted) <= {"input"}           # the edited node itself, and no other
    repainted.clear()
    QTest.keyClick(line, Qt.Key_A, Qt.ControlModifier)
    QTest.keyClicks(line, "3×8×8")                     # too small for five poolings
    QTest.keyClick(line, Qt.Key_Return)
    errors = graph_errors()
    assert errors and set(repainted) - {"input"} == errors
