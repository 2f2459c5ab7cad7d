"""The Data panel driven like a user: choose an image folder, see its counts, click a class's
bar and a sample, change an augmentation setting and see the preview drawn again; the choice
is the document's, read by the Train, Compress, Insight and Experiments panels."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from designer.core.errors import DesignError
from designer.data.choice import DataChoice
from designer.ui.data_panel import DataPanel
from designer.ui.document import Document
from designer.ui.panel_registry import PanelContext


def _folder(root):
    """Three classes of 8×8 images (grey), class b with 6, one corrupt file in c."""
    rng = np.random.default_rng(0)
    for name, count in (("a", 10), ("b", 6), ("c", 10)):
        for i in range(count):
            (root / name).mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8), "L").save(
                root / name / f"{name}{i}.png")
    (root / "c" / "broken.png").write_bytes(b"garbage")
    return root


@pytest.fixture
def context(tiny_net):
    context = PanelContext()
    context.set_document(Document(tiny_net))
    return context


@pytest.fixture
def panel(qtbot, context):
    widget = DataPanel(context)
    qtbot.addWidget(widget)
    widget.resize(1300, 520)
    widget.show()
    yield widget
    widget.shutdown()


def _choose_folder(panel, qtbot, folder):
    with qtbot.waitSignal(panel.context.data_changed, timeout=5_000):
        panel.editors["dataset"].box.setCurrentIndex(
            panel.editors["dataset"].box.findData("imagefolder"))
    line = panel.editors["data_dir"].line
    line.setText(str(folder))
    qtbot.waitUntil(lambda: panel.scan_job is None, timeout=10_000)
    with qtbot.waitSignal(panel.context.data_changed, timeout=5_000):
        line.editingFinished.emit()
    qtbot.waitUntil(lambda: panel.report is not None and panel.report.root == folder
                    and panel.scan_job is None, timeout=20_000)
    qtbot.waitUntil(lambda: panel.preview_job is None and panel.grid.count() > 0, timeout=20_000)


def test_folder_counts_class_click_sample_click(panel, qtbot, tmp_path):
    folder = _folder(tmp_path / "pics")
    _choose_folder(panel, qtbot, folder)
    assert panel.context.data_choice.same_data(DataChoice("imagefolder", str(folder), 0.2))
    counts = panel.report.counts()
    assert sum(counts["train"].values()) + sum(counts["val"].values()) == 27
    assert "3 classes" in panel.status.text()
    kinds = [panel.problems.topLevelItem(i).text(0).split(":")[0]
             for i in range(panel.problems.topLevelItemCount())]
    assert "unreadable" in kinds and "tiny_class" in kinds
    unreadable = panel.problems.topLevelItem(kinds.index("unreadable"))
    assert unreadable.child(0).text(0) == str(folder / "c" / "broken.png")

    # a click on class b's bars shows its samples
    vb = panel.chart.plotItem.vb
    scene_point = vb.mapViewToScene(QPointF(1, 1))
    point = panel.chart.mapFromScene(scene_point)
    qtbot.mouseClick(panel.chart.viewport(), Qt.LeftButton, pos=point)
    qtbot.waitUntil(lambda: panel.label == 1 and panel.preview_job is None, timeout=10_000)
    assert panel.grid_title.text().startswith("Class b")
    files = {panel.grid.item(i).data(Qt.UserRole)[0].path.name for i in range(panel.grid.count())}
    assert files and all(name.startswith("b") for name in files)

    # a click on a sample enlarges it with its file name and size
    entry = panel.grid.item(2)
    qtbot.mouseClick(panel.grid.viewport(), Qt.LeftButton,
                     pos=panel.grid.visualItemRect(entry).center())
    item = entry.data(Qt.UserRole)[0]
    assert str(item.path) in panel.enlarged_text.text() and "8×8" in panel.enlarged_text.text()
    assert not panel.enlarged.pixmap().isNull()


def test_augmentation_setting_redraws_the_preview(panel, qtbot, tmp_path):
    folder = _folder(tmp_path / "pics")
    _choose_folder(panel, qtbot, folder)
    flip, crop = panel.editors["flip"].box, panel.editors["crop"].box
    flip.setCurrentIndex(flip.findData(False))     # auto flips an image folder: off for now
    crop.setCurrentIndex(crop.findData("none"))
    qtbot.waitUntil(lambda: panel.preview_job is None and not panel.preview_timer.isActive(),
                    timeout=10_000)
    qtbot.wait(50)
    qtbot.waitUntil(lambda: panel.preview_job is None, timeout=10_000)
    samples = [panel.grid.item(i).data(Qt.UserRole)[1] for i in range(panel.grid.count())]
    plain = [a.copy() for a in panel.augmented_images]
    # no crop, no flip: the design's 8×8 input sees the images as stored
    assert all(np.array_equal(a, s) for a, s in zip(plain, samples))
    flip.setCurrentIndex(flip.findData(True))
    qtbot.waitUntil(lambda: panel.preview_timer.isActive() or panel.preview_job is not None,
                    timeout=5_000)
    qtbot.waitUntil(lambda: panel.preview_job is None and not panel.preview_timer.isActive()
                    and any(not np.array_equal(a, p) for a, p in
                            zip(panel.augmented_images, plain)), timeout=10_000)
    flipped = panel.augmented_images
    assert all(np.array_equal(a, s) or np.array_equal(a, s[:, ::-1])
               for a, s in zip(flipped, samples))
    # The augmentation is the document's: part of its data choice, and no reason to read the
    # images again.
    assert dict(panel.context.data_choice.augment)["flip"] is True and panel.scan_job is None
    assert panel.context.data_choice.same_data(DataChoice("imagefolder", str(folder), 0.2))


def test_one_choice_for_train_compress_insight_and_sweep(qtbot, context, tmp_path, monkeypatch):
    from designer.ui.compress_panel import CompressPanel
    from designer.ui.experiments_panel import ExperimentsPanel
    from designer.ui.insight.panel import InsightPanel
    from designer.ui.train_panel import TrainPanel
    train, compress = TrainPanel(context, runs_dir=tmp_path / "runs"), CompressPanel(context)
    for widget in (train, compress):
        qtbot.addWidget(widget)
    choice = DataChoice("imagefolder", str(tmp_path / "pics"), 0.3)
    context.set_data_choice(choice)
    assert train.config().dataset == "imagefolder" and train.config().val_fraction == 0.3
    assert train.config().data_dir == str(tmp_path / "pics")
    assert (compress.options()["dataset"], compress.options()["data_dir"]) == (
        "imagefolder", str(tmp_path / "pics"))
    # editing the Train panel's Dataset row is choosing for the document: Compress follows
    box = train.editors["dataset"].box
    box.setCurrentIndex(box.findData("mnist"))
    assert context.data_choice.dataset == "mnist" and compress.options()["dataset"] == "mnist"
    # ...and so is its Flip row: the Data panel previews what Train will do
    flip = train.editors["flip"].box
    flip.setCurrentIndex(flip.findData(False))
    assert context.data_choice.settings()["flip"] is False
    data = DataPanel(context)
    qtbot.addWidget(data)
    assert data.editors["flip"].value() is False

    seen = {}

    def fake_load_subject(graph, weights, partial=False, **data):
        seen.update(data)
        raise DesignError("stop here")
    monkeypatch.setattr("designer.insight.subject.load_subject", fake_load_subject)
    insight = InsightPanel(context)
    qtbot.addWidget(insight)
    insight.set_weights(tmp_path / "w.pt")
    assert seen == {"dataset": "mnist", "data_dir": str(tmp_path / "pics")}

    started = {}
    monkeypatch.setattr("designer.ui.experiments_panel.sweeping",
                        lambda settings, control: started.update(settings))
    sweep = ExperimentsPanel(context)
    qtbot.addWidget(sweep)
    sweep.editors["out"].set_value(str(tmp_path / "sweep"))
    sweep.fixed_edit.setText("epochs=1")
    assert sweep.start()
    qtbot.waitUntil(lambda: bool(started), timeout=10_000)
    assert started["train_settings"] == {**dict(context.data_choice.augment), "dataset": "mnist",
                                         "data_dir": str(tmp_path / "pics"),
                                         "val_fraction": 0.3, "epochs": 1, "flip": False}
    qtbot.waitUntil(lambda: sweep.job is None or not sweep.job.isRunning(), timeout=10_000)


def test_a_new_document_keeps_the_choice(context, tiny_net):
    context.set_data_choice(DataChoice("cifar10"))
    context.set_document(Document(tiny_net))
    assert context.data_choice == DataChoice("cifar10")


def test_an_edit_of_the_input_rechecks_the_channels(panel, qtbot, tmp_path, context):
    """Grey images and the tiny net's 1-channel input agree; made RGB, the design's input no
    longer matches them and the problems list says so."""
    _choose_folder(panel, qtbot, _folder(tmp_path / "pics"))
    assert "channels" not in {p.kind for p in panel.report.problems}
    from designer.core.commands import SetParams
    graph = context.graph
    input_id = next(n.id for n in graph.nodes.values() if n.params.get("shape"))
    context.document.push(SetParams(graph, input_id, shape=(3, 8, 8)))
    qtbot.waitUntil(lambda: panel.report.input_shape == (3, 8, 8), timeout=5_000)
    assert "channels" in {p.kind for p in panel.report.problems}
    assert any(panel.problems.topLevelItem(i).text(0).startswith("channels")
               for i in range(panel.problems.topLevelItemCount()))
