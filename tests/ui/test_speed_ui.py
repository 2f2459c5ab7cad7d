"""Speed hints (ShuffleNet V2's guidelines) show in the Issues panel without counting as errors."""

from PySide6.QtCore import Qt


def test_hints_listed_after_errors_and_never_counted(window):
    assert window.open_design("mobilenet_v2")
    issues = window.issues
    hinted = issues.node_ids("hint")
    assert hinted and issues.node_ids() == []
    assert window.issues_dock.windowTitle() == "Issues"          # hints are not problems to fix
    texts = [issues.item(i).text() for i in range(issues.count())]
    assert texts[0].startswith("No problems")
    assert any(" — hint · G1: " in t for t in texts)
    hint_item = next(issues.item(i) for i in range(issues.count())
                     if issues.item(i).data(Qt.UserRole) == hinted[0])
    issues.itemClicked.emit(hint_item)
    assert window.scene.selected_ids() == [hinted[0]]


def test_measure_latency_fills_the_column_and_tints_the_canvas(window, qtbot):
    from designer.core.commands import SetParams
    from designer.ui.panels import LATENCY
    assert window.open_design("reactor_digits")
    summary = window.summary
    model = summary.model
    conv_row = model.row_of["conv1"]
    assert model.index(conv_row, LATENCY).data() == ""
    qtbot.mouseClick(summary.measure_button, Qt.LeftButton)
    assert not summary.measure_button.isEnabled()          # one measurement at a time
    qtbot.waitUntil(lambda: summary.measure_button.isEnabled(), timeout=30_000)
    text = model.index(conv_row, LATENCY).data()
    assert text.endswith(" ms") and float(text.split()[0]) > 0
    assert "ms forward" in summary.latency_label.text()
    assert model.data(model.index(conv_row, LATENCY), Qt.ForegroundRole) is None   # fresh
    # the heat tint follows the checkbox; the slowest node is fully hot
    assert window.scene.item("conv1").heat is None
    summary.heat_box.setChecked(True)
    heats = {item.node.id: item.heat for item in window.scene.node_items()}
    assert max(h for h in heats.values() if h is not None) == 1.0
    assert heats["conv1"] > 0
    window.view.viewport().grab()                           # paints the tinted nodes
    # an edit leaves the numbers but greys them as stale
    window.editor.push(SetParams(window.document.graph, "conv1", out_channels=8))
    assert model.data(model.index(conv_row, LATENCY), Qt.ForegroundRole) == model.stale_colour
    assert summary.latency_label.text() == "edited since measured"
    summary.heat_box.setChecked(False)
    assert window.scene.item("conv1").heat is None
