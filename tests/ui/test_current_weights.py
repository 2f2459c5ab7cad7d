"""The document's current weights, in the window: the run the Train panel just finished gives
them, the status bar names them, Export, Compress and Insight start from them without a path
typed, a Compress result opens with its own weights current, and an edited design keeps the
weights that still fit while the panels name the nodes that lost theirs."""

from pathlib import Path

import pytest
import torch
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QPushButton

from designer.core.compile import compile_graph
from designer.core.fileformat import save
from designer.core.presets import load_design
from designer.home import runs_root
from designer.ui.runs_panel import FOLDER_ROLE


def in_modal_dialog(act):
    """Run `act(dialog)` once the modal dialog about to open is shown, then close it."""
    seen = {}

    def run():
        dialog = QApplication.activeModalWidget()
        try:
            act(dialog)
        except BaseException as error:   # raised after exec returns, where pytest sees it
            seen["error"] = error
        finally:
            dialog.reject()
    QTimer.singleShot(0, run)
    return seen


def apply_compression(window, qtbot, technique):
    compress = window.panels["compress"]
    compress.editors["technique"].box.setCurrentText(technique)
    # A preview it started, and the last job's end (its thread can have stopped before its
    # finished signal re-enables Apply: a click then would be lost).
    qtbot.waitUntil(lambda: not compress.is_running and compress.apply_button.isEnabled(),
                    timeout=60_000)
    with qtbot.waitSignal(compress.result_ready, timeout=120_000) as result:
        qtbot.mouseClick(compress.apply_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not compress.is_running, timeout=30_000)
    assert "d33f3f" not in compress.status.styleSheet(), compress.status.text()
    return result.args[0]


def test_train_export_compress_twice_and_look_inside_without_typing_a_weights_path(
        window, qtbot, tmp_path):
    window.open_design("lenet5", ask=False)
    assert window.weights_label.text() == "Weights: none"
    train = window.panels["train"]
    train.editors["epochs"].box.setValue(1)
    qtbot.mouseClick(train.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: train.result is not None, timeout=120_000)
    assert train.result.status == "completed", train.result.message
    best = Path(train.result.run_dir) / "best.pt"
    assert best.is_file() and best.parent.parent == runs_root()
    assert window.context.current_weights == best
    assert window.weights_label.text() == "Weights: best.pt"
    assert window.weights_label.toolTip() == str(best)

    # Export: the run's weights are in the field; TorchScript with them gives their outputs.
    def export(dialog):
        assert dialog.weights_edit.text() == str(best)
        dialog.path_edit.selectAll()
        qtbot.keyClicks(dialog.path_edit, str(tmp_path / "lenet.pt"))
        qtbot.mouseClick(dialog.export_button, Qt.LeftButton)
        assert "loaded 10 of 10 tensors" in dialog.result_label.text(), dialog.result_label.text()
    seen = in_modal_dialog(export)
    window.act_export.trigger()
    assert "error" not in seen, seen.get("error")
    trained = compile_graph(load_design("lenet5")).eval()
    trained.load_state_dict(torch.load(best, weights_only=True)["model"])
    x = torch.randn(2, 1, 32, 32)
    exported = torch.jit.load(str(tmp_path / "lenet.pt"))
    assert torch.allclose(exported(x), trained(x), atol=1e-5)

    # Compress ▸ prune: the variant opens with its own weights current.
    compress = window.panels["compress"]
    assert compress.editors["weights"].line.text() == str(best)
    original = window.document
    apply_compression(window, qtbot, "Prune filters (L1 norm)")
    qtbot.waitUntil(lambda: window.document is not original, timeout=10_000)
    variant = window.document.path
    assert variant.name == "design.json" and window.document.graph.nodes["c3"].params[
        "out_channels"] == 8
    assert variant.parent.parent == best.parent / "variants"   # kept inside the run it came from
    assert window.context.current_weights == variant.with_suffix(".pt")
    assert compress.editors["weights"].line.text() == str(variant.with_suffix(".pt"))
    assert window.weights_label.text() == "Weights: design.pt"

    # Compress ▸ int8 dynamic, on the variant with its weights.
    report = apply_compression(window, qtbot, "Quantise int8 dynamic (FC)")
    assert report["bytes_after"] < report["bytes_before"]
    model_int8 = compress.last_result[1][0]
    assert model_int8.name == "model_int8.pt"
    assert model_int8.parent.parent == best.parent / "variants"   # a variant of that run too
    runs = window.panels["runs"]
    runs.refresh()
    assert {runs._row_of(p.parent).parent().data(FOLDER_ROLE) for p in (variant, model_int8)
            } == {str(best.parent)}
    assert torch.jit.load(str(model_int8))(x).shape == (2, 10)
    assert window.document.path == variant    # a quantised model is a file, not a design

    # Insight on the variant: its weights load, nothing to type.
    insight = window.panels["insight"]
    window.panel_docks[[d.objectName() for d in window.panel_docks].index("insight")].raise_()
    assert insight.weights_box.currentText() == str(variant.with_suffix(".pt"))
    qtbot.waitUntil(lambda: insight.subject is not None, timeout=30_000)
    assert "d33f3f" not in insight.status.styleSheet(), insight.status.text()
    assert "design.pt (loaded 10 tensors)" in insight.status.text()
    window.scene.select_ids(["c3"])
    assert insight.activations.node_label.text().startswith("c3: 8×10×10")


def test_an_edit_keeps_the_weights_that_fit_and_the_panels_name_the_rest(
        window, qtbot, lenet_run, tmp_path):
    window.open_design("lenet5", ask=False)
    best = lenet_run[0] / "best.pt"
    window.context.set_current_weights(best)
    insight = window.panels["insight"]
    qtbot.waitUntil(lambda: insight.subject is not None, timeout=30_000)
    window.scene.select_ids(["f6"])
    window.inspector.editors["out_features"].box.setValue(80)
    qtbot.waitUntil(lambda: "f6, f7 have new weights" in insight.status.text(), timeout=10_000)
    assert insight.subject is not None and "(their shapes changed)" in insight.status.text()
    assert window.context.current_weights == best
    checkpoint = torch.load(best, weights_only=True)["model"]
    assert torch.equal(insight.subject.model.c1.weight, checkpoint["c1.weight"])   # kept

    def export_twice(dialog):
        dialog.path_edit.setText(str(tmp_path / "edited.pt"))
        qtbot.mouseClick(dialog.export_button, Qt.LeftButton)
        text = dialog.result_label.text()
        assert "f6, f7 have new weights (their shapes changed)" in text and "untrained" in text
        assert dialog.last_result is None and not (tmp_path / "edited.pt").exists()
        qtbot.mouseClick(dialog.export_button, Qt.LeftButton)    # again: export as it is
        assert dialog.last_result is not None, dialog.result_label.text()
        assert "loaded 7 of 10 tensors" in dialog.result_label.text()
    seen = in_modal_dialog(export_twice)
    window.act_export.trigger()
    assert "error" not in seen, seen.get("error")
    exported = torch.jit.load(str(tmp_path / "edited.pt"))
    assert torch.equal(exported.c1.weight, checkpoint["c1.weight"])

    # Compression refuses weights that do not fit, with the sentence, as before.
    compress = window.panels["compress"]
    compress.editors["technique"].box.setCurrentText("Quantise int8 dynamic (FC)")
    qtbot.mouseClick(compress.apply_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "do not fit" in compress.status.text(), timeout=30_000)
    qtbot.waitUntil(lambda: not compress.is_running, timeout=30_000)


def test_a_design_opens_with_the_weights_saved_beside_it_and_a_typed_path_stays(
        window, qtbot, tmp_path):
    graph = load_design("lenet5")
    save(graph, tmp_path / "net.json")
    torch.save(compile_graph(graph).state_dict(), tmp_path / "net.pt")
    (tmp_path / "exported").mkdir()
    save(graph, tmp_path / "exported" / "net.json")
    torch.jit.script(compile_graph(graph)).save(str(tmp_path / "exported" / "net.pt"))
    assert window.open_design(str(tmp_path / "exported" / "net.json"), ask=False)
    assert window.context.current_weights is None     # a TorchScript export is not weights

    compress = window.panels["compress"]
    qtbot.keyClicks(compress.editors["weights"].line, str(tmp_path / "mine.pt"))
    window.context.set_current_weights(tmp_path / "other.pt")
    assert compress.editors["weights"].line.text() == str(tmp_path / "mine.pt")   # typed: kept
    assert window.open_design(str(tmp_path / "net.json"), ask=False)
    assert window.context.current_weights == tmp_path / "net.pt"
    assert compress.editors["weights"].line.text() == str(tmp_path / "net.pt")   # a new design


@pytest.mark.parametrize("where", ["export", "compress", "insight"])
def test_browsing_for_weights_starts_in_the_runs_folder(window, qtbot, monkeypatch, where):
    opened = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda parent, title, start, *rest: opened.append(start) or ("", ""))
    window.open_design("lenet5", ask=False)
    if where == "export":
        from designer.ui.export_dialog import ExportDialog
        dialog = ExportDialog(lambda: window.document.graph, window)
        qtbot.addWidget(dialog)
        button = dialog.weights_edit.parentWidget().findChild(QPushButton)
    elif where == "compress":
        button = window.panels["compress"].editors["weights"].browse_button
    else:
        button = next(b for b in window.panels["insight"].findChildren(QPushButton)
                      if b.text() == "Browse…")
    qtbot.mouseClick(button, Qt.LeftButton)
    assert opened == [str(runs_root())]
