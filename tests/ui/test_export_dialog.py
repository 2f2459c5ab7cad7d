"""The export dialog, driven offscreen: it exports the current design, shows what it wrote and
whether TorchScript was scripted, and shows every error in the dialog instead of raising."""

import torch
from PySide6.QtCore import Qt

from designer.core.compile import compile_graph
from designer.core.presets import load_design
from designer.ui.export_dialog import ExportDialog


def _dialog(qtbot, graph):
    dialog = ExportDialog(lambda: graph)
    qtbot.addWidget(dialog)
    return dialog


def _choose(dialog, fmt):
    dialog.format_box.setCurrentIndex(dialog.format_box.findData(fmt))


def test_defaults_follow_the_design_and_format(qtbot):
    dialog = _dialog(qtbot, load_design("lenet5"))
    assert dialog.path_edit.text().endswith("lenet_5.pt")
    assert dialog.input_edit.text() == "1x32x32"
    assert not dialog.input_edit.isEnabled()  # TorchScript needs no example input
    _choose(dialog, "onnx")
    assert dialog.path_edit.text().endswith("lenet_5.onnx") and dialog.input_edit.isEnabled()


def test_export_torchscript_by_clicking(qtbot, tmp_path):
    dialog = _dialog(qtbot, load_design("lenet5"))
    dialog.path_edit.setText(str(tmp_path / "net.pt"))
    qtbot.mouseClick(dialog.export_button, Qt.LeftButton)
    assert dialog.last_result is not None
    assert dialog.result_label.text() == f"Wrote {tmp_path / 'net.pt'} (TorchScript, scripted)."
    assert torch.jit.load(str(tmp_path / "net.pt"))(torch.randn(1, 1, 32, 32)).shape == (1, 10)


def test_onnx_uses_the_input_size(qtbot, tmp_path):
    import onnx
    graph = load_design("lenet5")
    dialog = _dialog(qtbot, graph)
    _choose(dialog, "onnx")
    dialog.path_edit.setText(str(tmp_path / "net.onnx"))
    dialog.input_edit.setText("1x36x36")
    assert dialog.export() is not None
    dims = onnx.load(str(tmp_path / "net.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims[1:]] == [1, 36, 36]
    dialog.input_edit.setText("big")
    assert dialog.export() is None and "expected C×H×W" in dialog.result_label.text()


def test_weights_are_loaded_and_reported(qtbot, tmp_path):
    graph = load_design("lenet5")
    torch.save({"model": compile_graph(graph).state_dict()}, tmp_path / "ckpt.pt")
    dialog = _dialog(qtbot, graph)
    _choose(dialog, "state_dict")
    dialog.path_edit.setText(str(tmp_path / "w.pth"))
    dialog.weights_edit.setText(str(tmp_path / "ckpt.pt"))
    assert dialog.export() is not None
    assert "loaded 10 of 10 tensors" in dialog.result_label.text()


def test_errors_are_shown_not_raised(qtbot, tmp_path):
    from tests.export.designs import broken_net
    dialog = _dialog(qtbot, broken_net())
    dialog.path_edit.setText(str(tmp_path / "b.pt"))
    assert dialog.export() is None
    assert "1 error(s)" in dialog.result_label.text() and "conv:" in dialog.result_label.text()
    assert "d33f3f" in dialog.result_label.styleSheet()

    dialog = _dialog(qtbot, load_design("lenet5"))
    dialog.path_edit.setText(str(tmp_path / "missing" / "x.pt"))
    assert dialog.export() is None and "does not exist" in dialog.result_label.text()
    (tmp_path / "bad.pth").write_bytes(b"nope")
    dialog.path_edit.setText(str(tmp_path / "x.pt"))
    dialog.weights_edit.setText(str(tmp_path / "bad.pth"))
    assert dialog.export() is None and "not a PyTorch weights file" in dialog.result_label.text()
    dialog.weights_edit.setText("")
    dialog.path_edit.setText("")
    assert dialog.export() is None and dialog.result_label.text() == "Choose a file to write."
    # A failure that is not a design error is shown too.
    dialog = ExportDialog(lambda: (_ for _ in ()).throw(RuntimeError("editor closed")))
    qtbot.addWidget(dialog)
    dialog.path_edit.setText(str(tmp_path / "y.pt"))
    assert dialog.export() is None and "editor closed" in dialog.result_label.text()
