"""The Grad-CAM view: the current sample beside a heat map of what drove the chosen class (Grad-CAM
at the selected node, or Captum's attributions), with the top-5 predictions. Grad-CAM is one
forward and backward pass and is drawn at once; the slower methods run in the panel's job."""

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel

from designer.insight import render
from designer.insight.settings import METHOD

from .view import View, image_view



class AttributionView(View):
    title = "Grad-CAM"

    def __init__(self, panel):
        super().__init__(panel)
        self.add_setting(METHOD, label=False).edited.connect(lambda _: panel.refresh_views())
        self.target_box = QComboBox(toolTip="The class to explain")
        self.target_box.addItem("predicted class", None)
        self.target_box.currentIndexChanged.connect(lambda _: panel.refresh_views())
        self.options.addWidget(self.target_box)
        self.attribution_label = QLabel()
        self.attribution_label.setWordWrap(True)
        self.options.addWidget(self.attribution_label, 1)
        row = QHBoxLayout()
        self.attribution_widget = pg.GraphicsLayoutWidget()
        self.attribution_widget.setBackground(None)
        self.sample_view, self.sample_item = image_view(self.attribution_widget, 0, 0, "image")
        self.heat_view, self.heat_item = image_view(self.attribution_widget, 0, 1, "heat")
        row.addWidget(self.attribution_widget, 3)
        self.top5_label = QLabel()
        self.top5_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.top5_label.setTextFormat(Qt.RichText)
        self.top5_label.setMinimumWidth(170)
        row.addWidget(self.top5_label, 1)
        self.column.addLayout(row, 1)

    def set_classes(self, classes):
        """The classes of newly loaded weights, offered as targets."""
        self.target_box.blockSignals(True)
        self.target_box.clear()
        self.target_box.addItem("predicted class", None)
        for i, c in enumerate(classes):
            self.target_box.addItem(f"class {c}", i)
        self.target_box.blockSignals(False)

    def refresh(self):
        from designer.insight.attribution import attribute, gradcam_layer
        from designer.insight.subject import InsightError
        panel, subject = self.panel, self.panel.subject
        prediction = panel.prediction()
        display = subject.display(panel.image)
        self.sample_item.setImage(display, levels=(0, 1))
        self.sample_view.autoRange(padding=0.01)
        self.top5_label.setText("<b>top-5</b><br>" + "<br>".join(
            f"{e['label']}: {e['probability']:.1%}" for e in prediction["top5"]))
        target = self.target_box.currentData()
        target = prediction["class"] if target is None else target
        method = self.editors["method"].value()
        needs_node = method in ("gradcam", "guided_gradcam")
        tap = None
        if needs_node:
            output, tap = panel.selected_tap(self.attribution_label)
            if output is None:
                self.heat_item.clear()
                return
            try:
                gradcam_layer(subject.model, tap)
            except InsightError as error:
                self.attribution_label.setText(str(error))
                self.heat_item.clear()
                return
        key = ("attribution", method, target, tap.node if tap else None)
        full = (panel.weights_key, panel.sample_key) + key
        label = f"{METHOD.title_of(method)} for class {subject.classes[target]}" + (
            f" at {tap.node}" if tap else "")
        if full in panel.cache:
            self._draw_heat(display, panel.cache[full], label)
        elif method == "gradcam":       # one forward and backward: quick enough to draw now
            heat = panel.cached(key, lambda: attribute(subject.model, panel.image, target,
                                                       method, tap))
            self._draw_heat(display, heat, label)
        else:
            _, model = panel.subject_for_job()
            image = panel.image.clone()
            self.attribution_label.setText(f"{label}: computing…")
            self.heat_item.clear()

            def finished(heat, full=full, label=label):
                panel.cache[full] = heat
                if panel.tabs.currentWidget() is self:
                    self._draw_heat(panel.subject.display(panel.image), heat, label)
            panel.start_job("attribution", lambda progress, should_stop: attribute(
                model, image, target, method, tap), finished)

    def _draw_heat(self, display, heat, label):
        self.heat_item.setImage(render.overlay(display, heat))
        self.heat_view.autoRange(padding=0.01)
        self.attribution_label.setText(label)
