"""The Runs panel driven as a person would: the open design's runs listed (not another design's),
sorted by a header click, renamed and noted by typing, deleted and brought back with Delete and
Ctrl+Z, a selected run's best.pt made the current weights, ticked runs plotted in the Train
panel; in the window, a Compress result of a run appears as its child row and a double-click
opens it with its weights."""

import json
from pathlib import Path
import shutil

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from designer import workspace
from designer.core.presets import load_design
from designer.home import runs_root
from designer.train import runs
from designer.ui import runs_panel as rp
from designer.ui.document import Document
from designer.ui.panel_registry import PanelContext
from designer.ui.runs_panel import RunsPanel

from ..helpers import fake_run
from .test_current_weights import apply_compression


@pytest.fixture
def lenet():
    return load_design("lenet5")


@pytest.fixture
def folders(tmp_path, lenet):
    root = tmp_path / "runs"
    return {
        "a": fake_run(root, "a", lenet, errors=(0.4, 0.2), started="2024-03-05T10:00:00"),
        "b": fake_run(root, "b", lenet, errors=(0.5, 0.1, 0.3), started="2024-03-06T10:00:00"),
        "alex": fake_run(root, "alex", load_design("alexnet"), started="2024-03-07T10:00:00"),
    }


@pytest.fixture
def panel(qtbot, home, folders, lenet):
    context = PanelContext()
    widget = RunsPanel(context, root=folders["a"].parent)
    qtbot.addWidget(widget)
    widget.resize(1100, 300)
    widget.show()
    context.set_document(Document(lenet))
    return widget


def shown(panel, column=rp.NAME):
    """The top-level rows' cells in `column`, in the order shown."""
    model = panel.view.model()
    return [model.index(row, column).data() for row in range(model.rowCount())]


def cell_centre(panel, folder, column=rp.NAME):
    index = panel._row_of(folder).siblingAtColumn(column)
    panel.view.scrollTo(index)
    return panel.view.visualRect(index).center()


def click(qtbot, panel, folder, column=rp.NAME):
    qtbot.mouseClick(panel.view.viewport(), Qt.LeftButton, pos=cell_centre(panel, folder, column))


def double_click(qtbot, panel, folder, column=rp.NAME):
    """What a real double-click delivers: press, release, double-click, release."""
    click(qtbot, panel, folder, column)
    qtbot.mouseDClick(panel.view.viewport(), Qt.LeftButton, pos=cell_centre(panel, folder, column))


def test_the_open_designs_runs_are_listed_and_sort_by_a_header_click(panel, folders, qtbot):
    assert shown(panel) == ["LeNet-5 · digits · b", "LeNet-5 · digits · a"]   # newest first
    assert shown(panel, rp.BEST) == ["10.00%", "20.00%"]
    assert shown(panel, rp.EPOCHS) == ["3/5", "2/5"]
    assert panel.view.model().index(0, rp.BEST).data(Qt.TextAlignmentRole) & Qt.AlignRight
    header = panel.view.header()
    x = header.sectionViewportPosition(rp.LAST) + header.sectionSize(rp.LAST) // 2
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=QPoint(x, header.height() // 2))
    order = shown(panel, rp.LAST)
    assert order == sorted(order) == ["20.00%", "30.00%"]
    panel.context.set_document(Document(load_design("alexnet")))
    assert [name.rsplit(" · ", 1)[-1] for name in shown(panel)] == ["alex"]


def test_an_edit_that_makes_it_another_design_lists_that_designs_runs(panel, folders, qtbot):
    from designer.core.commands import SetParams
    document = panel.context.document
    document.push(SetParams(document.graph, "c1", out_channels=8))
    qtbot.waitUntil(lambda: shown(panel) == [], timeout=2000)
    assert "No runs of this design" in panel.status.text()
    document.undo_stack.undo()
    qtbot.waitUntil(lambda: len(shown(panel)) == 2, timeout=2000)


def test_rename_and_notes_by_typing_stay_in_run_json(panel, folders, qtbot):
    click(qtbot, panel, folders["a"])
    qtbot.keyClick(panel.view, Qt.Key_F2)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, "wide lr")
    qtbot.keyClick(editor, Qt.Key_Return)        # the view commits it once back in its loop
    qtbot.waitUntil(lambda: runs.read_info(folders["a"])["name"] == "wide lr", timeout=2000)
    assert folders["a"].is_dir()
    assert "wide lr" in shown(panel)
    double_click(qtbot, panel, folders["a"], rp.NOTES)
    qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget(), QLineEdit), timeout=2000)
    editor = QApplication.focusWidget()
    qtbot.keyClicks(editor, "try 0.01 next")
    qtbot.keyClick(editor, Qt.Key_Return)
    qtbot.waitUntil(lambda: runs.read_info(folders["a"])["notes"] == "try 0.01 next",
                    timeout=2000)
    panel.refresh()       # as read back from the folder, after a restart too
    index = panel._row_of(folders["a"])
    assert index.siblingAtColumn(rp.NAME).data() == "wide lr"
    assert index.siblingAtColumn(rp.NOTES).data() == "try 0.01 next"


def test_delete_moves_the_run_to_the_trash_and_ctrl_z_brings_it_back(panel, folders, qtbot, home):
    click(qtbot, panel, folders["b"])
    assert panel.context.current_weights == folders["b"] / "best.pt"
    qtbot.keyClick(panel.view, Qt.Key_Delete)
    assert shown(panel) == ["LeNet-5 · digits · a"] and not folders["b"].exists()
    assert (home / "trash" / "b" / "best.pt").is_file()
    assert panel.context.current_weights is None         # its file went with it
    assert panel.buttons["Undo Delete"].isEnabled()
    qtbot.keyClick(panel.view, Qt.Key_Z, Qt.ControlModifier)
    assert (folders["b"] / "best.pt").is_file() and len(shown(panel)) == 2
    assert not panel.buttons["Undo Delete"].isEnabled()
    click(qtbot, panel, folders["a"])
    qtbot.mouseClick(panel.buttons["Delete"], Qt.LeftButton)
    qtbot.mouseClick(panel.buttons["Undo Delete"], Qt.LeftButton)
    assert folders["a"].is_dir() and len(shown(panel)) == 2


def test_selecting_a_run_makes_its_weights_current_and_ticks_plot_it(panel, folders, qtbot):
    seen = []
    panel.context.weights_changed.connect(seen.append)
    click(qtbot, panel, folders["a"])
    assert panel.context.current_weights == folders["a"] / "best.pt"
    (folders["b"] / "best.pt").unlink()
    (folders["b"] / "last.pt").write_bytes(b"w")
    panel.refresh()
    qtbot.keyClick(panel.view, Qt.Key_Up)                # the row above: b, newest first
    assert panel.context.current_weights == folders["b"] / "last.pt"
    assert seen == [folders["a"] / "best.pt", folders["b"] / "last.pt"]
    with qtbot.waitSignal(panel.context.runs_plot_requested) as plotted:
        qtbot.keyClick(panel.view, Qt.Key_Space)         # tick b
    assert plotted.args[0] == [str(folders["b"])]


def test_ticked_runs_plot_in_the_train_panel(qtbot, lenet_run, tmp_path):
    from designer.ui.train_panel import TrainPanel
    context = PanelContext()
    train = TrainPanel(context, runs_dir=tmp_path / "none")
    qtbot.addWidget(train)
    assert train.runs == []
    context.plot_runs([lenet_run[0]])
    assert [Path(run.run_dir) for run in train.runs] == [lenet_run[0]]
    assert train.runs_list.item(0).checkState() == Qt.Checked
    assert train.runs[0].items["val_top1"].isVisible()
    context.plot_runs([])
    assert train.runs_list.item(0).checkState() == Qt.Unchecked


def test_a_compressed_run_shows_its_variant_and_a_double_click_opens_it(
        window, qtbot, lenet_run):
    folder = runs_root() / "lenet5_digits"
    shutil.copytree(lenet_run[0], folder)
    window.open_design("lenet5", ask=False)
    dock = next(d for d in window.panel_docks if d.objectName() == "runs")
    dock.raise_()
    panel = window.panels["runs"]
    qtbot.waitUntil(lambda: panel._row_of(folder) is not None, timeout=5000)
    click(qtbot, panel, folder)
    assert window.context.current_weights == folder / "best.pt"
    assert window.weights_label.text() == "Weights: best.pt"

    apply_compression(window, qtbot, "Prune filters (L1 norm)")
    variant = workspace.list_variants(folder)[0]
    assert variant.folder.parent == folder / "variants" and variant.technique == "prune"
    saved = json.loads((variant.folder / workspace.VARIANT_FILE).read_text())
    assert saved["source"] == "best.pt" and saved["summary"]["params_after"] < saved[
        "summary"]["params_before"]
    qtbot.waitUntil(lambda: window.document.path == variant.design, timeout=10_000)

    window.open_design("lenet5", ask=False)     # the original design: the run, its variant below
    qtbot.waitUntil(lambda: panel._row_of(variant.folder) is not None, timeout=5000)
    row = panel._row_of(variant.folder)
    assert row.parent().siblingAtColumn(rp.NAME).data(rp.FOLDER_ROLE) == str(folder)
    assert row.siblingAtColumn(rp.NAME).data().startswith("pruned l1")
    assert row.siblingAtColumn(rp.EPOCHS).data() in (None, "")
    double_click(qtbot, panel, variant.folder)
    qtbot.waitUntil(lambda: window.document.path == variant.design, timeout=10_000)
    assert window.context.current_weights == variant.weights
    assert window.weights_label.text() == "Weights: design.pt"
    # The variant's own design lists the run it came from, the variant selected.
    qtbot.waitUntil(lambda: panel._selected_folder() == str(variant.folder), timeout=5000)
