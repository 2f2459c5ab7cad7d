"""The Insight panel in the real editor window, driven as a person would: choose a training run,
select nodes on the canvas, browse samples, run the heavy views in the worker, stop them, and keep
editing meanwhile."""

import numpy as np
import pytest
import torch

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from designer.insight import render  # noqa: E402
from tests.ui.conftest import dialogs, home, window  # noqa: E402,F401  (the editor fixtures)


def _open_with_weights(window, qtbot, run_dir):
    assert window.open_design("lenet5")
    panel = window.panels["insight"]
    panel.weights_box.lineEdit().clear()
    qtbot.keyClicks(panel.weights_box.lineEdit(), str(run_dir))
    qtbot.keyClick(panel.weights_box.lineEdit(), Qt.Key_Return)
    assert panel.subject is not None, panel.status.text()
    return panel


def test_the_panel_follows_the_selection_with_exact_feature_maps(window, qtbot, lenet_run):
    panel = _open_with_weights(window, qtbot, lenet_run[0])
    assert "359 validation images" in panel.status.text()
    window.scene.select_ids(["c1"])
    assert panel.node_label.text().startswith("c1: 6×28×28")
    # The grid shows exactly the layer's output for the sample, taken here with a plain hook.
    seen = {}
    handle = panel.subject.model.c1.register_forward_hook(lambda m, a, out: seen.setdefault("c1", out))
    with torch.no_grad():
        panel.subject.model(panel.image)
    handle.remove()
    output = seen["c1"][0].numpy()
    order = np.argsort(-output.reshape(6, -1).mean(1), kind="stable")
    expected = render.tile(render.normalise_maps(output[order]), render.grid_columns(6, 1.6))
    assert np.array_equal(panel.maps_item.image, expected, equal_nan=True)

    # Changing the selection redraws from the cache: no second forward pass for this sample.
    cached = len(panel.cache)
    window.scene.select_ids(["f6"])
    assert panel.activation_stack.currentIndex() == 1            # bars, not maps
    assert "84 values" in panel.node_label.text()
    window.scene.select_ids(["c1"])
    assert len(panel.cache) == cached

    # Filters: a convolution's kernels; a pooling layer says it has none.
    panel.tabs.setCurrentIndex(1)
    assert panel.filters_item.image.shape == (2 * 5 + 1, 3 * 5 + 2, 3)   # six 5×5 kernels, 3 a row
    window.scene.select_ids(["s2"])
    assert "not a convolution" in panel.filters_label.text()

    # Grad-CAM at c3 with the top-5 beside it; a vector node says why it cannot.
    panel.tabs.setCurrentIndex(2)
    window.scene.select_ids(["c3"])
    assert panel.heat_item.image.shape == (32, 32, 3)
    prediction = panel.prediction()
    assert f"{prediction['label']}: {prediction['probability']:.1%}" in panel.top5_label.text()
    window.scene.select_ids(["f6"])
    assert "spatial" in panel.attribution_label.text()

    # Browse: next image, then the next image of class 3.
    panel.tabs.setCurrentIndex(0)
    qtbot.mouseClick(panel.next_button, Qt.LeftButton)
    assert panel.index_box.value() == 1
    panel.class_box.setCurrentIndex(1 + 3)
    qtbot.mouseClick(panel.next_button, Qt.LeftButton)
    assert panel.label == 3 and "true class 3" in panel.sample_label.text()


def test_heavy_views_run_in_the_worker_stop_and_never_block_editing(window, qtbot, lenet_run):
    _, epochs = lenet_run
    panel = _open_with_weights(window, qtbot, lenet_run[0])
    panel.tabs.setCurrentIndex(3)
    qtbot.mouseClick(panel.evaluate_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "top-1 error" in panel.evaluation_label.text(), timeout=60000)
    assert f"{epochs[-1].val_top1_error:.2%}" in panel.evaluation_label.text()
    assert panel.confusion_item.image.shape == (10, 10)
    assert panel.confusion_item.image.sum() == 359
    assert len(panel.embedding_scatter.data) == 359

    # A 2-D landscape, stopped early: the editor stays usable while it runs.
    panel.tabs.setCurrentIndex(4)
    panel.steps_box.setValue(41)
    panel.batches_box.setValue(1)
    qtbot.mouseClick(panel.landscape_button, Qt.LeftButton)
    assert panel.job is not None and panel.stop_button.isEnabled()
    window.scene.select_ids(["f6"])
    window.inspector.editors["out_features"].box.setValue(80)     # an edit while it runs
    assert window.document.graph.nodes["f6"].params["out_features"] == 80
    qtbot.waitUntil(lambda: panel.progress.value() >= 2, timeout=60000)
    qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    assert panel.job is None and not panel.stop_button.isEnabled()
    # After the edit the weights no longer fit, and the panel says which layers differ.
    qtbot.waitUntil(lambda: "do not fit" in panel.status.text(), timeout=5000)
    assert "f6" in panel.status.text() and "f7" in panel.status.text()
    window.document.undo_stack.undo()
    qtbot.waitUntil(lambda: panel.subject is not None, timeout=5000)

    panel.steps_box.setValue(3)
    qtbot.mouseClick(panel.landscape_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "centre" in panel.landscape_label.text(), timeout=60000)
    assert panel.landscape_item.image.shape == (400, 400, 3)
