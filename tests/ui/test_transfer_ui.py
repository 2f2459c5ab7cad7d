"""Transfer learning in the window: the inspector's Frozen tick and LR factor (undoable, saved), a
frozen node drawn greyed, the summary's trainable and frozen counts, and the Train panel's
"Adapt to dataset" as one undoable edit."""

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from designer.core import fileformat
from designer.ui.items import FROZEN_OPACITY


def _click(widget):
    """A left click where a person would: a check box's tick (at its left), a button's middle."""
    from PySide6.QtWidgets import QCheckBox
    x = 8 if isinstance(widget, QCheckBox) else widget.width() // 2
    QTest.mouseClick(widget, Qt.LeftButton, Qt.NoModifier, QPoint(x, widget.height() // 2))


def test_frozen_tick_and_lr_factor_are_undoable_edits_drawn_and_counted(window, tmp_path):
    window.open_design("reactor_digits", ask=False)
    graph = window.document.graph
    window.scene.select_ids(["conv1"])
    tick = window.inspector.marks["frozen"].box
    assert not tick.isChecked()
    _click(tick)
    assert graph.nodes["conv1"].frozen and tick.isChecked()
    assert window.scene.item("conv1").opacity() == FROZEN_OPACITY
    assert window.scene.item("conv2").opacity() == 1.0
    totals = window.summary.totals.text()
    conv1 = 4 * 9 + 4
    total = sum(r.params for r in window.document.analyzer.results.values())
    assert f"{total - conv1:,} trainable, {conv1:,} frozen" in totals
    assert window.document.modified

    window.document.undo_stack.undo()
    assert not graph.nodes["conv1"].frozen and not tick.isChecked()
    assert window.scene.item("conv1").opacity() == 1.0
    assert "frozen" not in window.summary.totals.text()
    window.document.undo_stack.redo()
    assert graph.nodes["conv1"].frozen and tick.isChecked()

    factor = window.inspector.marks["lr_factor"].box
    factor.setValue(2.5)
    factor.editingFinished.emit()
    assert graph.nodes["conv1"].lr_factor == 2.5
    window.document.save(tmp_path / "marked.json")
    saved = fileformat.load(tmp_path / "marked.json")
    assert saved.nodes["conv1"].frozen and saved.nodes["conv1"].lr_factor == 2.5

    # A multi-selection's tick freezes all its nodes in one step.
    window.scene.select_ids(["conv1", "conv2"])
    tick = window.inspector.marks["frozen"].box
    assert not tick.isChecked()            # conv2 is not frozen yet
    before = window.document.undo_stack.count()
    _click(tick)
    assert graph.frozen_nodes() == ["conv1", "conv2"]
    assert window.document.undo_stack.count() == before + 1
    window.document.undo_stack.undo()
    assert graph.frozen_nodes() == ["conv1"]


def test_adapt_to_dataset_sets_the_head_as_one_undoable_edit(qtbot, tmp_path):
    from designer.core.presets import load_design
    from designer.ui.document import Document
    from designer.ui.panel_registry import PanelContext
    from designer.ui.train_panel import TrainPanel
    context = PanelContext()
    document = Document(load_design("reactor_digits"))
    context.set_document(document)
    panel = TrainPanel(context, runs_dir=tmp_path / "runs")
    qtbot.addWidget(panel)
    graph = document.graph
    panel.form.editors["classes"].set_value("0-4")
    _click(panel.adapt_button)
    assert graph.nodes["fc2"].params["out_features"] == 5
    assert document.undo_stack.count() == 1
    assert document.undo_stack.text(0) == "Adapt to dataset: fc2 gives 5 outputs"
    assert "fc2 now gives 5 outputs (it gave 10)" in panel.status_label.text()
    # Trained so, with conv1 frozen: the run's messages (on hover) say what is frozen.
    panel.editors["freeze"].line.setText("conv1")
    panel.editors["freeze"].line.editingFinished.emit()
    panel.editors["epochs"].box.setValue(1)
    panel.editors["batch_size"].box.setValue(512)
    panel.editors["out"].line.setText(str(tmp_path / "run"))
    panel.editors["out"].line.editingFinished.emit()
    _click(panel.start_button)
    with qtbot.waitSignal(panel.job.returned, timeout=60_000) as blocker:
        pass
    assert blocker.args[0].status == "completed"
    assert "frozen: conv1 (40 parameters get no gradient" in panel.status_label.toolTip()
    assert fileformat.load(tmp_path / "run" / "design.json").nodes["fc2"].params[
        "out_features"] == 5
    document.undo_stack.undo()
    assert graph.nodes["fc2"].params["out_features"] == 10
    panel.form.editors["classes"].set_value(None)
    assert not panel.adapt_to_dataset()      # already 10, one per class of the digits
    assert "already gives 10 outputs" in panel.status_label.text()
