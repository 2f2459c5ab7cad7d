"""The Landscape view, on request: the loss around the chosen weights, as a 2-D surface over two
filter-normalised random directions or a 1-D line from the initial weights or another
checkpoint. It is computed in the panel's job, with progress and Stop; a stopped surface shows
what was computed."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QPushButton, QStackedWidget

from designer.insight import render
from designer.insight.settings import LANDSCAPE_STEPS, SETTINGS

from .view import View, image_view

# `designer inspect --steps`, always set here: its odd values put a point at the centre.
STEPS = replace(SETTINGS["steps"], optional=False, default=LANDSCAPE_STEPS["2d"], step=2)


class LandscapeView(View):
    title = "Landscape"

    def __init__(self, panel):
        super().__init__(panel)
        self.landscape_kind = QComboBox()
        self.landscape_kind.addItem("2-D, filter-normalised random directions", "2d")
        self.landscape_kind.addItem("1-D, from the initial weights", "1d")
        self.landscape_kind.addItem("1-D, from another checkpoint…", "1d-from")
        self.landscape_kind.activated.connect(self._on_kind)
        self.landscape_start = None      # the other checkpoint of a 1-D line
        self.options.addWidget(self.landscape_kind)
        self.add_setting(STEPS)
        self.add_setting(SETTINGS["batches"])
        self.landscape_button = QPushButton("Compute")
        self.landscape_button.clicked.connect(self.start)
        self.options.addWidget(self.landscape_button)
        self.landscape_label = QLabel()
        self.options.addWidget(self.landscape_label, 1)
        self.landscape_stack = QStackedWidget()
        self.landscape_widget = pg.GraphicsLayoutWidget()
        self.landscape_widget.setBackground(None)
        self.landscape_view, self.landscape_item = image_view(self.landscape_widget)
        self.landscape_stack.addWidget(self.landscape_widget)
        self.line_plot = pg.PlotWidget()
        self.line_plot.setBackground(None)
        self.line_plot.setLabel("bottom", "α  (0: the start, 1: these weights)")
        self.line_plot.setLabel("left", "loss")
        self.line_curve = self.line_plot.plot([], [], pen=pg.mkPen("#4e79a7", width=2))
        self.landscape_stack.addWidget(self.line_plot)
        self.column.addWidget(self.landscape_stack, 1)

    def _on_kind(self, index):
        if self.landscape_kind.itemData(index) != "1d-from":
            return
        path, _ = QFileDialog.getOpenFileName(self, "Start of the line",
                                              self.panel.weights_box.currentText(),
                                              "PyTorch weights (*.pt *.pth);;All files (*)")
        if path:
            self.landscape_start = path
            self.landscape_kind.setItemText(index, f"1-D, from {Path(path).name}")
        elif self.landscape_start is None:
            self.landscape_kind.setCurrentIndex(0)

    def start(self):
        from designer.insight import landscape
        panel = self.panel
        subject, model = panel.subject_for_job()
        if subject is None:
            return
        kind, steps, batches = (self.landscape_kind.currentData(), self.editors["steps"].value(),
                                self.editors["batches"].value())
        start_file = self.landscape_start if kind == "1d-from" else None

        def work(progress, should_stop):
            from designer.weights import read_state_dict
            data = landscape.fixed_batches(subject.dataset, batches)
            state = model.state_dict()
            if kind != "2d":
                start = (read_state_dict(start_file) if start_file else
                         landscape.initial_state(subject.graph, subject.config.seed))
                return landscape.interpolate(model, start, state, data, steps, progress=progress,
                                             should_stop=should_stop)
            return landscape.surface(model, state, data, steps, progress=progress,
                                     should_stop=should_stop)
        self.landscape_label.setText("computing…")
        panel.start_job("landscape", work, self.draw)

    def draw(self, surface):
        state = "" if surface.complete else " (stopped: the grey part was not computed)"
        if surface.kind == "2d":
            self.landscape_item.setImage(render.contour_image(surface.losses, 400))
            self.landscape_view.autoRange(padding=0.01)
            self.landscape_stack.setCurrentIndex(0)
            finite = surface.losses[np.isfinite(surface.losses)]
            self.landscape_label.setText(
                f"loss {finite.min():.3g} to {finite.max():.3g} (log colours, white contours); "
                f"centre {surface.centre:.4g}{state}")
        else:
            self.line_curve.setData(surface.xs, surface.losses, connect="finite")
            self.line_plot.autoRange()
            self.landscape_stack.setCurrentIndex(1)
            self.landscape_label.setText(f"loss at these weights {surface.centre:.4g}{state}")
