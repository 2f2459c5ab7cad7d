"""The Evaluation view, on request: the validation set's confusion matrix, per-class error, the
most confidently wrong images and a 2-D map (PCA, or t-SNE in the panel's job) of the features the
last layer sees. The evaluation runs in the panel's job, with progress and Stop."""

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QCheckBox, QLabel, QPushButton

from designer.insight import render
from designer.insight.settings import SETTINGS

from .view import View

# The map always shows one of the embeddings `designer inspect --embedding` offers.
EMBEDDING = replace(SETTINGS["embedding"], optional=False, default="pca")


class EvaluationView(View):
    title = "Evaluation"

    def __init__(self, panel):
        super().__init__(panel)
        self.evaluate_button = QPushButton("Evaluate validation set")
        self.evaluate_button.clicked.connect(self.start)
        self.options.addWidget(self.evaluate_button)
        self.normalised_box = QCheckBox("Row-normalised")
        self.normalised_box.toggled.connect(lambda _: self.refresh())
        self.options.addWidget(self.normalised_box)
        self.add_setting(EMBEDDING).edited.connect(lambda _: self.refresh())
        self.evaluation_label = QLabel()
        self.evaluation_label.setWordWrap(True)
        self.options.addWidget(self.evaluation_label, 1)
        # Confusion on the left (tall), per-class error over the wrong gallery in the middle, the
        # feature map on the right.
        self.evaluation_widget = pg.GraphicsLayoutWidget()
        self.evaluation_widget.setBackground(None)
        grid = self.evaluation_widget
        grid.addLabel("confusion (rows true, columns predicted)", row=0, col=0)
        self.confusion_view = grid.addViewBox(row=1, col=0, rowspan=3, lockAspect=True,
                                              invertY=True)
        self.confusion_view.setMenuEnabled(False)
        self.confusion_item = pg.ImageItem(axisOrder="row-major")
        self.confusion_view.addItem(self.confusion_item)
        self.confusion_item.setLookupTable(render.lookup_table("viridis"))
        self.confusion_texts = []
        grid.addLabel("per-class error (%)", row=0, col=1)
        self.class_error_plot = grid.addPlot(row=1, col=1)
        self.class_error_bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush="#e15759")
        self.class_error_plot.addItem(self.class_error_bars)
        grid.addLabel("most confidently wrong", row=2, col=1)
        self.wrong_view = grid.addViewBox(row=3, col=1, lockAspect=True, invertY=True)
        self.wrong_view.setMenuEnabled(False)
        self.wrong_item = pg.ImageItem(axisOrder="row-major")
        self.wrong_view.addItem(self.wrong_item)
        grid.addLabel("last layer's input features, by true class", row=0, col=2)
        self.embedding_plot = grid.addPlot(row=1, col=2, rowspan=3)
        self.embedding_scatter = pg.ScatterPlotItem(size=5, pen=None)
        self.embedding_plot.addItem(self.embedding_scatter)
        for column, stretch in enumerate((4, 3, 4)):
            grid.ci.layout.setColumnStretchFactor(column, stretch)
        self.column.addWidget(self.evaluation_widget, 1)
        self.wrong_label = QLabel()
        self.wrong_label.setWordWrap(True)
        self.column.addWidget(self.wrong_label)

    def _key(self):
        return (self.panel.weights_key, "evaluation")

    def start(self):
        from designer.insight.evaluation import embed, evaluate
        panel = self.panel
        subject, model = panel.subject_for_job()
        if subject is None:
            return
        method, key = self.editors["embedding"].value(), self._key()

        def work(progress, should_stop):
            result = evaluate(model, subject.dataset, subject.classes, subject.data.eval_crops,
                              progress=progress, should_stop=should_stop)
            points = embed(result.features, method) if result.complete else None
            return result, {method: points}

        def finished(value):
            panel.cache[key] = value
            self.refresh()
        self.evaluation_label.setText("evaluating…")
        panel.start_job("evaluation", work, finished)

    def refresh(self):
        """Draw the evaluation of these weights, if there is one."""
        from designer.insight.evaluation import embed
        panel = self.panel
        if self._key() not in panel.cache:
            return
        result, points = panel.cache[self._key()]
        counts = result.confusion().numpy()
        values = counts / np.maximum(counts.sum(1, keepdims=True), 1) \
            if self.normalised_box.isChecked() else counts
        self.confusion_item.setImage(values.astype(np.float64), levels=(0, max(values.max(), 1e-9)))
        for item in self.confusion_texts:
            self.confusion_view.removeItem(item)
        self.confusion_texts = []
        k = len(counts)
        if k <= 20:
            for r in range(k):
                for c in range(k):
                    if counts[r, c]:
                        text = (f"{values[r, c]:.2f}" if self.normalised_box.isChecked()
                                else str(counts[r, c]))
                        bright = values[r, c] > 0.6 * values.max()
                        item = pg.TextItem(text, color="#111" if bright else "#eee", anchor=(0.5, 0.5))
                        item.setPos(c + 0.5, r + 0.5)
                        self.confusion_view.addItem(item)
                        self.confusion_texts.append(item)
        self.confusion_view.autoRange(padding=0.02)
        errors = np.nan_to_num(np.array(result.per_class_error()))
        self.class_error_bars.setOpts(x=np.arange(k), height=errors * 100, width=0.7)
        self.class_error_plot.setLabel("left", "error %")
        self.class_error_plot.autoRange()
        method = self.editors["embedding"].value()
        if result.complete and points.get(method) is None and result.features is not None:
            if method == "pca":
                points[method] = embed(result.features, "pca")
            elif not (panel.job is not None and panel.job_kind == "embedding"):
                features = result.features   # t-SNE takes seconds: in the job

                def finished(coordinates, points=points):
                    points["tsne"] = coordinates
                    self.refresh()
                panel.start_job("embedding", lambda progress, should_stop: embed(features, "tsne"),
                                finished)
        coordinates = points.get(method)
        if coordinates is not None:
            colours = [pg.mkBrush(render.CLASS_COLOURS[int(label) % len(render.CLASS_COLOURS)])
                       for label in result.labels]
            self.embedding_scatter.setData(pos=coordinates, brush=colours)
            self.embedding_plot.autoRange()
        wrong = result.most_confidently_wrong(12)
        subject = panel.subject
        if wrong:
            images = [subject.display(subject.sample(w["index"])[0]) for w in wrong]
            images = np.stack([np.repeat(i[:, :, None], 3, 2) if i.ndim == 2 else i for i in images])
            self.wrong_item.setImage((render.tile(images, 6, pad=2, fill=1.0) * 255).astype(np.uint8))
            self.wrong_view.autoRange(padding=0.01)
        classes = subject.classes
        self.wrong_label.setText("most confidently wrong (true → predicted): " + ", ".join(
            f"{classes[w['label']]}→{classes[w['predicted']]} {w['probability']:.0%}" for w in wrong))
        state = "" if result.complete else " (stopped early: a part of the set)"
        self.evaluation_label.setText(f"{result.size} images{state}: top-1 error "
                                      f"{result.top1_error:.2%}")
