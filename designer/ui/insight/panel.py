"""The Insight panel: what the selected node of a trained design sees.

It follows the canvas selection. For the chosen weights (the document's current weights until the
person chooses others: a training run of this design, or any checkpoint) and the current sample
image (a validation image, browsed with the arrows or by class, or an image file dropped on the
panel), it shows the selected node's output as a grid of channel maps with per-channel statistics,
a convolution's filters, Grad-CAM (or Captum's attributions) with the top-5 predictions, and, on
request, the confusion matrix, per-class error, the most confidently wrong images, a 2-D map of the
features and the loss landscape.

All computing is `designer.insight`'s. Node outputs for a sample are captured in one forward pass
and cached per sample and weights, so changing the selection only redraws. Evaluation, embeddings,
landscapes and the slower attributions run in a `Job` thread (one at a time) on a copy of the
model, with progress and Stop; the editor stays usable meanwhile. The design is reloaded
(debounced) after edits with the weights that still fit; the status line names the nodes that
lost theirs (their shapes changed, or they are new).

This module is the shell: the weights, the sample, the caches, the job, the status line. Each tab
is a view in a module of its own (activations, filters, attribution, evaluation, landscape): a
QWidget made as `View(panel)` with a `title` and a `refresh()` that draws the current sample,
selection and weights, which it reads from the panel.
"""

import copy
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QSpinBox, QTabWidget, QToolButton, QVBoxLayout, QWidget)

from designer.core.errors import DesignError

from .. import warmup
from ..jobs import Job
from ..panel_registry import WeightsField
from .activations import ActivationsView
from .attribution import AttributionView
from .evaluation import EvaluationView
from .filters import FiltersView
from .landscape import LandscapeView

ERROR_STYLE = "color: #d33f3f;"
RELOAD_DELAY_MS = 400
NO_WEIGHTS = "Choose weights: a training run of this design or a checkpoint."


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
        self.weights_field = WeightsField(context, self.weights_box.currentText,
                                          self.weights_box.setEditText)
        context.document_changed.connect(self._on_document)
        context.weights_changed.connect(self._current_weights_changed)
        context.data_changed.connect(self._data_changed)
        context.selection_changed.connect(self._on_selection)
        if context.document is not None:
            self._on_document(context.document)
            self._current_weights_changed(context.current_weights)

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

        self.activations = ActivationsView(self)
        self.filters = FiltersView(self)
        self.attribution = AttributionView(self)
        self.evaluation = EvaluationView(self)
        self.landscape = LandscapeView(self)
        self.tabs = QTabWidget()
        for view in (self.activations, self.filters, self.attribution, self.evaluation,
                     self.landscape):
            self.tabs.addTab(view, view.title)
        self.tabs.currentChanged.connect(lambda _: self.refresh_views())
        layout.addWidget(self.tabs, 1)

        bottom = QHBoxLayout()
        self.status = QLabel(NO_WEIGHTS)
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

    # -- following the editor --------------------------------------------------------------------
    def _on_document(self, document):
        self.stop_job()
        if self.graph is not None:
            self.graph.changed.disconnect(self._on_graph_changed)
        self.graph = document.graph if document is not None else None
        if self.graph is not None:
            self.graph.changed.connect(self._on_graph_changed)
        self.subject, self.subject_error = None, None
        self.cache.clear()
        self.refresh_runs()

    def _current_weights_changed(self, path):
        """The document's current weights changed (or a design opened, with its own): load
        them, unless the person chose other weights here. While PyTorch still loads in the
        background (`warmup`) they load once it has: loading here would wait for the whole
        import in the GUI thread, the window frozen."""
        if not self.weights_field.follow():
            return
        if warmup.waiting():
            self.say(warmup.LOADING_MESSAGE)
            warmup.notifier.loaded.connect(self._load_after_warmup, Qt.UniqueConnection)
            return
        self.load_weights()

    def _load_after_warmup(self):
        warmup.notifier.loaded.disconnect(self._load_after_warmup)
        if self.weights_field.follow():
            self.load_weights()

    def _data_changed(self, choice):
        """Another dataset chosen for the document: the loaded weights are looked at on it."""
        if self.subject is not None or self.subject_error is not None:
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
        self.weights_box.setEditText(current)
        self.weights_box.blockSignals(False)

    def browse_weights(self):
        from designer.home import runs_root
        start = self.weights_box.currentText().strip() or str(runs_root())
        path, _ = QFileDialog.getOpenFileName(self, "Weights", start,
                                              "PyTorch weights (*.pt *.pth *.pt2 *.bin);;All files (*)")
        if path:
            self.set_weights(path)

    def set_weights(self, path):
        self.weights_box.setEditText(str(path))
        self.load_weights()

    def load_weights(self):
        """(Re)load the design with the chosen weights; a sentence in the status line on failure."""
        self.stop_job()
        text = self.weights_box.currentText().strip()
        self.subject, self.subject_error = None, None
        if not text or self.graph is None:
            self.say(NO_WEIGHTS)
            self.refresh_views()
            return
        # torch and torchvision: only once there are weights to load (not while the window opens).
        from designer.insight.subject import load_subject
        from designer.weights import run_weights
        path = run_weights(text)
        try:
            # What still fits after an edit loads; the status line names the nodes that lost it.
            # The document's data choice, when made, over the dataset the checkpoint names.
            choice = self.context.data_choice
            data = dict(dataset=choice.dataset, data_dir=choice.data_dir) if choice else {}
            self.subject = load_subject(self.graph, path, partial=True, **data)
            self.subject.dataset          # the validation set, loaded once here
        except DesignError as error:
            self.subject = None
            self.subject_error = str(error)
            self.say(self.subject_error, error=True)
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
        self.attribution.set_classes(classes)
        self.index_box.blockSignals(True)
        self.index_box.setMaximum(len(self.subject.dataset) - 1)
        self.index_box.blockSignals(False)
        untrained = self.subject.weights_report.untrained_sentence(self.graph.nodes)
        self.say(f"{self.graph.name} with {path.name} ({self.subject.weights_note}); "
                 f"{len(self.subject.dataset)} validation images of {self.subject.data.title}"
                 + (f"; {untrained}" if untrained else ""))
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
            self.say(str(error), error=True)
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
            self.say("Choose weights first, then an image.", error=True)
            return
        try:
            self.image = self.subject.prepare(path)
        except DesignError as error:
            self.say(str(error), error=True)
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
    def cached(self, key, compute):
        """`compute()`, kept per weights and sample under `key`."""
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
        return self.cached(("outputs",), compute)

    def subject_for_job(self):
        """(the loaded subject, a copy of its model for a job to work on, while the panel keeps
        drawing with its own), or (None, None) after asking for weights."""
        if self.subject is None:
            self.say("Choose weights first.", error=True)
            return None, None
        return self.subject, copy.deepcopy(self.subject.model)

    def prediction(self):
        from designer.insight.attribution import predict
        return self.cached(("prediction",), lambda: predict(self.subject.model, self.image,
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
        self.tabs.currentWidget().refresh()

    def selected_tap(self, label):
        """(output, tap) of the selected node for the current sample, or (None, None) with the
        reason in `label`."""
        if self.node is None:
            label.setText("Select one node on the canvas.")
            return None, None
        outputs, taps = self.node_outputs()
        if self.node not in taps:
            label.setText(f"{self.node} has no output to show.")
            return None, None
        return outputs[self.node], taps[self.node]

    # -- heavy work in the job ---------------------------------------------------------------------
    def start_job(self, kind, work, on_done):
        """Run `work(progress, should_stop)` in a job, stopping the one running; `on_done` gets
        its result in the GUI thread. The work is given copies, never the panel's own objects."""
        self.stop_job()
        self.job_kind = kind
        self.job = job = Job(parent=self)
        job.progress.connect(self._on_progress)
        job.returned.connect(on_done)
        job.errored.connect(lambda text: self.say(text, error=True))
        job.finished.connect(lambda: self._job_ended(job))
        self.progress.setValue(0)
        self.progress.show()
        self.stop_button.setEnabled(True)
        job.start(work, job.progress.emit, job.stop_requested)

    def stop_job(self):
        if self.job is not None:
            self.job.returned.disconnect()   # a result that arrives after Stop is dropped
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

    # -- window hooks ----------------------------------------------------------------------------
    def close_question(self):
        return None     # a computation can always be dropped: nothing is lost

    def shutdown(self):
        self.stop_job()

    def say(self, text, error=False):
        """A sentence in the status line (red for a problem)."""
        self.status.setText(text)
        self.status.setStyleSheet(ERROR_STYLE if error else "")
