"""The Compress panel standalone: Preview shows the pruned design's figures before anything runs,
Apply runs in a job, fills the before/after table and asks the editor to open the new design;
a missing weights file is a sentence and the panel stays usable. In the window, the panel sits in
its own dock and an applied result opens as the current document."""

import pytest
import torch
from PySide6.QtCore import Qt

from designer.core.compile import compile_graph
from designer.core.fileformat import load
from designer.core.presets import load_design
from designer.ui.compress_panel import CompressPanel
from designer.ui.document import Document
from designer.ui.panel_registry import PanelContext


@pytest.fixture
def weights(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "lenet5.pt"
    torch.save(compile_graph(load_design("lenet5")).state_dict(), path)
    return path


@pytest.fixture
def panel(qtbot, tmp_path):
    context = PanelContext()
    context.set_document(Document(load_design("lenet5")))
    widget = CompressPanel(context, out_root=tmp_path / "out")
    qtbot.addWidget(widget)
    widget.resize(1000, 500)
    widget.show()
    yield widget
    widget.shutdown()


def cell(panel, row, column):
    return panel.table.item(row, column).text()


def test_preview_then_apply_prune(panel, qtbot, weights):
    panel.editors["weights"].line.setText(str(weights))
    panel.editors["technique"].box.setCurrentText("Prune filters (L1 norm)")
    assert (panel.editors["amount"].box.isVisible()
            and not panel.editors["weight_bits"].box.isVisible())
    with qtbot.waitSignal(panel.preview_ready, timeout=30000) as preview:
        qtbot.mouseClick(panel.preview_button, Qt.LeftButton)
    figures = preview.args[0]
    assert figures["params_after"] < figures["params_before"] == 61706
    assert cell(panel, 0, 1) == "61,706" and cell(panel, 0, 2) == f"{figures['params_after']:,}"
    assert panel.context.graph.nodes["c3"].params["out_channels"] == 16   # nothing changed yet

    qtbot.waitUntil(panel.apply_button.isEnabled, timeout=30_000)   # the preview is done
    opened = []
    panel.context.open_requested.connect(opened.append)
    with qtbot.waitSignal(panel.result_ready, timeout=60000) as result:
        qtbot.mouseClick(panel.apply_button, Qt.LeftButton)
    report = result.args[0]
    assert report["params_after"] == figures["params_after"]
    assert len(opened) == 1 and load(opened[0]).nodes["c3"].params["out_channels"] == 8
    qtbot.waitUntil(panel.apply_button.isEnabled, timeout=30_000)   # usable again


def test_weight_quantisation_draws_sqnr_bars(panel, qtbot, weights):
    panel.editors["weights"].line.setText(str(weights))
    panel.editors["technique"].box.setCurrentText("Quantise weights only")
    assert panel.editors["weight_bits"].box.isVisible() and not panel.preview_button.isEnabled()
    panel.editors["weight_bits"].box.setValue(4)
    panel.editors["weight_codebook"].box.setCurrentText("kmeans")
    with qtbot.waitSignal(panel.result_ready, timeout=60000) as result:
        qtbot.mouseClick(panel.apply_button, Qt.LeftButton)
    assert result.args[0]["bytes_after"] < result.args[0]["bytes_before"] / 5
    bars = [item for item in panel.chart.getPlotItem().items if hasattr(item, "opts")
            and "height" in item.opts]
    assert len(bars) == 1 and len(bars[0].opts["height"]) == 5


def test_missing_weights_is_a_sentence(panel, qtbot, tmp_path):
    panel.editors["weights"].line.setText(str(tmp_path / "nope.pt"))
    qtbot.mouseClick(panel.apply_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "no such weights file" in panel.status.text(), timeout=20000)
    qtbot.waitUntil(panel.apply_button.isEnabled, timeout=30_000)


def test_window_has_the_compress_dock_and_opens_results(window, qtbot, weights):
    compress = window.panels["compress"]
    window.open_design("lenet5", ask=False)
    compress.editors["weights"].line.setText(str(weights))
    compress.editors["technique"].box.setCurrentText("Factorise (SVD)")
    compress.editors["rank"].box.setValue(8)
    compress.editors["layers"].line.setText("f6")
    with qtbot.waitSignal(compress.result_ready, timeout=60000):
        qtbot.mouseClick(compress.apply_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "f6_lowrank" in window.document.graph.nodes, timeout=30000)


def test_train_panel_distils_from_a_teacher(qtbot, tmp_path, weights):
    """The Train panel's distillation rows: a teacher and its weights train the student with the
    distillation loss; a teacher without weights fails with a sentence."""
    from designer.core.builder import GraphBuilder
    from designer.ui.train_panel import TrainPanel
    b = GraphBuilder("student")
    x = b.add("Conv2d", "conv", b.input((1, 8, 8)), out_channels=4, kernel=3, padding=1)
    x = b.add("Flatten", "flatten", b.add("ReLU", "relu", x))
    b.output(b.add("Linear", "fc", x, out_features=10))
    context = PanelContext()
    context.set_document(Document(b.finish()))
    panel = TrainPanel(context, runs_dir=tmp_path / "runs")
    qtbot.addWidget(panel)
    panel.editors["epochs"].box.setValue(1)
    panel.editors["batch_size"].box.setValue(256)
    panel.editors["teacher"].line.setText("lenet5")
    panel.editors["teacher_weights"].line.setText(str(weights))
    panel.editors["temperature"].box.setValue(3.0)
    assert panel.distillation() == ("lenet5", str(weights), 3.0, 0.5)
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60_000)
    assert panel.result.status == "completed", panel.result.message
    qtbot.waitUntil(panel.start_button.isEnabled, timeout=30_000)
    panel.editors["teacher_weights"].line.setText("")
    first = panel.job
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    # Wait for the second run's own result, not the first run's.
    qtbot.waitUntil(lambda: panel.job is not first and panel.result is not None,
                    timeout=30_000)
    assert panel.result.status == "failed"
    assert "teacher needs its trained weights" in panel.result.message
    qtbot.waitUntil(panel.start_button.isEnabled, timeout=30_000)
    panel.shutdown()


def test_preview_follows_the_settings(panel, qtbot, weights):
    panel.editors["weights"].line.setText(str(weights))
    panel.editors["technique"].box.setCurrentText("Prune filters (L1 norm)")
    with qtbot.waitSignal(panel.preview_ready, timeout=30000) as first:
        panel.editors["amount"].box.setValue(0.25)                 # no click: the preview follows
    qtbot.waitUntil(panel.apply_button.isEnabled, timeout=30_000)
    with qtbot.waitSignal(panel.preview_ready, timeout=30000) as second:
        panel.editors["amount"].box.setValue(0.75)
    assert second.args[0]["params_after"] < first.args[0]["params_after"] < 61706
