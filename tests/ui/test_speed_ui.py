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


def test_experiments_panel_sweeps_plots_and_opens_a_trial(window, qtbot, tmp_path):
    import torch
    from pathlib import Path
    assert window.open_design("reactor_digits")
    panel = window.panels["experiments"]
    panel.params_edit.setPlainText("width=0.5,1.0")
    panel.fixed_edit.setText("batch_size=128")
    panel.editors["epochs"].box.setValue(1)
    panel.editors["out"].line.setText(str(tmp_path / "sweep"))
    panel.editors["max_macs"].line.setText("lots")                       # a bad budget is a sentence, no sweep
    assert panel.start() is False and "MAC budget" in panel.status.text()
    panel.editors["max_macs"].line.setText("7k")                         # both widths fit (6.85k at 1.0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                  # the shared CI machine trains faster on one thread
    try:
        # Stop as the second trial starts: the first stays, the second is recorded as stopped
        def stop_at_second(event):
            if event["kind"] == "trial_start" and event["number"] == 1:
                qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
        qtbot.mouseClick(panel.start_button, Qt.LeftButton)
        assert panel.is_running and panel.close_question() is not None
        panel.job.yielded.connect(stop_at_second)
        qtbot.waitUntil(lambda: not panel.is_running, timeout=120_000)
        assert "stopped" in panel.status.text()
        assert [panel.table.item(r, 1).text() for r in range(2)] == ["complete", "failed"]
        # Start again with the same folder: the study resumes and re-runs the stopped setting
        qtbot.mouseClick(panel.start_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: not panel.is_running, timeout=120_000)
    finally:
        torch.set_num_threads(threads)
    assert "completed" in panel.status.text()
    assert [panel.table.item(r, 1).text() for r in range(3)] == ["complete", "failed", "complete"]
    points = panel.scatter.points()
    assert len(points) == 2 and {p.data() for p in points} == {0, 2}
    assert (tmp_path / "sweep" / "trials.csv").exists() and (tmp_path / "sweep" / "tradeoff.png").exists()
    # the cost axis switches between MACs, parameters and latency
    panel.cost_box.setCurrentIndex(1)
    assert sorted(p.pos().x() for p in panel.scatter.points()) == sorted(
        t["total_params"] for t in panel.trials.values() if t["state"] == "complete")
    # clicking a point opens that trial's design (width applied) in the editor
    point = panel.scatter.points()[0]
    number = point.data()
    panel.scatter.sigClicked.emit(panel.scatter, [point], None)
    assert Path(window.document.path) == Path(panel.trials[number]["design"])
    width = panel.trials[number]["settings"]["width"]
    assert window.document.graph.nodes["conv1"].params["out_channels"] == round(4 * width)


def test_speed_panel_places_layers_on_the_roofline(window, qtbot):
    assert window.open_design("reactor_digits")
    panel = window.panels["speed"]
    qtbot.mouseClick(panel.profile_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.is_running, timeout=60_000)
    report = panel.report
    computing = [n for n in report["nodes"] if n["macs"] and n["latency_ms"] > 0]
    points = panel.points.points()
    assert sorted(p.data() for p in points) == sorted(n["id"] for n in computing)
    assert "ms forward" in panel.summary.text()
    point = next(p for p in points if p.data() == "conv2")
    panel.points.sigClicked.emit(panel.points, [point], None)
    assert window.scene.selected_ids() == ["conv2"]
    assert "conv2" in panel.detail.text() and "-bound" in panel.detail.text()
    assert window.open_design("lenet5", ask=False)           # a new design clears the plot
    assert panel.report is None and len(panel.points.points()) == 0
