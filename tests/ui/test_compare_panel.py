"""File ▸ Compare With…: design B opens beside the open design in the Compare panel, with the
totals, a row per node, and matching nodes linked both ways."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog


def _compare(window, qtbot, monkeypatch, other):
    monkeypatch.setattr(QInputDialog, "getItem",
                        staticmethod(lambda *args, **kwargs: (other, True)))
    window.act_compare.trigger()
    return window.panels["compare"]


def test_compare_resnet50_with_resnext50(window, qtbot, monkeypatch):
    window.open_design("resnet50")
    panel = _compare(window, qtbot, monkeypatch, "resnext50_32x4d")
    dock = next(d for d in window.panel_docks if d.objectName() == "compare")
    assert dock.isVisible()
    # Totals and the changed blocks, as `designer diff` reports them.
    assert "25.56M → 25.03M (×0.979)" in panel.totals.text()
    assert "0 added, 0 removed, 16 changed" in panel.totals.text()
    row = panel.row_of("layer2.0")
    assert panel.table.item(row, 1).text() == "changed"
    assert panel.table.item(row, 4).text() == "379,392"
    assert panel.scene.item("layer2.0").node.type == "ResNeXtBlock"

    # Selecting a block in the editor selects its match in B and its row.
    window.scene.select_ids(["layer3.1"])
    assert panel.scene.selected_ids() == ["layer3.1"]
    assert panel.table.currentRow() == panel.row_of("layer3.1")

    # Clicking a row selects the node in the editor.
    target = panel.row_of("fc")
    rect = panel.table.visualItemRect(panel.table.item(target, 0))
    panel.table.scrollToItem(panel.table.item(target, 0))
    rect = panel.table.visualItemRect(panel.table.item(target, 0))
    qtbot.mouseClick(panel.table.viewport(), Qt.LeftButton, pos=rect.center())
    assert window.scene.selected_ids() == ["fc"]


def test_added_nodes_and_a_bad_name(window, qtbot, monkeypatch):
    window.open_design("resnet18")
    panel = _compare(window, qtbot, monkeypatch, "resnet34")
    assert panel.table.item(panel.row_of("layer1.2"), 1).text() == "added"
    assert panel.scene.item("layer1.2") is not None
    # A name that is neither a preset nor a file is reported, and the comparison stays.
    assert not panel.compare_with("no_such_design")
    assert "neither a design file nor a preset" in panel.totals.text()
    assert panel.scene.item("layer1.2") is not None


def test_design_b_opens_in_columns_beside_a_table_of_several_rows(window, qtbot, monkeypatch):
    window.open_design("resnet18")
    panel = _compare(window, qtbot, monkeypatch, "resnet34")
    qtbot.waitUntil(lambda: panel.table.isVisible())
    columns = {round(item.node.pos[0]) for item in panel.scene.node_items()}
    assert len(columns) >= 2                 # laid out for its view, not one tall column
    shown = [row for row in range(panel.table.rowCount())
             if panel.table.visualItemRect(panel.table.item(row, 0)).intersects(
                 panel.table.viewport().rect())]
    assert len(shown) >= 3                   # half the panel, not a single row
