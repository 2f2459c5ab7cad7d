"""The Insight panel in the real editor window, driven as a person would: choose a training run,
select nodes on the canvas, browse samples, run the heavy views in the panel's job, stop them, and
keep editing meanwhile, the weights that still fit loaded after each edit."""

import numpy as np
import pytest
import torch

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from designer.insight import render  # noqa: E402


def open_with_weights(window, qtbot, run_dir):
    assert window.open_design("lenet5")
    panel = window.panels["insight"]
    panel.weights_box.lineEdit().clear()
    qtbot.keyClicks(panel.weights_box.lineEdit(), str(run_dir))
    qtbot.keyClick(panel.weights_box.lineEdit(), Qt.Key_Return)
    assert panel.subject is not None, panel.status.text()
    return panel


def test_the_panel_follows_the_selection_with_exact_feature_maps(window, qtbot, lenet_run):
    panel = open_with_weights(window, qtbot, lenet_run[0])
    assert "359 validation images" in panel.status.text()
    window.scene.select_ids(["c1"])
    assert panel.activations.node_label.text().startswith("c1: 6×28×28")
    # The grid shows exactly the layer's output for the sample, taken here with a plain hook.
    seen = {}
    handle = panel.subject.model.c1.register_forward_hook(lambda m, a, out: seen.setdefault("c1", out))
    with torch.no_grad():
        panel.subject.model(panel.image)
    handle.remove()
    output = seen["c1"][0].numpy()
    order = np.argsort(-output.reshape(6, -1).mean(1), kind="stable")
    expected = render.tile(render.normalise_maps(output[order]), render.grid_columns(6, 1.6))
    assert np.array_equal(panel.activations.maps_item.image, expected, equal_nan=True)

    # Changing the selection redraws from the cache: no second forward pass for this sample.
    cached = len(panel.cache)
    window.scene.select_ids(["f6"])
    assert panel.activations.activation_stack.currentIndex() == 1            # bars, not maps
    assert "84 values" in panel.activations.node_label.text()
    window.scene.select_ids(["c1"])
    assert len(panel.cache) == cached

    # Filters: a convolution's kernels; a pooling layer says it has none.
    panel.tabs.setCurrentIndex(1)
    assert panel.filters.filters_item.image.shape == (2 * 5 + 1, 3 * 5 + 2, 3)   # six 5×5 kernels, 3 a row
    window.scene.select_ids(["s2"])
    assert "not a convolution" in panel.filters.filters_label.text()

    # Grad-CAM at c3 with the top-5 beside it; a vector node says why it cannot.
    panel.tabs.setCurrentIndex(2)
    window.scene.select_ids(["c3"])
    assert panel.attribution.heat_item.image.shape == (32, 32, 3)
    prediction = panel.prediction()
    assert f"{prediction['label']}: {prediction['probability']:.1%}" in panel.attribution.top5_label.text()
    window.scene.select_ids(["f6"])
    assert "spatial" in panel.attribution.attribution_label.text()

    # Browse: next image, then the next image of class 3.
    panel.tabs.setCurrentIndex(0)
    qtbot.mouseClick(panel.next_button, Qt.LeftButton)
    assert panel.index_box.value() == 1
    panel.class_box.setCurrentIndex(1 + 3)
    qtbot.mouseClick(panel.next_button, Qt.LeftButton)
    assert panel.label == 3 and "true class 3" in panel.sample_label.text()


def test_an_image_dropped_on_the_panel_is_shown_through_the_evaluation_transform(
        window, qtbot, lenet_run, tmp_path):
    from PIL import Image
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent
    panel = open_with_weights(window, qtbot, lenet_run[0])
    window.scene.select_ids(["c1"])
    path = tmp_path / "drawn.png"
    picture = Image.new("RGB", (50, 40))
    picture.paste((255, 255, 255), (20, 5, 30, 35))
    picture.save(path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    panel.dropEvent(drop)
    assert torch.equal(panel.image, panel.subject.prepare(path))
    assert panel.image.shape == (1, 1, 32, 32) and panel.label is None
    assert panel.sample_label.text().startswith("drawn.png · predicted")
    assert panel.activations.node_label.text().startswith("c1: 6×28×28")
    (tmp_path / "bad.png").write_text("no picture here")
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "bad.png"))])
    panel.dropEvent(QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    assert "not an image" in panel.status.text()
    assert torch.equal(panel.image, panel.subject.prepare(path))   # the last good image stays


def test_heavy_views_run_in_a_job_stop_and_never_block_editing(window, qtbot, lenet_run):
    _, epochs = lenet_run
    panel = open_with_weights(window, qtbot, lenet_run[0])
    panel.tabs.setCurrentIndex(3)
    qtbot.mouseClick(panel.evaluation.evaluate_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "top-1 error" in panel.evaluation.evaluation_label.text(), timeout=60000)
    assert f"{epochs[-1].val_top1_error:.2%}" in panel.evaluation.evaluation_label.text()
    assert panel.evaluation.confusion_item.image.shape == (10, 10)
    assert panel.evaluation.confusion_item.image.sum() == 359
    assert len(panel.evaluation.embedding_scatter.data) == 359
    pca = panel.evaluation.embedding_scatter.getData()[0].copy()
    box = panel.evaluation.editors["embedding"].box
    box.setCurrentIndex(box.findData("tsne"))                 # t-SNE runs in a job
    qtbot.waitUntil(lambda: panel.job is None, timeout=60000)
    assert len(panel.evaluation.embedding_scatter.data) == 359
    assert not np.allclose(panel.evaluation.embedding_scatter.getData()[0], pca)

    # A 2-D landscape, stopped early: the editor stays usable while it runs.
    panel.tabs.setCurrentIndex(4)
    panel.landscape.editors["steps"].box.setValue(41)
    panel.landscape.editors["batches"].box.setValue(1)
    qtbot.mouseClick(panel.landscape.landscape_button, Qt.LeftButton)
    assert panel.job is not None and panel.stop_button.isEnabled()
    qtbot.wait(50)     # the evaluation job's late `finished` must not touch the new job
    assert panel.stop_button.isEnabled()
    window.scene.select_ids(["f6"])
    window.inspector.editors["out_features"].box.setValue(80)     # an edit while it runs
    assert window.document.graph.nodes["f6"].params["out_features"] == 80
    qtbot.waitUntil(lambda: panel.progress.value() >= 2, timeout=60000)
    qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    assert panel.job is None and not panel.stop_button.isEnabled()
    # After the edit the weights fit all but f6 and f7: the design shows with the weights that
    # still fit, and the panel names the nodes that lost theirs.
    qtbot.waitUntil(lambda: "f6, f7 have new weights (their shapes changed)"
                    in panel.status.text(), timeout=5000)
    assert panel.subject is not None and panel.subject.model.f6.out_features == 80
    window.document.undo_stack.undo()
    qtbot.waitUntil(lambda: "new weights" not in panel.status.text(), timeout=5000)
    assert panel.subject.model.f6.out_features == 84

    panel.landscape.editors["steps"].box.setValue(3)
    qtbot.mouseClick(panel.landscape.landscape_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "centre" in panel.landscape.landscape_label.text(), timeout=60000)
    assert panel.landscape.landscape_item.image.shape == (400, 400, 3)


def test_the_panel_follows_a_checkpoint_rewritten_by_a_running_training(
        window, qtbot, lenet_run, tmp_path):
    import os
    checkpoint = torch.load(lenet_run[0] / "last.pt", weights_only=True)
    path = tmp_path / "last.pt"
    torch.save(checkpoint, path)
    panel = open_with_weights(window, qtbot, path)
    window.scene.select_ids(["f7"])
    before = panel.node_outputs()[0]["f7"].clone()
    # The next "epoch": every class score shifts by 5 (written atomically, as training does).
    checkpoint["model"]["f7.bias"] = checkpoint["model"]["f7.bias"] + 5
    torch.save(checkpoint, tmp_path / "next.pt")
    os.replace(tmp_path / "next.pt", path)
    qtbot.waitUntil(lambda: torch.allclose(panel.subject.model.f7.bias,
                                           checkpoint["model"]["f7.bias"]), timeout=10000)
    assert torch.allclose(panel.node_outputs()[0]["f7"], before + 5, atol=1e-5)
