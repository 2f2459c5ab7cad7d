"""Editing on the canvas as a person does it: mouse and keys on the view's viewport, the palette,
the start page and File ▸ New, right-click menus (issue 11, items 1-4)."""

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent, QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from designer.core import fileformat
from designer.ui.view import LAYER_MIME


def _show(window, node_ids):
    """Actual size, centred on the nodes, so they are on screen to be clicked."""
    window.view.set_zoom(1.0)
    window.view.centerOn(window.scene.nodes_rect(node_ids).center())
    QApplication.processEvents()


def _at(window, scene_point):
    return window.view.mapFromScene(scene_point)


def _port(window, node_id, kind, index=0):
    item = window.scene.item(node_id)
    return _at(window, item.port_scene(kind, (item.in_ports if kind == "in" else item.out_ports)[index]))


def _wire_middle(window, src, dst):
    edge = next(e for e in window.document.graph.edges if e.src == src and e.dst == dst)
    return edge, _at(window, window.scene.edge_item(edge).path().pointAtPercent(0.5))


def _drag(window, start, end):
    viewport = window.view.viewport()
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    for step in range(1, 5):
        QTest.mouseMove(viewport, start + (end - start) * step / 4)
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, end)


def _right_click(window, point, choose):
    """Right-click at a viewport point; `choose(menu)` runs while the menu is open."""
    seen = {}

    def act():
        menu = QApplication.activePopupWidget()
        seen["titles"] = [a.text() for a in menu.actions() if a.text()]
        choose(menu)
        menu.close()
    QTimer.singleShot(0, act)
    viewport = window.view.viewport()
    QApplication.sendEvent(viewport, QContextMenuEvent(QContextMenuEvent.Mouse, point,
                                                       viewport.mapToGlobal(point)))
    return seen["titles"]


def _menu_action(menu, text):
    for action in menu.actions():
        if action.text().replace("&", "").startswith(text):
            return action
        if action.menu() is not None:
            found = _menu_action(action.menu(), text)
            if found is not None:
                return found
    return None


def test_a_selected_wire_is_deleted_by_delete_backspace_and_the_toolbar(window, qtbot):
    window.open_design("lenet5")
    graph = window.document.graph
    before = fileformat.dumps(graph)
    _show(window, ["c1", "relu1", "s2"])
    viewport = window.view.viewport()
    window.activateWindow()
    for how in ("Delete", "Backspace", "toolbar"):
        edge, middle = _wire_middle(window, "c1", "relu1")
        QTest.mouseClick(viewport, Qt.LeftButton, Qt.NoModifier, middle)
        assert window.scene.selected_edges() == [edge] and window.act_delete.isEnabled()
        if how == "toolbar":
            qtbot.mouseClick(window.toolbar.widgetForAction(window.act_delete), Qt.LeftButton)
        else:
            QTest.keyClick(viewport, getattr(Qt, f"Key_{how}"))
        assert edge not in graph.edges
        assert "not connected" in window.scene.item("relu1").result.message
        QTest.keyClick(viewport, Qt.Key_Z, Qt.ControlModifier)
        assert fileformat.dumps(graph) == before


def test_dragging_a_wire_end_off_an_input_moves_or_detaches_it(window):
    window.open_design("lenet5")
    graph = window.document.graph
    before = fileformat.dumps(graph)
    _show(window, ["c1", "relu1", "s2"])
    # Onto another input: the wire moves there (replacing what that input had).
    _drag(window, _port(window, "relu1", "in"), _port(window, "s2", "in"))
    assert graph.in_edge("s2", "in").src == "c1" and graph.in_edge("relu1", "in") is None
    window.document.undo_stack.undo()
    assert fileformat.dumps(graph) == before
    # Onto empty canvas: the wire is disconnected.
    start = _port(window, "relu1", "in")
    _drag(window, start, start + QPoint(260, 30))
    assert graph.in_edge("relu1", "in") is None
    assert window.document.undo_stack.undoText().startswith("Disconnect")
    window.document.undo_stack.undo()
    # Pressed and released on the same input: nothing changes.
    _drag(window, _port(window, "relu1", "in"), _port(window, "relu1", "in"))
    assert fileformat.dumps(graph) == before
    assert window.scene.edge_item(graph.in_edge("relu1", "in")).isVisible()


def test_a_layer_dropped_on_a_wire_is_inserted_into_it(window):
    window.open_design("lenet5")
    graph = window.document.graph
    _show(window, ["c1", "relu1"])
    edge, middle = _wire_middle(window, "c1", "relu1")
    mime = QMimeData()
    mime.setData(LAYER_MIME, b"BatchNorm")
    viewport = window.view.viewport()
    enter = QDragEnterEvent(middle, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(viewport, QDropEvent(QPointF(middle), Qt.CopyAction, mime, Qt.LeftButton,
                                                Qt.NoModifier))
    added = [n for n in graph.nodes if graph.nodes[n].type == "BatchNorm"]
    assert len(added) == 1
    assert graph.in_edge(added[0], "in").src == "c1" and graph.in_edge("relu1", "in").src == added[0]
    assert window.scene.item(added[0]).result.output_shape == window.scene.item("c1").result.output_shape
    window.document.undo_stack.undo()
    assert graph.in_edge("relu1", "in").src == "c1" and not added[0] in graph.nodes


def test_right_click_menus_on_canvas_node_and_wire(window):
    window.open_design("lenet5")
    graph = window.document.graph
    _show(window, ["c1", "relu1", "s2"])
    # On a wire: insert a layer into it.
    edge, middle = _wire_middle(window, "relu1", "s2")
    titles = _right_click(window, middle, lambda menu: _menu_action(menu, "Dropout").trigger())
    assert any(t.startswith("&Delete") for t in titles) and "Insert Layer Here" in titles
    dropout = graph.in_edge("s2", "in").src
    assert graph.nodes[dropout].type == "Dropout" and graph.in_edge(dropout, "in").src == "relu1"
    # On a node: it becomes the selection; Disconnect Inputs acts on it.
    centre = _at(window, window.scene.item("relu1").sceneBoundingRect().center())
    titles = _right_click(window, centre, lambda menu: _menu_action(menu, "Disconnect Inputs").trigger())
    assert window.scene.selected_ids() == ["relu1"] and graph.in_edge("relu1", "in") is None
    assert {"&Rename", "D&uplicate", "&Delete", "Disconnect All"} <= set(titles)
    # On a node again: Delete from the menu.
    _right_click(window, centre, lambda menu: _menu_action(menu, "Delete").trigger())
    assert "relu1" not in graph.nodes
    # On empty canvas: add a layer where the person clicked.
    empty = centre + QPoint(400, 0)
    where = window.view.mapToScene(empty)
    titles = _right_click(window, empty, lambda menu: _menu_action(menu, "Convolution").trigger())
    assert "Add Layer Here" in titles and "Auto-&Layout" in titles
    added = window.scene.selected_ids()
    assert len(added) == 1 and graph.nodes[added[0]].type == "Conv2d"
    assert window.scene.item(added[0]).sceneBoundingRect().contains(where)


def _double_click(widget, point):
    """What a real double-click delivers: press, release, double-click, release."""
    QTest.mouseClick(widget, Qt.LeftButton, Qt.NoModifier, point)
    QTest.mouseDClick(widget, Qt.LeftButton, Qt.NoModifier, point)


def test_double_click_in_the_palette_adds_one_layer(window, qtbot):
    window.new_design("")
    graph = window.document.graph
    tree = window.palette.tree
    item = window.palette.item_for("ReLU")
    tree.scrollToItem(item)
    _double_click(tree.viewport(), tree.visualItemRect(item).center())
    assert [n.type for n in graph.nodes.values()] == ["ReLU"]


def test_double_click_on_the_start_page_opens_the_preset_once(window, qtbot):
    chosen = []
    window.start_page.chosen.connect(chosen.append)
    tree = window.start_page.tree
    item = next(i for i in window.start_page.preset_items() if i.text(0) == "lenet5")
    tree.scrollToItem(item)
    _double_click(tree.viewport(), tree.visualItemRect(item).center())
    assert chosen == ["lenet5"] and window.document.graph.name == "LeNet-5"


def test_enter_in_the_preset_filter_opens_the_first_match(window, qtbot):
    page = window.start_page
    QTest.keyClicks(page.search, "alexnet")
    QTest.keyClick(page.search, Qt.Key_Return)
    assert window.document is not None and window.document.graph.name.lower().startswith("alexnet")

    def type_in_dialog():
        dialog = QApplication.activeModalWidget()
        QTest.keyClicks(dialog.page.search, "lenet")
        assert dialog.page.tree.currentItem().text(0).startswith("lenet")
        QTest.keyClick(dialog.page.search, Qt.Key_Return)
    QTimer.singleShot(0, type_in_dialog)
    window.act_new.trigger()
    assert window.document.graph.name == "LeNet-5"


def test_a_wire_whose_shapes_do_not_fit_is_made_and_the_node_turns_red(window):
    window.open_design("lenet5")
    graph = window.document.graph
    before = fileformat.dumps(graph)
    messages = []
    window.scene.message.connect(messages.append)
    _show(window, ["c5", "relu5", "flatten", "f6"])
    # An image (c5's 120×1×1 feature map) straight into a fully connected layer: made, and red.
    _drag(window, _port(window, "c5", "out"), _port(window, "f6", "in"))
    assert graph.in_edge("f6", "in").src == "c5"
    error = window.scene.item("f6").result.error
    assert error and window.issues.node_ids() == ["f6"]
    assert window.scene.item("f6").tooltip_text() == error and "f6" in messages[-1]
    window.document.undo_stack.undo()
    assert fileformat.dumps(graph) == before and window.issues.node_ids() == []


def _type_into(box, text, enter=True):
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, text)
    if enter:
        QTest.keyClick(box, Qt.Key_Return)


def test_inspector_commits_typed_numbers_on_enter_or_a_pause_and_undo_keys_work_in_fields(window, qtbot):
    window.open_design("lenet5")
    graph = window.document.graph
    window.scene.select_ids(["c1"])
    window.activateWindow()
    box = window.inspector.editors["out_channels"].box
    _type_into(box, "48", enter=False)
    assert graph.nodes["c1"].params["out_channels"] == 6       # nothing applied while typing
    QTest.keyClick(box, Qt.Key_Return)
    assert graph.nodes["c1"].params["out_channels"] == 48
    assert window.document.undo_stack.count() == 1               # one step, never 4 first
    _type_into(box, "16", enter=False)
    qtbot.waitUntil(lambda: graph.nodes["c1"].params["out_channels"] == 16, timeout=3000)  # a pause
    # Ctrl+Z with the focus still in the field undoes the design (successive edits of one
    # field are one step), and the field follows.
    assert box.hasFocus()
    QTest.keyClick(box, Qt.Key_Z, Qt.ControlModifier)
    assert graph.nodes["c1"].params["out_channels"] == 6 and box.value() == 6
    QTest.keyClick(box, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert graph.nodes["c1"].params["out_channels"] == 16 and box.value() == 16
    name = window.inspector.name_edit
    name.setFocus()
    QTest.keyClick(name, Qt.Key_Z, Qt.ControlModifier)
    assert graph.nodes["c1"].params["out_channels"] == 6


def test_kernel_and_stride_keep_square_until_unlocked(window):
    window.open_design("lenet5")
    graph = window.document.graph
    window.scene.select_ids(["c1"])
    kernel = window.inspector.editors["kernel"]
    assert kernel.lock.isChecked()
    _type_into(kernel.h, "3")
    assert graph.nodes["c1"].params["kernel"] == (3, 3)
    QTest.mouseClick(kernel.lock, Qt.LeftButton)
    _type_into(kernel.w, "5")
    assert graph.nodes["c1"].params["kernel"] == (3, 5)
    window.scene.select_ids(["c3"])
    window.scene.select_ids(["c1"])    # a value that is not square shows unlocked
    assert not window.inspector.editors["kernel"].lock.isChecked()


def test_a_short_inspector_scrolls_instead_of_crushing_its_fields(window):
    window.open_design("alexnet")
    window.resize(1400, 900)
    # The bottom docks take half the height: the inspector is shorter than conv1's form.
    window.resizeDocks([window.summary_dock], [450], Qt.Vertical)
    for node_id in ("input", "conv1"):
        window.editor.focus_node(node_id)
        QApplication.processEvents()               # the first frame after selecting the node
    inspector = window.inspector
    assert inspector.viewport().height() < inspector.widget().minimumSizeHint().height()
    for field in [inspector.name_edit] + list(inspector.editors.values()):
        assert field.height() >= field.minimumSizeHint().height()
    assert inspector.verticalScrollBar().maximum() > 0


def test_start_page_families_read_as_titles_and_aux_heads_are_counted_openly(window, qtbot):
    page = window.start_page
    families = [page.tree.topLevelItem(i).text(0) for i in range(page.tree.topLevelItemCount())]
    assert "Alexnet_vgg" not in families and "AlexNet, ZFNet, VGG and NIN" in families
    page.counts.compute("googlenet_torchvision")   # counted in an earlier session (cached)
    page.populate()
    item = next(i for i in page.preset_items() if i.text(0) == "googlenet_torchvision")
    # The description gives the count without the auxiliary heads; the column says it has them.
    without = item.text(2).split(" parameters without")[0].rsplit(" ", 1)[-1]
    assert item.text(1).endswith("with aux heads") and without in item.toolTip(1)
