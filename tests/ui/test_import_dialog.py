"""File ▸ Import… as a person uses it: search the model zoo (counts shown, timm's counted when
chosen), import a model class from a Python file in a job, open the result laid out in columns
with its weights beside it; an unsupported model is a sentence and Stop writes nothing."""

import textwrap

import pytest
import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from shiboken6 import isValid

from designer.core import fileformat
from designer.ui.import_dialog import NAME, PARAMS, ImportDialog

MODEL = """
import time
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(*[nn.Sequential(nn.Conv2d(3 if i == 0 else 8, 8, 3,
                                                                padding=1), nn.ReLU())
                                        for i in range(8)])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class Sorted(nn.Module):
    def forward(self, x):
        return torch.cumsum(x, 1)


def slow():
    time.sleep(1.5)
    return Net()
"""


@pytest.fixture
def dialog(qtbot, tmp_path):
    widget = ImportDialog(aspect=1.6, out_root=tmp_path / "imported")
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: widget.tree.topLevelItemCount() > 0, timeout=30_000)
    yield widget
    if isValid(widget):          # an accepted dialog may be gone with the window
        widget.done(0)


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(textwrap.dedent(MODEL))
    return path


def visible(dialog):
    return [dialog.tree.topLevelItem(i) for i in range(dialog.tree.topLevelItemCount())
            if not dialog.tree.topLevelItem(i).isHidden()]


def test_the_zoo_is_searched_and_timm_models_are_counted_when_chosen(dialog, qtbot):
    QTest.keyClicks(dialog.search, "resnet18")
    rows = {item.data(NAME, Qt.UserRole): item for item in visible(dialog)}
    assert "torchvision:resnet18" in rows and all("resnet18" in s for s in rows)
    assert rows["torchvision:resnet18"].text(PARAMS) == "11.69M"   # from the weights' metadata
    timm_row = rows.get("timm:resnet18")
    assert timm_row is not None and timm_row.text(PARAMS) == ""
    rect = dialog.tree.visualItemRect(timm_row)
    QTest.mouseClick(dialog.tree.viewport(), Qt.LeftButton, Qt.NoModifier, rect.center())
    qtbot.waitUntil(lambda: timm_row.text(PARAMS) == "11.69M", timeout=30_000)


def test_the_zoo_sorts_names_naturally_and_counts_as_numbers(dialog, qtbot):
    QTest.keyClicks(dialog.search, "torchvision resnet")
    names = [item.text(NAME) for item in visible(dialog)]
    assert names[:5] == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    header = dialog.tree.header()
    x = header.sectionViewportPosition(PARAMS) + header.sectionSize(PARAMS) // 2
    QTest.mouseClick(header.viewport(), Qt.LeftButton, Qt.NoModifier,
                     QPoint(x, header.height() // 2))
    counts = [item.data(PARAMS, Qt.UserRole) for item in visible(dialog)]
    assert header.sortIndicatorSection() == PARAMS
    assert counts == sorted(counts) or counts == sorted(counts, reverse=True)
    assert {counts[0], counts[-1]} == {min(counts), max(counts)}   # 126.89M is not below 21.8M


def _choose_python(dialog, qtbot, path, name):
    dialog.tabs.setCurrentIndex(1)
    QTest.keyClicks(dialog.sources.editors["python_file"].line, str(path))
    QTest.keyClicks(dialog.sources.editors["python_name"].line, name)
    QTest.keyClicks(dialog.settings.editors["input"].line, "3x16x16")


def test_a_python_model_imports_in_a_job_and_opens_in_columns(dialog, qtbot, model_file,
                                                              window):
    _choose_python(dialog, qtbot, model_file, "Net")
    dialog.imported.connect(lambda path: window.open_design(path, ask=False))
    with qtbot.waitSignal(dialog.imported, timeout=60_000) as written:
        QTest.mouseClick(dialog.import_button, Qt.LeftButton)
        assert dialog.is_running and dialog.stop_button.isEnabled()
    design = written.args[0]
    graph = fileformat.load(design)
    weights = torch.load(design.replace(".json", ".pt"), weights_only=True)
    assert len(weights) == 18 and graph.nodes["fc"].params["out_features"] == 10
    columns = {round(node.pos[0]) for node in graph.nodes.values()}
    assert len(columns) >= 2                            # laid out for the canvas, not one column
    assert window.document.graph.name == "Net" and str(window.document.path) == design


def test_an_unsupported_model_is_a_sentence_and_writes_nothing(dialog, qtbot, model_file,
                                                               tmp_path):
    _choose_python(dialog, qtbot, model_file, "Sorted")
    QTest.mouseClick(dialog.import_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dialog.is_running, timeout=60_000)
    assert "cumsum" in dialog.status.text() and "catalogue" in dialog.status.text()
    assert not [p for p in (tmp_path / "imported").rglob("*")]      # not even its folder
    assert dialog.import_button.isEnabled()


def test_stop_ends_an_import_between_stages_and_writes_nothing(dialog, qtbot, model_file,
                                                               tmp_path):
    _choose_python(dialog, qtbot, model_file, "slow")
    QTest.mouseClick(dialog.import_button, Qt.LeftButton)
    QTest.mouseClick(dialog.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dialog.is_running, timeout=60_000)
    assert dialog.status.text() == "Stopped; nothing was written."
    assert not [p for p in (tmp_path / "imported").rglob("*")]


def test_nothing_chosen_and_a_bad_input_are_sentences(dialog):
    assert dialog.start() is False and "Choose a model" in dialog.status.text()
    dialog.tabs.setCurrentIndex(1)
    dialog.sources.editors["onnx_file"].line.setText("/nowhere/model.onnx")
    dialog.settings.editors["input"].line.setText("3x0x5")
    assert dialog.start() is False and "input" in dialog.status.text()
