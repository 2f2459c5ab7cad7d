"""The Insight panel: what the selected node of a trained design sees.

It follows the canvas selection. For the chosen weights (a training run of this design, or any
checkpoint) and the current sample image (a validation image, browsed with the arrows or by class,
or an image file dropped on the panel), it shows the selected node's output as a grid of channel
maps with per-channel statistics, a convolution's filters, Grad-CAM (or Captum's attributions) with
the top-5 predictions, and, on request, the confusion matrix, per-class error, the most confidently
wrong images, a 2-D map of the features and the loss landscape.

All computing is `designer.insight`'s. Node outputs for a sample are captured in one forward pass
and cached per sample and weights, so changing the selection only redraws. Evaluation, embeddings,
landscapes and the slower attributions run in an `InsightJob` thread on a copy of the model, with
progress and Stop; the editor stays usable meanwhile. The design is reloaded (debounced) after
edits; weights that stop fitting say which layers differ.
"""

import copy
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QFileSystemWatcher, QThread, Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel,
                               QProgressBar, QPushButton, QSpinBox, QStackedWidget, QTabWidget,
                               QToolButton, QVBoxLayout, QWidget)

from designer.core.errors import DesignError
from designer.insight import render

ERROR_STYLE = "color: #d33f3f;"
RELOAD_DELAY_MS = 400
GRID_LIMIT = 64          # channel maps shown at most
TILE_LABELS = 32         # channel numbers drawn on grids up to this many maps
METHOD_TITLES = {"gradcam": "Grad-CAM", "guided_backprop": "Guided backprop",
                 "guided_gradcam": "Guided Grad-CAM", "occlusion": "Occlusion",
                 "integrated_gradients": "Integrated gradients", "smoothgrad": "SmoothGrad"}


class InsightJob(QThread):
    """Runs `work(progress, should_stop)` off the GUI thread; the GUI only receives signals."""
    progress = Signal(int, int)
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, work, parent=None):
        super().__init__(parent)
        self.work = work
        self._stop = False

    def stop(self):
        self._stop = True

    def run(self):
        try:
            result = self.work(lambda done, total: self.progress.emit(done, total),
                               lambda: self._stop)
        except DesignError as error:
            self.failed.emit(str(error))
        except Exception as error:  # noqa: BLE001 - shown as a sentence, never a crash
            self.failed.emit(f"{type(error).__name__}: {error}")
        else:
            self.done.emit(result)


def _lut(name):
    return render.lookup_table(name)


def _image_view(widget, row=0, column=0, title=None):
    """A ViewBox with one ImageItem, y down, aspect locked, in a GraphicsLayoutWidget."""
    if title:
        widget.addLabel(title, row=row * 2, col=column)
    view = widget.addViewBox(row=row * 2 + 1, col=column, lockAspect=True, invertY=True)
    view.setMenuEnabled(False)
    item = pg.ImageItem(axisOrder="row-major")
    view.addItem(item)
    return view, item


class InsightPanel(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.subject = None          # designer.insight.subject.Subject for the chosen weights
        self.subject_error = None
        self.weights_key = None      # (path, mtime, graph version): what caches are keyed on
        self.image = None            # the current sample (1, C, H, W) and its true label or None
        self.label = None
        self.sample_key = None
        self.cache = {}              # (weights, sample, what...) -> result
        self.node = None
        self.job = None
        self.job_kind = None
        self.graph = None
        self.setAcceptDrops(True)
        self._build()
        self.reload_timer = QTimer(self, singleShot=True, interval=RELOAD_DELAY_MS)
        self.reload_timer.timeout.connect(self.load_weights)
        # A run still training rewrites its checkpoint every epoch: follow it. New runs appear
        # in the runs folder: list them.
        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(lambda _: self.reload_timer.start())
        self.watcher.directoryChanged.connect(lambda _: self.refresh_runs())
        context.document_changed.connect(self._on_document)
        context.selection_changed.connect(self._on_selection)
        if context.document is not None:
            self._on_document(context.document)

    # -- layout ----------------------------------------------------------------------------------
    def _build(self):
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        top.addWidget(QLabel("Weights"))
        self.weights_box = QComboBox(editable=True)
        self.weights_box.setMinimumContentsLength(28)
        self.weights_box.setToolTip("A training run of this design (its best.pt) or any checkpoint "
                                    "or state_dict file")
        self.weights_box.activated.connect(lambda _: self.load_weights())
        self.weights_box.lineEdit().returnPressed.connect(self.load_weights)
        top.addWidget(self.weights_box, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse_weights)
        top.addWidget(browse)
        refresh = QToolButton(text="↻", toolTip="List this design's training runs again")
        refresh.clicked.connect(self.refresh_runs)
        top.addWidget(refresh)
        layout.addLayout(top)

        sample = QHBoxLayout()
        self.prev_button = QToolButton(text="◀", toolTip="Previous image (of the chosen class)")
        self.next_button = QToolButton(text="▶", toolTip="Next image (of the chosen class)")
        self.prev_button.clicked.connect(lambda: self.step_sample(-1))
        self.next_button.clicked.connect(lambda: self.step_sample(1))
        self.index_box = QSpinBox(minimum=0, maximum=0, toolTip="Validation image")
        self.index_box.valueChanged.connect(self._on_index)
        self.class_box = QComboBox(toolTip="Browse the images of one class")
        self.class_box.addItem("any class")
        open_image = QPushButton("Open image…", toolTip="Or drop an image file on this panel")
        open_image.clicked.connect(self.open_image)
        for widget in (self.prev_button, self.index_box, self.next_button, self.class_box,
                       open_image):
            sample.addWidget(widget)
        self.sample_label = QLabel()
        sample.addWidget(self.sample_label, 1)
        layout.addLayout(sample)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._activations_tab(), "Activations")
        self.tabs.addTab(self._filters_tab(), "Filters")
        self.tabs.addTab(self._attribution_tab(), "Grad-CAM")
        self.tabs.addTab(self._evaluation_tab(), "Evaluation")
        self.tabs.addTab(self._landscape_tab(), "Landscape")
        self.tabs.currentChanged.connect(lambda _: self.refresh_views())
        layout.addWidget(self.tabs, 1)

        bottom = QHBoxLayout()
        self.status = QLabel("Choose weights: a training run of this design or a checkpoint.")
        self.status.setWordWrap(True)
        bottom.addWidget(self.status, 1)
        self.progress = QProgressBar(maximumWidth=180, textVisible=True)
        self.progress.hide()
        bottom.addWidget(self.progress)
        self.stop_button = QPushButton("Stop", toolTip="Stop the computation running")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_job)
        bottom.addWidget(self.stop_button)
        layout.addLayout(bottom)

    def _activations_tab(self):
        tab = QWidget()
        layout = QVBoxLayout(tab)
        options = QHBoxLayout()
        self.node_label = QLabel("Select a node on the canvas.")
        options.addWidget(self.node_label, 1)
        self.per_map_box = QCheckBox("Scale each map")
        self.per_map_box.setToolTip("Off: one colour scale for all maps; on: each map scaled alone")
        self.per_map_box.toggled.connect(lambda _: self.refresh_views())
        options.addWidget(self.per_map_box)
        layout.addLayout(options)
        self.activation_stack = QStackedWidget()
        self.maps_widget = pg.GraphicsLayoutWidget()
        self.maps_widget.setBackground(None)
        self.maps_view, self.maps_item = _image_view(self.maps_widget)
        self.maps_item.setLookupTable(_lut("viridis"))
        self.tile_labels = []
        self.activation_stack.addWidget(self.maps_widget)
        self.bars_plot = pg.PlotWidget()
        self.bars_plot.setBackground(None)
        self.bars_plot.setLabel("bottom", "unit")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#4e79a7")
        self.bars_plot.addItem(self.bars)
        self.activation_stack.addWidget(self.bars_plot)
        layout.addWidget(self.activation_stack, 1)
        self.stats_label = QLabel()
        self.stats_label.setWordWrap(True)
        self.stats_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.stats_label)
        return tab

    def _filters_tab(self):
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.filters_label = QLabel()
        layout.addWidget(self.filters_label)
        self.filters_widget = pg.GraphicsLayoutWidget()
        self.filters_widget.setBackground(None)
        self.filters_view, self.filters_item = _image_view(self.filters_widget)
        layout.addWidget(self.filters_widget, 1)
        return tab

    def _attribution_tab(self):
        from designer.insight.attribution import METHODS
        tab = QWidget()
        layout = QVBoxLayout(tab)
        options = QHBoxLayout()
        self.method_box = QComboBox()
        for method in METHODS:
            self.method_box.addItem(METHOD_TITLES[method], method)
        self.method_box.currentIndexChanged.connect(lambda _: self.refresh_views())
        self.target_box = QComboBox(toolTip="The class to explain")
        self.target_box.addItem("predicted class", None)
        self.target_box.currentIndexChanged.connect(lambda _: self.refresh_views())
        options.addWidget(self.method_box)
        options.addWidget(self.target_box)
        self.attribution_label = QLabel()
        self.attribution_label.setWordWrap(True)
        options.addWidget(self.attribution_label, 1)
        layout.addLayout(options)
        row = QHBoxLayout()
        self.attribution_widget = pg.GraphicsLayoutWidget()
        self.attribution_widget.setBackground(None)
        self.sample_view, self.sample_item = _image_view(self.attribution_widget, 0, 0, "image")
        self.heat_view, self.heat_item = _image_view(self.attribution_widget, 0, 1, "heat")
        row.addWidget(self.attribution_widget, 3)
        self.top5_label = QLabel()
        self.top5_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.top5_label.setTextFormat(Qt.RichText)
        self.top5_label.setMinimumWidth(170)
        row.addWidget(self.top5_label, 1)
        layout.addLayout(row, 1)
        return tab

    def _evaluation_tab(self):
        tab = QWidget()
        layout = QVBoxLayout(tab)
        options = QHBoxLayout()
        self.evaluate_button = QPushButton("Evaluate validation set")
        self.evaluate_button.clicked.connect(self.start_evaluation)
        options.addWidget(self.evaluate_button)
        self.normalised_box = QCheckBox("Row-normalised")
        self.normalised_box.toggled.connect(lambda _: self.show_evaluation())
        options.addWidget(self.normalised_box)
        options.addWidget(QLabel("Map"))
        self.embedding_box = QComboBox()
        self.embedding_box.addItem("PCA", "pca")
        self.embedding_box.addItem("t-SNE", "tsne")
        self.embedding_box.currentIndexChanged.connect(lambda _: self.show_evaluation())
        options.addWidget(self.embedding_box)
        self.evaluation_label = QLabel()
        self.evaluation_label.setWordWrap(True)
        options.addWidget(self.evaluation_label, 1)
        layout.addLayout(options)
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
        self.confusion_item.setLookupTable(_lut("viridis"))
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
        layout.addWidget(self.evaluation_widget, 1)
        self.wrong_label = QLabel()
        self.wrong_label.setWordWrap(True)
        layout.addWidget(self.wrong_label)
        return tab

    def _landscape_tab(self):
        tab = QWidget()
        layout = QVBoxLayout(tab)
        options = QHBoxLayout()
        self.landscape_kind = QComboBox()
        self.landscape_kind.addItem("2-D, filter-normalised random directions", "2d")
        self.landscape_kind.addItem("1-D, from the initial weights", "1d")
        self.landscape_kind.addItem("1-D, from another checkpoint…", "1d-from")
        self.landscape_kind.activated.connect(self._on_landscape_kind)
        self.landscape_start = None      # the other checkpoint of a 1-D line
        options.addWidget(self.landscape_kind)
        options.addWidget(QLabel("steps"))
        self.steps_box = QSpinBox(minimum=3, maximum=101, value=21, singleStep=2)
        options.addWidget(self.steps_box)
        options.addWidget(QLabel("batches of 128"))
        self.batches_box = QSpinBox(minimum=1, maximum=100, value=2)
        options.addWidget(self.batches_box)
        self.landscape_button = QPushButton("Compute")
        self.landscape_button.clicked.connect(self.start_landscape)
        options.addWidget(self.landscape_button)
        self.landscape_label = QLabel()
        options.addWidget(self.landscape_label, 1)
        layout.addLayout(options)
        self.landscape_stack = QStackedWidget()
        self.landscape_widget = pg.GraphicsLayoutWidget()
        self.landscape_widget.setBackground(None)
        self.landscape_view, self.landscape_item = _image_view(self.landscape_widget)
        self.landscape_stack.addWidget(self.landscape_widget)
        self.line_plot = pg.PlotWidget()
        self.line_plot.setBackground(None)
        self.line_plot.setLabel("bottom", "α  (0: the start, 1: these weights)")
        self.line_plot.setLabel("left", "loss")
        self.line_curve = self.line_plot.plot([], [], pen=pg.mkPen("#4e79a7", width=2))
        self.landscape_stack.addWidget(self.line_plot)
        layout.addWidget(self.landscape_stack, 1)
        return tab

    # -- following the editor --------------------------------------------------------------------
    def _on_document(self, document):
        self.stop_job()
        if self.graph is not None:
            self.graph.changed.disconnect(self._on_graph_changed)
        self.graph = document.graph if document is not None else None
        if self.graph is not None:
            self.graph.changed.connect(self._on_graph_changed)
        self.subject = None
        self.cache.clear()
        self.refresh_runs()
        if self.weights_box.currentText():
            self.load_weights()

    def _on_graph_changed(self, change):
        if self.subject is not None or self.subject_error:
            self.reload_timer.start()   # debounced: a drag of edits reloads once

    def _on_selection(self, node_ids):
        self.node = node_ids[0] if len(node_ids) == 1 else None
        self.refresh_views()

    def refresh_runs(self):
        """List the training runs of this design (newest first) in the weights box."""
        current = self.weights_box.currentText()
        self.weights_box.blockSignals(True)
        self.weights_box.clear()
        if self.graph is not None:
            from designer.home import runs_root
            import re
            slug = re.sub(r"[^A-Za-z0-9]+", "_", self.graph.name or "").strip("_").lower()
            root = runs_root()
            if root.is_dir() and str(root) not in self.watcher.directories():
                self.watcher.addPath(str(root))
            runs = sorted((p for p in root.glob(f"{slug}_*") if (p / "last.pt").is_file()),
                          key=lambda p: (p / "last.pt").stat().st_mtime, reverse=True) \
                if root.is_dir() and slug else []
            for run in runs:
                self.weights_box.addItem(str(run))
        self.weights_box.setEditText(current or self.weights_box.itemText(0))
        self.weights_box.blockSignals(False)

    def browse_weights(self):
        path, _ = QFileDialog.getOpenFileName(self, "Weights", self.weights_box.currentText(),
                                              "PyTorch weights (*.pt *.pth *.pt2 *.bin);;All files (*)")
        if path:
            self.set_weights(path)

    def set_weights(self, path):
        self.weights_box.setEditText(str(path))
        self.load_weights()

    def load_weights(self):
        """(Re)load the design with the chosen weights; a sentence in the status line on failure."""
        from designer.insight.subject import load_subject, weights_path
        self.stop_job()
        text = self.weights_box.currentText().strip()
        self.subject, self.subject_error = None, None
        if not text or self.graph is None:
            return
        path = weights_path(text)
        try:
            self.subject = load_subject(self.graph, path)
            self.subject.dataset          # the validation set, loaded once here
        except DesignError as error:
            self.subject = None
            self.subject_error = str(error)
            self._say(self.subject_error, error=True)
            self.refresh_views()
            return
        mtime = path.stat().st_mtime_ns if path.is_file() else 0
        self.weights_key = (str(path), mtime, self.graph.version)
        if self.watcher.files():
            self.watcher.removePaths(self.watcher.files())
        self.watcher.addPath(str(path))
        self.cache.clear()
        classes = self.subject.classes
        self.class_box.blockSignals(True)
        self.class_box.clear()
        self.class_box.addItem("any class")
        self.class_box.addItems([f"class {c}" for c in classes])
        self.class_box.blockSignals(False)
        self.target_box.blockSignals(True)
        self.target_box.clear()
        self.target_box.addItem("predicted class", None)
        for i, c in enumerate(classes):
            self.target_box.addItem(f"class {c}", i)
        self.target_box.blockSignals(False)
        self.index_box.blockSignals(True)
        self.index_box.setMaximum(len(self.subject.dataset) - 1)
        self.index_box.blockSignals(False)
        self._say(f"{self.graph.name} with {path.name} ({self.subject.weights_note}); "
                  f"{len(self.subject.dataset)} validation images of {self.subject.data.title}")
        self.show_sample(self.index_box.value())

    # -- samples -------------------------------------------------------------------------------
    def _on_index(self, index):
        if self.subject is not None:
            self.show_sample(index)

    def step_sample(self, direction):
        if self.subject is None:
            return
        dataset = self.subject.dataset
        wanted = self.class_box.currentIndex() - 1
        index = self.index_box.value()
        labels = dataset.labels if hasattr(dataset, "labels") else None
        for _ in range(len(dataset)):
            index = (index + direction) % len(dataset)
            if wanted < 0 or labels is None or int(labels[index]) == wanted:
                break
        self.index_box.setValue(index)     # shows it through valueChanged

    def show_sample(self, index):
        try:
            self.image, self.label = self.subject.sample(index)
        except DesignError as error:
            self._say(str(error), error=True)
            return
        self.sample_key = ("val", index)
        self.refresh_views()

    def open_image(self):
        path, _ = QFileDialog.getOpenFileName(self, "Image", "", "Images (*.png *.jpg *.jpeg "
                                              "*.bmp *.gif *.tif *.tiff *.webp);;All files (*)")
        if path:
            self.show_image_file(path)

    def show_image_file(self, path):
        if self.subject is None:
            self._say("Choose weights first, then an image.", error=True)
            return
        try:
            self.image = self.subject.prepare(path)
        except DesignError as error:
            self._say(str(error), error=True)
            return
        self.label = None
        self.sample_key = ("file", str(path), Path(path).stat().st_mtime_ns)
        self.refresh_views()

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.show_image_file(urls[0])

    # -- cached computations ---------------------------------------------------------------------
    def _cached(self, key, compute):
        full = (self.weights_key, self.sample_key) + key
        if full not in self.cache:
            if len(self.cache) > 256:
                self.cache.clear()
            self.cache[full] = compute()
        return self.cache[full]

    def node_outputs(self):
        """Every top-level node's output for the current sample: one forward pass, cached."""
        from designer.insight.activations import capture
        from designer.insight.subject import node_paths

        def compute():
            taps = []
            for path in node_paths(self.subject.graph):
                try:
                    taps.append(self.subject.tap(path))
                except DesignError:
                    continue
            outputs, logits = capture(self.subject.model, self.image, taps)
            return outputs, {t.node: t for t in taps}
        return self._cached(("outputs",), compute)

    def prediction(self):
        from designer.insight.attribution import predict
        return self._cached(("prediction",), lambda: predict(self.subject.model, self.image,
                                                             self.subject.classes))

    # -- drawing ---------------------------------------------------------------------------------
    def refresh_views(self):
        if self.subject is None or self.image is None:
            return
        prediction = self.prediction()
        truth = f"true class {self.subject.classes[self.label]} · " if self.label is not None else ""
        where = (f"validation image {self.sample_key[1]}" if self.sample_key[0] == "val"
                 else Path(self.sample_key[1]).name)
        self.sample_label.setText(f"{where} · {truth}predicted {prediction['label']} "
                                  f"({prediction['probability']:.1%})")
        tab = self.tabs.currentIndex()
        if tab == 0:
            self.show_activations()
        elif tab == 1:
            self.show_filters()
        elif tab == 2:
            self.show_attribution()
        elif tab == 3:
            self.show_evaluation()

    def _selected_tap(self, label):
        if self.node is None:
            label.setText("Select one node on the canvas.")
            return None, None
        outputs, taps = self.node_outputs()
        if self.node not in taps:
            label.setText(f"{self.node} has no output to show.")
            return None, None
        return outputs[self.node], taps[self.node]

    def show_activations(self):
        from designer.insight.activations import channel_stats
        output, tap = self._selected_tap(self.node_label)
        if output is None:
            self.maps_item.clear()
            self._label_tiles([], 1, (0, 0))
            self.stats_label.clear()
            return
        shape = "×".join(map(str, output.shape))
        stats = channel_stats(output)
        if tap.spatial:
            order = stats.order()[:GRID_LIMIT]
            maps = render.normalise_maps(output.float().numpy()[order],
                                         shared=not self.per_map_box.isChecked())
            columns = render.grid_columns(len(maps), 1.6)
            grid = render.tile(maps, columns, pad=1)     # the gaps are NaN: drawn transparent
            self.maps_item.setImage(grid, levels=(0, 1))
            self._label_tiles(order, columns, maps.shape[1:])
            self.maps_view.autoRange(padding=0.01)
            self.activation_stack.setCurrentIndex(0)
            shown = f", the {len(order)} most active shown" if len(order) < output.shape[0] else ""
            self.node_label.setText(f"{self.node}: {shape}, channels by mean activation{shown}")
            rows = [f"#{c}: mean {stats.mean[c]:.3g}, max {stats.max[c]:.3g}, "
                    f"zeros {stats.zero_fraction[c]:.0%}" for c in order[:12]]
            dead = int((stats.zero_fraction >= 0.999).sum())
            self.stats_label.setText(
                f"mean {float(output.mean()):.3g} · max {float(output.max()):.3g} · zeros "
                f"{float((output == 0).float().mean()):.1%}"
                + (f" · {dead} channel(s) all zero (dead ReLU?)" if dead else "")
                + "\n" + "   ".join(rows))
        else:
            values = output.float().flatten().numpy()
            self.bars.setOpts(x=np.arange(len(values)), height=values, width=0.8)
            self.bars_plot.autoRange()
            self.activation_stack.setCurrentIndex(1)
            self.node_label.setText(f"{self.node}: {shape} values (no spatial output: one bar "
                                    "per unit)")
            self.stats_label.setText(f"mean {values.mean():.3g} · max {values.max():.3g} · zeros "
                                     f"{(values == 0).mean():.1%}")

    def _label_tiles(self, channels, columns, size):
        """The channel number in the corner of each map (for grids small enough to read). The
        text items are made once and reused: creating them was most of a redraw's time."""
        channels = list(channels) if len(channels) <= TILE_LABELS else []
        while len(self.tile_labels) < len(channels):
            item = pg.TextItem(color="#ffffff", anchor=(0, 0))
            self.maps_view.addItem(item)
            self.tile_labels.append(item)
        h, w = size
        for i, item in enumerate(self.tile_labels):
            if i < len(channels):
                row, column = divmod(i, columns)
                item.setText(f"#{channels[i]}")
                item.setPos(column * (w + 1), row * (h + 1))
            item.setVisible(i < len(channels))

    def show_filters(self):
        from designer.insight.filters import conv_weight, filter_tiles
        from designer.insight.subject import InsightError
        output, tap = self._selected_tap(self.filters_label)
        if output is None:
            self.filters_item.clear()
            return
        try:
            weight = conv_weight(self.subject.model, tap)
        except InsightError as error:
            self.filters_label.setText(str(error))
            self.filters_item.clear()
            return
        tiles, columns, rgb = filter_tiles(weight)
        if rgb:
            grid = render.tile(tiles, columns, pad=1, fill=1.0)
            image = (grid * 255).round().astype(np.uint8)
        else:
            if weight.shape[1] > 1:      # the panel is wide: a column per filter, a row per input
                filters_shown = len(tiles) // columns
                tiles = tiles.reshape(filters_shown, columns, *tiles.shape[1:]).swapaxes(0, 1)
                tiles, columns = tiles.reshape(-1, *tiles.shape[2:]), filters_shown
            grid = render.tile(tiles, columns, pad=1)
            image = render.colormap(grid, "diverging", -1, 1)
            image[np.isnan(grid)] = (255, 255, 255)
        self.filters_item.setImage(image)
        self.filters_view.autoRange(padding=0.01)
        self.filters_label.setText(
            f"{self.node}: {weight.shape[0]} filters of {weight.shape[2]}×{weight.shape[3]} over "
            f"{weight.shape[1]} channels" + ("" if rgb else " — a column per filter, a row per input "
                                             "channel; blue negative, white zero, red positive"))

    def show_attribution(self):
        from designer.insight.attribution import attribute, gradcam_layer
        from designer.insight.subject import InsightError
        prediction = self.prediction()
        display = self.subject.display(self.image)
        self.sample_item.setImage(display, levels=(0, 1))
        self.sample_view.autoRange(padding=0.01)
        self.top5_label.setText("<b>top-5</b><br>" + "<br>".join(
            f"{e['label']}: {e['probability']:.1%}" for e in prediction["top5"]))
        target = self.target_box.currentData()
        target = prediction["class"] if target is None else target
        method = self.method_box.currentData()
        needs_node = method in ("gradcam", "guided_gradcam")
        tap = None
        if needs_node:
            output, tap = self._selected_tap(self.attribution_label)
            if output is None:
                self.heat_item.clear()
                return
            try:
                gradcam_layer(self.subject.model, tap)
            except InsightError as error:
                self.attribution_label.setText(str(error))
                self.heat_item.clear()
                return
        key = ("attribution", method, target, tap.node if tap else None)
        full = (self.weights_key, self.sample_key) + key
        label = f"{self.method_box.currentText()} for class {self.subject.classes[target]}" + (
            f" at {tap.node}" if tap else "")
        if full in self.cache:
            self._draw_heat(display, self.cache[full], label)
        elif method == "gradcam":       # one forward and backward: quick enough to draw now
            heat = self._cached(key, lambda: attribute(self.subject.model, self.image, target,
                                                       method, tap))
            self._draw_heat(display, heat, label)
        else:
            model, image = copy.deepcopy(self.subject.model), self.image.clone()
            self.attribution_label.setText(f"{label}: computing…")
            self.heat_item.clear()

            def finished(heat, full=full, label=label):
                self.cache[full] = heat
                if self.tabs.currentIndex() == 2:
                    self._draw_heat(self.subject.display(self.image), heat, label)
            self.start_job("attribution", lambda progress, stop: attribute(
                model, image, target, method, tap), finished)

    def _draw_heat(self, display, heat, label):
        self.heat_item.setImage(render.overlay(display, heat))
        self.heat_view.autoRange(padding=0.01)
        self.attribution_label.setText(label)

    # -- heavy work in the worker ----------------------------------------------------------------
    def start_job(self, kind, work, on_done):
        self.stop_job()
        self.job_kind = kind
        self.job = InsightJob(work, self)
        self.job.progress.connect(self._on_progress)
        self.job.done.connect(on_done)
        self.job.failed.connect(lambda text: self._say(text, error=True))
        self.job.finished.connect(lambda job=self.job: self._job_ended(job))
        self.progress.setValue(0)
        self.progress.show()
        self.stop_button.setEnabled(True)
        self.job.start()

    def stop_job(self):
        if self.job is not None:
            self.job.done.disconnect()       # a result that arrives after Stop is dropped
            self.job.stop()
            self.job.wait()
            self._job_ended(self.job)

    def _job_ended(self, job):
        # `finished` of a job already replaced by a newer one arrives late: it changes nothing.
        if job is not self.job:
            return
        job.deleteLater()
        self.job = None
        self.progress.hide()
        self.stop_button.setEnabled(False)

    def _on_progress(self, done, total):
        self.progress.setMaximum(total)
        self.progress.setValue(done)

    def start_evaluation(self):
        from designer.insight.evaluation import embed, evaluate
        if self.subject is None:
            self._say("Choose weights first.", error=True)
            return
        model = copy.deepcopy(self.subject.model)
        subject, method = self.subject, self.embedding_box.currentData()
        key = (self.weights_key, "evaluation")

        def work(progress, should_stop):
            result = evaluate(model, subject.dataset, subject.classes, subject.data.eval_crops,
                              progress=progress, should_stop=should_stop)
            points = embed(result.features, method) if result.complete else None
            return result, {method: points}

        def finished(value):
            self.cache[key] = value
            self.show_evaluation()
        self.evaluation_label.setText("evaluating…")
        self.start_job("evaluation", work, finished)

    def show_evaluation(self):
        from designer.insight.evaluation import embed
        key = (self.weights_key, "evaluation")
        if key not in self.cache:
            return
        result, points = self.cache[key]
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
        method = self.embedding_box.currentData()
        if result.complete and points.get(method) is None and result.features is not None:
            if method == "pca":
                points[method] = embed(result.features, "pca")
            elif not (self.job is not None and self.job_kind == "embedding"):
                features = result.features   # t-SNE takes seconds: in the worker

                def finished(coordinates, points=points):
                    points["tsne"] = coordinates
                    self.show_evaluation()
                self.start_job("embedding", lambda progress, stop: embed(features, "tsne"),
                               finished)
        coordinates = points.get(method)
        if coordinates is not None:
            colours = [pg.mkBrush(render.CLASS_COLOURS[int(label) % len(render.CLASS_COLOURS)])
                       for label in result.labels]
            self.embedding_scatter.setData(pos=coordinates, brush=colours)
            self.embedding_plot.autoRange()
        wrong = result.most_confidently_wrong(12)
        if wrong:
            images = [self.subject.display(self.subject.sample(w["index"])[0]) for w in wrong]
            images = np.stack([np.repeat(i[:, :, None], 3, 2) if i.ndim == 2 else i for i in images])
            self.wrong_item.setImage((render.tile(images, 6, pad=2, fill=1.0) * 255).astype(np.uint8))
            self.wrong_view.autoRange(padding=0.01)
        classes = self.subject.classes
        self.wrong_label.setText("most confidently wrong (true → predicted): " + ", ".join(
            f"{classes[w['label']]}→{classes[w['predicted']]} {w['probability']:.0%}" for w in wrong))
        state = "" if result.complete else " (stopped early: a part of the set)"
        self.evaluation_label.setText(f"{result.size} images{state}: top-1 error "
                                      f"{result.top1_error:.2%}")

    def _on_landscape_kind(self, index):
        if self.landscape_kind.itemData(index) != "1d-from":
            return
        path, _ = QFileDialog.getOpenFileName(self, "Start of the line", self.weights_box.currentText(),
                                              "PyTorch weights (*.pt *.pth);;All files (*)")
        if path:
            self.landscape_start = path
            self.landscape_kind.setItemText(index, f"1-D, from {Path(path).name}")
        elif self.landscape_start is None:
            self.landscape_kind.setCurrentIndex(0)

    def start_landscape(self):
        from designer.insight import landscape
        if self.subject is None:
            self._say("Choose weights first.", error=True)
            return
        model = copy.deepcopy(self.subject.model)
        subject = self.subject
        kind, steps, batches = (self.landscape_kind.currentData(), self.steps_box.value(),
                                self.batches_box.value())
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
        self.start_job("landscape", work, self.show_landscape)

    def show_landscape(self, surface):
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

    # -- window hooks ----------------------------------------------------------------------------
    def close_question(self):
        return None     # a computation can always be dropped: nothing is lost

    def shutdown(self):
        self.stop_job()

    def _say(self, text, error=False):
        self.status.setText(text)
        self.status.setStyleSheet(ERROR_STYLE if error else "")
