"""The workspace as a person meets it (issue 11 items 7, 8, 10, 11): files and names, export
paths, File ▸ Close, blocks keep the view, the Train panel's size and plots, what is remembered
between sessions, and earlier runs."""

from pathlib import Path

from PySide6.QtCore import QTimer, Qt
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
