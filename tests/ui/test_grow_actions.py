"""The canvas's "Widen, Keep Function…" and "Insert Layer, Keep Function": right-click a node of
a design with weights; the edit is one undo step that also switches the current weights to the
grown ones (which compute what the trained ones did), and undo brings the earlier ones back."""

import torch
from PySide6.QtWidgets import QInputDialog

from designer.compress.measure import load_model
from designer.core import fileformat
from designer.weights import read_state_dict, save_design_with_weights

from .test_editing import _at, _menu_action, _right_click, _show


def _open_trained_lenet(window, tmp_path):
    from designer.core.presets import load_design
    graph = load_design("lenet5")
    torch.manual_seed(0)
    save_design_with_weights(graph, load_model(graph).state_dict(), tmp_path / "lenet.json")
    window.open_design(str(tmp_path / "lenet.json"))
    assert window.document.current_weights == tmp_path / "lenet.pt"
    return graph


def _grow_from_menu(window, qtbot, node_id, entry):
    _show(window, [node_id])
    centre = _at(window, window.scene.item(node_id).sceneBoundingRect().center())
    titles = _right_click(window, centre, lambda menu: _menu_action(menu, entry).trigger())
    assert window.grower.job is not None
    qtbot.waitUntil(lambda: window.grower.job is None, timeout=120_000)
    return titles


def _settle(window, qtbot):
    """New current weights start the Compress panel's live preview: let it end before the
    window closes (its job must not outlive the window)."""
    compress = window.panels["compress"]
    compress.preview_timer.stop()
    qtbot.waitUntil(lambda: not compress.is_running, timeout=120_000)


def test_widen_keep_function_is_one_undo_step_with_the_grown_weights(window, qtbot, tmp_path,
                                                                     monkeypatch):
    trained = _open_trained_lenet(window, tmp_path)
    before = fileformat.dumps(window.document.graph)
    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(lambda *a, **k: (10, True)))
    titles = _grow_from_menu(window, qtbot, "c1", "Widen, Keep Function")
    assert "Insert Layer, Keep Function" in titles
    graph = window.document.graph
    assert graph.nodes["c1"].params["out_channels"] == 10
    grown = window.document.current_weights
    assert grown != tmp_path / "lenet.pt" and grown.is_file()
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        a = load_model(trained, read_state_dict(tmp_path / "lenet.pt"))(x)
        b = load_model(graph, read_state_dict(grown))(x)
    assert torch.allclose(a, b, atol=1e-5)
    window.document.undo_stack.undo()
    assert fileformat.dumps(window.document.graph) == before
    assert window.document.current_weights == tmp_path / "lenet.pt"
    window.document.undo_stack.redo()
    assert window.document.current_weights == grown
    _settle(window, qtbot)


def test_insert_layer_keep_function_adds_identity_layers(window, qtbot, tmp_path):
    _open_trained_lenet(window, tmp_path)
    _grow_from_menu(window, qtbot, "relu1", "Insert Layer, Keep Function")
    graph = window.document.graph
    assert graph.successors("relu1") == ("relu1_deep",)
    assert graph.successors("relu1_deep_relu") == ("s2",)
    assert "relu1_deep.weight" in read_state_dict(window.document.current_weights)
    _settle(window, qtbot)


def test_without_weights_the_entries_are_disabled(window):
    window.open_design("lenet5")
    from designer.ui import context_menu
    menu = context_menu.build(window, window.scene.item("c1").sceneBoundingRect().center(),
                              "node", "c1")
    assert not _menu_action(menu, "Widen, Keep Function").isEnabled()
    assert not _menu_action(menu, "Insert Layer, Keep Function").isEnabled()
