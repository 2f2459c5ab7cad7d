"""The workspace as a person meets it (issue 11 items 7, 8, 10, 11): files and names, export
paths, File ▸ Close, blocks keep the view, the Train panel's size and plots, what is remembered
between sessions, and earlier runs."""

from pathlib import Path

from PySide6.QtCore import QSettings, QTimer, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog


def test_save_as_names_the_design_and_export_defaults_beside_it(window, tmp_path, monkeypatch):
    window.open_design("lenet5")
    target = tmp_path / "designs" / "mynet.json"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args, **kwargs: (str(target), "")))
    window.act_save_as.trigger()
    assert target.exists() and window.document.graph.name == "mynet"
    window.scene.clearSelection()
    assert window.inspector.findChild(type(window.zoom_label), "heading").text() == "mynet"
    seen = {}

    def look():
        dialog = QApplication.activeModalWidget()
        seen["path"] = dialog.path_edit.text()
        dialog.reject()
    QTimer.singleShot(0, look)
    window.act_export.trigger()
    assert Path(seen["path"]).parent == target.parent and Path(seen["path"]).stem == "mynet"


def test_file_close_asks_then_shows_the_start_page(window, dialogs):
    from PySide6.QtWidgets import QMessageBox
    window.open_design("lenet5")
    window.scene.select_ids(["c1"])
    window.inspector.editors["out_channels"].box.setValue(8)
    dialogs.answers["question"] = QMessageBox.Cancel
    window.act_close.trigger()
    assert window.document is not None and dialogs[-1][0] == "question"
    dialogs.answers["question"] = QMessageBox.Discard
    window.act_close.trigger()
    assert window.document is None and window.stack.currentWidget() is window.start_page
    assert window.windowTitle() == "CNN Designer" and not window.act_close.isEnabled()
    assert window.issues.node_ids() == [] and window.summary.model.rowCount() == 0
    window.open_design("resnet18")   # and the editor works again afterwards
    assert window.scene.item("conv1") is not None


def test_leaving_a_block_returns_to_where_the_view_was(window):
    window.open_design("resnet18")
    block = next(n.id for n in window.document.graph.nodes.values() if n.is_block)
    window.view.set_zoom(1.3)
    window.view.centerOn(window.scene.item(block).sceneBoundingRect().center())
    before = window.view.state()
    window.scene.select_ids([block])
    QTest.keyClick(window.view.viewport(), Qt.Key_Return, Qt.ControlModifier)   # look inside
    assert window.editor.breadcrumb_titles()[-1] == block
    QTest.keyClick(window.view.viewport(), Qt.Key_Backspace, Qt.ControlModifier)  # back out
    assert window.editor.breadcrumb_titles() == []
    zoom, centre = window.view.state()
    assert abs(zoom - before[0]) < 1e-6 and (centre - before[1]).manhattanLength() < 2


def _dock_tab(window, title):
    from PySide6.QtWidgets import QTabBar
    for bar in window.findChildren(QTabBar):
        for index in range(bar.count()):
            if bar.tabText(index).startswith(title):
                return bar, index
    raise AssertionError(f"no dock tab {title!r}")


def test_train_panel_opens_at_a_usable_size_with_themed_plots(window):
    window.open_design("lenet5")
    bar, index = _dock_tab(window, "Train")
    QTest.mouseClick(bar, Qt.LeftButton, Qt.NoModifier, bar.tabRect(index).center())
    QApplication.processEvents()
    panel = window.panels["train"]
    assert panel.isVisible() and panel.height() >= 0.35 * window.height()
    assert panel.plot_widget.height() >= 200
    row = panel.editors["dataset"].height()
    form_viewport = panel.form.parentWidget()
    assert form_viewport.height() >= 7 * row   # seven or more rows of the form in view (was 2)
    plot = panel.plots["lr"]
    assert not plot.getAxis("left").autoSIPrefix and plot.legend is None
    window.act_theme.trigger()
    assert panel.plot_widget.backgroundBrush().color().name() == window.theme.base
    assert plot.getAxis("left").textPen().color().name() == window.theme.text


def test_workspace_is_remembered_between_sessions(window, home, qtbot):
    from designer.ui.window import MainWindow
    window.resize(780, 700)   # within the offscreen screen (800×800)
    window.act_theme.trigger()
    panel = window.panels["train"]
    panel.editors["epochs"].box.setValue(17)
    panel.editors["lr"].box.setValue(0.02)
    optimizer = panel.editors["optimizer"].box
    optimizer.setCurrentIndex(optimizer.findData("adamw"))
    window.inspector_dock.hide()
    size = window.size()
    assert window.close()
    again = MainWindow(home=home)
    qtbot.addWidget(again)
    again.show()
    assert again.theme.name == "dark" and again.size() == size
    restored = again.panels["train"]
    assert restored.editors["epochs"].value() == 17 and abs(restored.editors["lr"].value() - 0.02) < 1e-9
    assert restored.editors["optimizer"].value() == "adamw"
    assert not again.inspector_dock.isVisible()
    again.close()


def test_the_dataset_chosen_is_remembered_between_sessions(window, home, qtbot):
    from designer.data.choice import DataChoice
    from designer.ui.window import MainWindow
    window.open_design("lenet5")
    box = window.panels["data"].editors["dataset"].box
    with qtbot.waitSignal(window.context.data_changed, timeout=5_000):
        box.setCurrentIndex(box.findData("fashion_mnist"))
    assert window.close()
    again = MainWindow(home=home)
    qtbot.addWidget(again)
    again.show()
    again.open_design("resnet18")       # another design, another session: the same data
    assert again.context.data_choice.same_data(DataChoice("fashion_mnist"))
    assert again.panels["train"].config().dataset == "fashion_mnist"
    assert again.close()
    edited = QSettings(str(home / "settings.ini"), QSettings.IniFormat)   # edited by hand
    edited.setValue("data_choice", "[not a choice")
    edited.sync()
    third = MainWindow(home=home)
    qtbot.addWidget(third)
    assert third.context.last_data_choice is None
    third.close()


def test_open_recent_tells_files_of_the_same_name_apart(window, tmp_path):
    from PySide6.QtCore import QPoint
    from designer.ui.window import recent_labels
    for folder in ("first", "second"):
        (tmp_path / folder).mkdir()
        window.open_design("lenet5")
        assert window._save_to(tmp_path / folder / "design.json")
    window.open_design("resnet18")
    assert window._save_to(tmp_path / "resnet.json")
    menu = window.recent_menu
    menu.popup(QPoint(0, 0))                 # File ▸ Open Recent, filled as it opens
    qt_labels = [action.text() for action in menu.actions()]
    assert qt_labels == ["&1 resnet.json", "&2 design.json — …/second",
                         "&3 design.json — …/first"]
    QTest.keyClick(menu, Qt.Key_3)           # its mnemonic opens the one in "first"
    assert window.document.path == (tmp_path / "first" / "design.json").resolve()
    # Folders of the same name: as many of the folders above as make the labels differ.
    assert recent_labels(["/x/a/run/design.json", "/y/a/run/design.json", "/z/net.json"]) == \
        ["design.json — …/x/a/run", "design.json — …/y/a/run", "net.json"]
