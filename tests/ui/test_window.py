"""The editor driven as a person would: palette, connections, inspector, errors, undo, files."""

import json

import pytest
from PySide6.QtCore import QPointF, Qt

from designer.core import fileformat
from designer.core.commands import MoveNodes
from designer.core.presets import load_design


def _palette_add(window, type_name):
    item = window.palette.item_for(type_name)
    assert item is not None, f"{type_name} is not in the palette"
    before = set(window.document.graph.nodes)
    window.palette.tree.itemActivated.emit(item, 0)
    added = set(window.document.graph.nodes) - before
    assert len(added) == 1
    return added.pop()


def _drag_connect(window, src, dst):
    """Drag from src's first output port to dst's first input port, through the scene's gesture."""
    scene = window.scene
    src_item, dst_item = scene.item(src), scene.item(dst)
    start = src_item.port_scene("out", src_item.out_ports[0])
    scene.begin_connection(src_item, "out", src_item.out_ports[0], start)
    end = dst_item.port_scene("in", dst_item.in_ports[0])
    scene.drag_connection(end)
    scene.end_connection(end)


def test_build_edit_error_undo_save_reopen(window, tmp_path, qtbot):
    window.new_design("")
    graph = window.document.graph
    original = fileformat.dumps(graph)

    window.scene.clearSelection()
    inp = _palette_add(window, "Input")
    window.scene.clearSelection()
    conv = _palette_add(window, "Conv2d")
    assert graph.in_edges(conv) == []
    _drag_connect(window, inp, conv)
    assert [e.src for e in graph.in_edges(conv)] == [inp]
    # With the conv selected, a double-clicked ReLU joins below it, connected.
    window.scene.select_ids([conv])
    relu = _palette_add(window, "ReLU")
    assert [e.src for e in graph.in_edges(relu)] == [conv]
    assert window.scene.item(relu)._shape_text() == "64×224×224"

    # Change the conv's channels in the inspector: the downstream readouts follow.
    window.scene.select_ids([conv])
    assert window.inspector.node_id == conv
    window.inspector.editors["out_channels"].box.setValue(32)
    assert graph.nodes[conv].params["out_channels"] == 32
    assert window.scene.item(relu)._shape_text() == "32×224×224"
    row = window.summary.model.row_of[relu]
    assert window.summary.model.index(row, 2).data() == "32×224×224"
    assert "Output: 32×224×224" in window.inspector.readout.text()

    # A kernel larger than the input is a shape error: red, with its sentence, in the issues list.
    window.scene.select_ids([inp])
    window.inspector.editors["shape"].line.setText("3×8×8")
    window.inspector.editors["shape"].line.editingFinished.emit()
    assert graph.nodes[inp].params["shape"] == (3, 8, 8)
    window.scene.select_ids([conv])
    window.inspector.editors["padding"].mode.setCurrentText("valid")
    window.inspector.editors["kernel"].h.setValue(11)
    conv_item = window.scene.item(conv)
    assert conv_item.result.error and "larger than the padded input" in conv_item.result.error
    assert conv_item.tooltip_text() == conv_item.result.error
    assert window.inspector.readout.text() == conv_item.result.error
    assert window.issues.node_ids() == [conv]
    assert window.scene.item(relu).result.blocked
    window.issues.itemClicked.emit(window.issues.item(0))
    assert window.scene.selected_ids() == [conv]

    # Undo everything: the graph is exactly the original again.
    assert "*" in window.windowTitle() or window.isWindowModified()
    stack = window.document.undo_stack
    while stack.canUndo():
        stack.undo()
    assert fileformat.dumps(graph) == original
    assert not window.document.modified
    while stack.canRedo():
        stack.redo()
    assert window.issues.node_ids() == [conv]
    edited = fileformat.dumps(graph)

    path = tmp_path / "mine.json"
    assert window._save_to(path)
    assert not window.document.modified
    assert window.windowTitle().startswith("mine.json")
    assert window.open_design(str(path))
    assert fileformat.dumps(window.document.graph) == edited
    assert str(path.resolve()) in window.recent_files()


def test_invalid_values_are_refused_with_the_reason(window):
    window.open_design("lenet5")
    graph = window.document.graph
    before = fileformat.dumps(graph)
    window.scene.select_ids(["input"])
    editor = window.inspector.editors["shape"]
    editor.line.setText("1×0×32")
    editor.line.editingFinished.emit()
    assert "below the minimum" in window.inspector.problem.text()
    assert editor.line.text() == "1×32×32"
    assert fileformat.dumps(graph) == before
    assert not window.document.undo_stack.canUndo()


def test_input_size_reflows_every_shape(window):
    window.open_design("lenet5")
    window.scene.select_ids(["input"])
    window.inspector.editors["shape"].line.setText("1 36 36")
    window.inspector.editors["shape"].line.editingFinished.emit()
    assert window.scene.item("c1")._shape_text() == "6×32×32"
    assert window.scene.item("c5").result.output_shape == (120, 2, 2)


def test_spin_box_drag_is_one_undo_step(window):
    window.open_design("lenet5")
    before = fileformat.dumps(window.document.graph)
    window.scene.select_ids(["c1"])
    box = window.inspector.editors["out_channels"].box
    for value in (7, 8, 9, 10):
        box.setValue(value)
    assert window.document.undo_stack.count() == 1
    window.document.undo_stack.undo()
    assert fileformat.dumps(window.document.graph) == before
    assert box.value() == 6  # the editor follows the graph back


def test_refused_connection_says_why(window):
    window.open_design("lenet5")
    scene = window.scene
    messages = []
    scene.message.connect(messages.append)
    edges = len(window.document.graph.edges)
    assert not scene.connect_ports("f7", "out", "c1", "in")          # would close a cycle
    assert "cycle" in messages[-1]
    assert not scene.connect_ports("c1", "out", "c1", "in")
    assert "cannot feed itself" in messages[-1]
    assert len(window.document.graph.edges) == edges


def test_move_copy_paste_duplicate_delete_rename_layout_undo(window, qtbot):
    window.open_design("lenet5")
    graph = window.document.graph
    before = fileformat.dumps(graph)
    scene = window.scene
    item = scene.item("c3")
    item.setPos(item.pos() + QPointF(120, 10))
    scene.commit_moves()
    assert graph.nodes["c3"].pos[0] == item.pos().x()
    scene.select_ids(["c3", "relu3"])
    assert window.editor.copy()
    window.editor.paste()
    pasted = scene.selected_ids()
    assert len(pasted) == 2 and all(n in graph.nodes for n in pasted)
    assert any(e.src in pasted and e.dst in pasted for e in graph.edges)
    window.editor.duplicate()
    assert len(graph.nodes) == 18
    scene.select_ids(["relu5"])
    window.editor.delete_selection()
    assert "relu5" not in graph.nodes
    scene.select_ids(["f6"])
    window.inspector.name_edit.setText("fc6")
    window.inspector.name_edit.editingFinished.emit()
    assert "fc6" in graph.nodes and scene.item("fc6") is not None
    window.editor.auto_layout()
    stack = window.document.undo_stack
    while stack.canUndo():
        stack.undo()
    assert fileformat.dumps(graph) == before


def test_group_look_inside_and_explode(window):
    window.open_design("lenet5")
    graph = window.document.graph
    before = fileformat.dumps(graph)
    window.scene.select_ids(["c3", "relu3", "s4"])
    window.editor.group_selection()
    blocks = [n for n in graph.nodes.values() if n.type == "Group"]
    assert len(blocks) == 1 and not window.document.analyzer.errors()
    block = blocks[0].id
    assert window.scene.item(block).result.output_shape == (16, 5, 5)
    assert window.editor.open_block(block)
    assert window.editor.breadcrumb_titles() == ["LeNet-5", block]
    assert window.scene.read_only and set(window.scene.graph.nodes) >= {"c3", "relu3", "s4"}
    assert window.scene.item("s4").result.output_shape == (16, 5, 5)
    root = window.editor.breadcrumb_layout.itemAt(0).widget()
    root.click()  # the breadcrumb's first button goes back out
    assert window.editor.breadcrumb_titles() == [] and not window.scene.read_only
    window.scene.select_ids([block])
    window.editor.explode_selection()
    assert {"c3", "relu3", "s4"} <= set(graph.nodes) and block not in graph.nodes
    assert not window.document.analyzer.errors()
    stack = window.document.undo_stack
    stack.undo()
    stack.undo()
    assert fileformat.dumps(graph) == before


def test_bad_file_shows_a_dialog_and_keeps_the_design(window, dialogs, tmp_path):
    window.open_design("lenet5")
    window.scene.select_ids(["c1"])
    window.inspector.editors["out_channels"].box.setValue(8)
    before = fileformat.dumps(window.document.graph)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "cnn-designer", "version": 1, "nodes": [{"id": "x", "type": "Nope"}]}')
    dialogs.answers["question"] = dialogs.answers["question"].__class__.Discard
    assert not window.open_design(str(bad))
    kind, title, text = dialogs[-1]
    assert kind == "critical" and "unknown layer type 'Nope'" in text
    assert fileformat.dumps(window.document.graph) == before


def test_close_with_unsaved_changes_asks(window, dialogs):
    from PySide6.QtWidgets import QMessageBox
    window.open_design("lenet5")
    window.scene.select_ids(["c1"])
    window.inspector.editors["out_channels"].box.setValue(8)
    dialogs.answers["question"] = QMessageBox.Cancel
    assert not window.close()
    assert dialogs[-1][0] == "question"
    dialogs.answers["question"] = QMessageBox.Discard
    assert window.close()


def test_autosave_and_recovery_after_a_crash(window, home, dialogs, qtbot):
    from PySide6.QtWidgets import QMessageBox
    from designer.ui.window import MainWindow
    window.open_design("lenet5")
    window.scene.select_ids(["c1"])
    window.inspector.editors["out_channels"].box.setValue(9)
    assert window.autosave()
    saved = fileformat.dumps(window.document.graph)
    # Pretend the session died: its recovery file now belongs to a process that is gone.
    crashed = window.recovery.path.with_name("999999999.json")
    window.recovery.path.rename(crashed)
    window.recovery.path.with_suffix(".meta").rename(crashed.with_suffix(".meta"))
    other = MainWindow(home=home)
    qtbot.addWidget(other)
    dialogs.answers["question"] = QMessageBox.Yes
    assert other.offer_recovery()
    assert fileformat.dumps(other.document.graph) == saved
    assert other.document.modified
    assert not crashed.exists()
    other.document._recovered = False


def test_start_page_lists_presets_by_family_with_counts(window, qtbot):
    items = window.start_page.preset_items()
    names = [i.text(0) for i in items]
    assert "lenet5" in names
    qtbot.waitUntil(lambda: not window.start_page._pending, timeout=20000)
    lenet = items[names.index("lenet5")]
    assert lenet.text(1) == "61,706 params"
    assert lenet.parent().text(0) == "Classic"
    window.start_page.tree.itemActivated.emit(lenet, 0)
    assert window.document.graph.name == "LeNet-5"


def test_palette_search_and_theme_switch(window):
    window.palette.search.setText("depthwise")
    found = window.palette.entries()
    assert "DepthwiseConv2d" in found and "ReLU" not in found and "Linear" not in found
    window.palette.search.setText("")
    window.open_design("lenet5")
    window.act_theme.trigger()
    assert window.theme.name == "dark"
    assert window.scene.item("c1").theme.name == "dark"


def test_panels_and_docks_follow_the_theme(window):
    from PySide6.QtGui import QColor
    train, compare = window.panels["train"], window.panels["compare"]
    assert train.context.theme is window.theme and window.theme.name == "light"
    assert train.plot_widget.backgroundBrush().color() == QColor(window.theme.base)
    window.act_theme.trigger()
    dark = window.theme
    assert dark.name == "dark" and train.context.theme is dark      # told through the context
    assert train.plot_widget.backgroundBrush().color() == QColor(dark.base)
    assert compare.view.theme is dark
    assert compare.view.backgroundBrush().color() == QColor(dark.canvas)
    assert window.summary.model.error_colour == QColor(dark.error)


def test_screenshot_command_writes_the_window(tmp_path, home):
    from PySide6.QtGui import QImage
    from designer.ui.app import run
    out = tmp_path / "shot.png"
    assert run("lenet5", screenshot=str(out), size=(1000, 700)) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1000, 700)


def test_training_from_the_window_plots_and_quitting_asks_then_stops_it(window, dialogs, qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox
    from designer.train.events import Paused, Resumed
    window.open_design("reactor_digits")
    panel = window.panels["train"]
    panel.editors["epochs"].box.setValue(200)     # long enough that only quitting ends it
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    job = panel.job
    assert job.isRunning()
    qtbot.waitUntil(lambda: panel.current.points("loss_step") > 5, timeout=30_000)
    with qtbot.waitSignal(job.yielded, check_params_cb=lambda e: isinstance(e, Paused),
                          timeout=10_000):
        qtbot.mouseClick(panel.pause_button, Qt.LeftButton)
    with qtbot.waitSignal(job.yielded, check_params_cb=lambda e: isinstance(e, Resumed),
                          timeout=10_000):
        qtbot.mouseClick(panel.resume_button, Qt.LeftButton)
    dialogs.answers["question"] = QMessageBox.Cancel
    assert not window.close()
    assert dialogs[-1][1] == "Training is running" and job.isRunning()
    dialogs.answers["question"] = QMessageBox.Yes
    assert window.close()
    assert job.isFinished()


def test_panels_see_the_document_and_selection_through_their_context(window):
    from designer.ui.panel_registry import PANELS
    assert [p.name for p in PANELS] == list(window.panels)
    context = window.panels["train"].context
    assert context.graph is None
    window.open_design("lenet5")
    assert context.graph is window.document.graph
    window.scene.select_ids(["c1", "s2"])
    assert sorted(context.selection) == ["c1", "s2"]
    context.select(["f6"])                     # a panel asks; the canvas selects and shows it
    assert window.scene.selected_ids() == ["f6"] and window.inspector.node_id == "f6"


def test_summary_rows_repaint_their_figures_and_their_names_only_when_they_turn_red(window):
    window.open_design("lenet5")
    model = window.summary.model
    announced = []
    model.dataChanged.connect(lambda first, last, roles=(): announced.append(
        (first.row(), last.row(), first.column(), last.column())))
    window.editor.focus_node("input")
    line = window.inspector.editors["shape"].line
    line.setText("1×36×36")                              # every shape changes, nothing breaks
    line.editingFinished.emit()
    assert announced and all((first, last) == (2, 6) for _, _, first, last in announced)
    assert model.index(model.row_of["c1"], 2).data() == "6×32×32"
    announced.clear()
    line.setText("1×8×8")                                # too small: c3 and after turn red
    line.editingFinished.emit()
    c3 = model.row_of["c3"]
    whole = [(a, b) for a, b, c, d in announced if (c, d) == (0, 6)]
    assert any(a <= c3 <= b for a, b in whole)
    assert model.index(c3, 0).data(Qt.ForegroundRole) == model.error_colour


def test_the_summary_table_repaints_only_the_changed_cells_on_screen(window):
    window.open_design("vgg16")
    table = window.summary.table
    model = window.summary.model
    table.scrollToTop()
    repainted = []
    table.viewport().update = lambda rect: repainted.append(rect)
    window.editor.focus_node("input")
    line = window.inspector.editors["shape"].line
    line.setText("3×160×160")                        # every row changes
    line.editingFinished.emit()
    (rect,) = repainted
    shape_cell = table.visualRect(model.index(0, 2))
    assert rect.left() == shape_cell.left() and rect.top() == 0
    assert rect.left() > table.visualRect(model.index(0, 1)).right()     # names and types stay
    assert rect.bottom() <= table.viewport().height() + table.rowHeight(0)
    repainted.clear()
    last = model.rows[-2]                            # the classifier, far below the rows shown
    window.editor.focus_node(last)
    table.scrollToTop()
    window.inspector.editors["out_features"].box.setValue(10)
    assert model.index(model.row_of[last], 3).data() == "40,970"
    assert repainted == []                           # nothing changed on screen
