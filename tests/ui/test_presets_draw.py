"""Every preset opens in the editor and draws with no node in error."""

import pytest

from designer.core.presets import preset_names


@pytest.fixture(scope="module")
def shared_window(tmp_path_factory, qapp):
    """One window for every preset: opening a design replaces the last one, and building a
    window costs more than drawing most presets (3 s against 0.1 s in the suite)."""
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QMessageBox
    from designer.ui.window import MainWindow

    def refuse(parent, title, text, *args, **kwargs):    # a dialog offscreen would wait forever
        pytest.fail(f"{title}: {text}")
    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("home")
        patch.setenv("CNN_DESIGNER_HOME", str(home))
        for kind in ("question", "critical", "information", "warning"):
            patch.setattr(QMessageBox, kind, staticmethod(refuse))
        win = MainWindow(home=home)
        win.resize(1200, 800)
        win.show()
        yield win
        win.close()
        win.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)


@pytest.mark.parametrize("name", preset_names())
def test_preset_draws_without_errors(shared_window, name):
    window = shared_window
    assert window.open_design(name, ask=False)
    graph = window.document.graph
    scene = window.scene
    assert len(list(scene.node_items())) == len(graph.nodes)
    assert len(scene._edges) == len(graph.edges)
    in_error = [item.node.id for item in scene.node_items()
                if item.result is None or not item.result.ok]
    assert in_error == []
    assert window.issues.node_ids() == []
    window.view.viewport().grab()  # paints every visible item once
