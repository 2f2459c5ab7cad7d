"""The Deploy panel driven like a person: untick the defaults, tick int8 ONNX, Deploy; the job
fills a row per target and a latency bar beside eager PyTorch's, and the file, made from a run's
weights, is kept as a variant of that run (the Runs panel's listing reads it back)."""

import shutil

import pytest
from PySide6.QtCore import Qt

from designer import workspace
from designer.core.presets import load_design
from designer.deploy.targets import TARGETS, missing
from designer.ui.deploy_panel import DeployPanel
from designer.ui.document import Document
from designer.ui.panel_registry import PanelContext


@pytest.fixture
def panel(qtbot, tmp_path):
    context = PanelContext()
    context.set_document(Document(load_design("lenet5")))
    widget = DeployPanel(context, out_root=tmp_path / "out")
    qtbot.addWidget(widget)
    widget.resize(1000, 420)
    widget.show()
    yield widget
    widget.shutdown()


def untick_all(panel, qtbot):
    for box in panel.checks.values():
        if box.isChecked():
            qtbot.mouseClick(box, Qt.LeftButton)


def test_deploy_int8_onnx_from_a_run_becomes_its_variant(panel, qtbot, lenet_run, tmp_path):
    pytest.importorskip("onnxruntime")
    run = tmp_path / "run"
    shutil.copytree(lenet_run[0], run)
    panel.context.set_current_weights(str(run / "best.pt"))
    assert panel.weights.text() == str(run / "best.pt")       # follows the current weights
    untick_all(panel, qtbot)
    qtbot.mouseClick(panel.deploy_button, Qt.LeftButton)
    assert "at least one target" in panel.status.text() and panel.job is None

    qtbot.mouseClick(panel.checks["onnx-int8"], Qt.LeftButton)
    panel.batches.setValue(1)
    with qtbot.waitSignal(panel.all_done, timeout=120_000) as done:
        qtbot.mouseClick(panel.deploy_button, Qt.LeftButton)
    (report,) = done.args[0]
    assert panel.table.rowCount() == 1
    assert panel.table.item(0, 0).text() == "onnx-int8"
    assert panel.table.item(0, 1).text() == f"{report['bytes']:,}"
    assert panel.table.item(0, 3).text().endswith(f"({report['val_top1_error_reference']:.2%})")
    bars = [item for item in panel.chart.getPlotItem().items if hasattr(item, "opts")
            and "height" in item.opts]
    assert [b.opts["height"][0] for b in bars] == [report["latency_ms_reference"],
                                                   report["latency_ms"]]
    (variant,) = workspace.list_variants(run)
    assert variant.name == "deploy onnx-int8" and variant.model.suffix == ".onnx"
    assert variant.summary["bytes_after"] == report["bytes"] == variant.model.stat().st_size
    qtbot.waitUntil(panel.deploy_button.isEnabled, timeout=10_000)


def test_targets_without_their_converter_are_greyed_with_the_install_line(panel):
    for name, box in panel.checks.items():
        absent = missing(TARGETS[name])
        assert box.isEnabled() == (not absent)
        if absent:
            assert "pip install" in box.toolTip()
