"""The Insight panel's Landscape view: a 1-D line of the loss from the initial weights, or from
another checkpoint chosen in a file dialog, computed in the panel's job."""

import numpy as np
import torch
from PySide6.QtCore import Qt

from .test_panel import open_with_weights


def test_a_1d_line_from_another_checkpoint(window, qtbot, lenet_run, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog
    from designer.insight.landscape import initial_state
    panel = open_with_weights(window, qtbot, lenet_run[0])
    panel.tabs.setCurrentIndex(4)
    panel.landscape.editors["steps"].box.setValue(5)
    panel.landscape.editors["batches"].box.setValue(1)
    curves = []
    for kind in ("1d", "1d-from"):
        if kind == "1d-from":
            # The start chosen in the file dialog: the initial weights, saved to a file.
            start = tmp_path / "initial.pt"
            torch.save(initial_state(panel.subject.graph, panel.subject.config.seed), start)
            monkeypatch.setattr(QFileDialog, "getOpenFileName",
                                staticmethod(lambda *args, **kwargs: (str(start), "")))
        index = panel.landscape.landscape_kind.findData(kind)
        panel.landscape.landscape_kind.setCurrentIndex(index)
        panel.landscape.landscape_kind.activated.emit(index)
        panel.landscape.landscape_label.clear()
        qtbot.mouseClick(panel.landscape.landscape_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: "loss at these weights" in panel.landscape.landscape_label.text(),
                        timeout=60000)
        curves.append(panel.landscape.line_curve.yData.copy())
    assert "initial.pt" in panel.landscape.landscape_kind.currentText()
    assert np.allclose(curves[0], curves[1])
    assert curves[0][1] > curves[0][3]        # α = 0 (start) above α = 1 (trained)
