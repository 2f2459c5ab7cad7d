"""The Data panel: the dataset the document trains on, chosen once (its Dataset, Data folder,
Validation share and Augmentation rows are the document's data choice, which Train, Insight,
Compress and Sweep read), and what is in it, from the data engine (designer.data.report): the
images per class of each split as bars, a grid of samples of the class clicked (a sample clicked
shows enlarged with its file name and size), the training augmentation (the engine's own seeded
batch ops) applied to those samples and redrawn as its settings change, and the problems found,
each with its files. Scanning a folder and drawing the preview run in jobs, never on the GUI
thread.
"""

import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QSplitter, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from designer.core.errors import DesignError
from designer.data.choice import AUGMENT_SETTINGS, DATA_SETTINGS
from designer.train.config import TRAIN_SETTINGS
from .forms import SettingsForm
from .jobs import Job
from .panel_registry import DataField
from .theme import THEMES
from .widgets import settings_column

CHOICE_ROWS = DATA_SETTINGS         # the images: a change reads them again
AUGMENT_ROWS = AUGMENT_SETTINGS     # how they are augmented: a change redraws the preview
SAMPLES = 24             # samples of a class in the grid
THUMB = 56               # their size on screen, pixels
PREVIEW_DELAY_MS = 150   # settings settle before the preview is drawn again
SPLIT_COLOURS = {"train": "#3b82f6", "val": "#f59e0b"}


def to_pixmap(array, size=None):
    """A uint8 (H, W, C) array as a QPixmap, scaled (nearest, so pixels stay pixels) to fit
    `size` pixels when given."""
    height, width, channels = array.shape
    data = array.copy(order="C") if channels in (1, 3) else array[:, :, :3].copy(order="C")
    fmt = QImage.Format_Grayscale8 if data.shape[2] == 1 else QImage.Format_RGB888
    image = QImage(data.data, width, height, width * data.shape[2], fmt).copy()
    pixmap = QPixmap.fromImage(image)
    if size:
        pixmap = pixmap.scaled(size, size, Qt.KeepAspectRatio, Qt.FastTransformation)
    return pixmap


def scan(choice, input_shape, control, progress):
    """The job's work: the data engine's report of `choice`."""
    from designer.data.report import describe
    return describe(choice.dataset, choice.data_dir, choice.val_fraction, input_shape,
                    progress=progress, stopped=lambda: control.stopped)


def preview(report, items, augment_values, input_shape, seed):
    """The job's work: the samples as stored and as training augments them."""
    from designer.data.report import augment_preview, sample_image
    from designer.train.config import TrainConfig
    samples = [sample_image(report, item) for item in items]
    augmented = []
    if input_shape is not None:
        config = TrainConfig(**augment_values)
        augmented = augment_preview(report, items, config, input_shape, seed)
    return samples, augmented


class DataPanel(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.report = None
        self.scan_job = None
        self.preview_job = None
        self.preview_again = False
        self.rescan = False         # the choice changed while a scan ran: scan again after it
        self.scanned = None         # the choice last read
        self.label = 0              # the class whose samples are shown
        self.augmented_images = []  # the augmentation preview's arrays, as drawn
        self.seed = 0
        self._build()
        self.data_field = DataField(context, self.form)
        self.preview_timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self.preview_timer.timeout.connect(self.refresh_preview)
        context.data_changed.connect(self._choice_changed)
        self.graph = None
        self.input_timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self.input_timer.timeout.connect(self._show_input)
        context.document_changed.connect(self._on_document)
        self._on_document(context.document)
        context.theme_changed.connect(self.set_theme)
        self.set_theme(context.theme)

    # -- widgets -----------------------------------------------------------------------------
    def _build(self):
        self.form = SettingsForm(TRAIN_SETTINGS.only(*CHOICE_ROWS, *AUGMENT_ROWS))
        self.editors = self.form.editors
        self.form.changed.connect(self._setting_changed)
        self.scan_button = QPushButton("Scan", toolTip="Read every image again")
        self.scan_button.clicked.connect(self.choose)
        self.stop_button = QPushButton("Stop", enabled=False)
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        buttons.addWidget(self.scan_button)
        buttons.addWidget(self.stop_button)
        self.status = QLabel("Choose a dataset: a built-in, or ImageFolder with a folder of "
                             "class sub-folders or a CSV of path,label rows.")
        self.status.setWordWrap(True)
        left = settings_column(self.form, buttons, self.status)

        self.chart = pg.PlotWidget()
        self.chart.setMouseEnabled(x=False, y=False)
        self.chart.setMenuEnabled(False)
        self.chart.setLabel("left", "images")
        self.chart.addLegend(offset=(10, 2), colCount=2)   # above the bars: room kept below
        self.chart.scene().sigMouseClicked.connect(self._chart_clicked)
        self.chart.setMinimumHeight(140)

        self.grid_title = QLabel()
        self.grid = QListWidget(viewMode=QListWidget.IconMode, movement=QListWidget.Static,
                                resizeMode=QListWidget.Adjust, iconSize=QSize(THUMB, THUMB),
                                spacing=4, toolTip="Click a sample to enlarge it")
        self.grid.setObjectName("samples")
        self.grid.itemClicked.connect(self.show_sample)
        self.augmented = QListWidget(viewMode=QListWidget.IconMode, movement=QListWidget.Static,
                                     resizeMode=QListWidget.Adjust, iconSize=QSize(THUMB, THUMB),
                                     spacing=4)
        self.augmented.setObjectName("augmented")
        self.augmented_title = QLabel("As training sees them")
        self.reshuffle = QPushButton("Draw again", toolTip="Another seed for the augmentation")
        self.reshuffle.clicked.connect(self.draw_again)
        self.enlarged = QLabel(alignment=Qt.AlignCenter, minimumSize=QSize(160, 160))
        self.enlarged_text = QLabel(alignment=Qt.AlignCenter, wordWrap=True)

        samples = QWidget()
        samples_box = QVBoxLayout(samples)
        samples_box.setContentsMargins(0, 0, 0, 0)
        samples_box.addWidget(self.grid_title)
        samples_box.addWidget(self.grid, 1)
        aug_head = QHBoxLayout()
        aug_head.addWidget(self.augmented_title, 1)
        aug_head.addWidget(self.reshuffle)
        samples_box.addLayout(aug_head)
        samples_box.addWidget(self.augmented, 1)
        zoom = QWidget()
        zoom_box = QVBoxLayout(zoom)
        zoom_box.setContentsMargins(0, 0, 0, 0)
        zoom_box.addWidget(self.enlarged, 1)
        zoom_box.addWidget(self.enlarged_text)

        self.problems = QTreeWidget(columnCount=2, headerLabels=["Problem", "Detail"])
        self.problems.setObjectName("problems")
        self.problems.itemClicked.connect(self._problem_clicked)
        self.problems.setColumnWidth(0, 300)

        top = QSplitter(Qt.Horizontal)
        top.addWidget(self.chart)
        top.addWidget(samples)
        top.addWidget(zoom)
        top.setSizes([420, 520, 220])
        right = QSplitter(Qt.Vertical)
        right.addWidget(top)
        right.addWidget(self.problems)
        right.setSizes([330, 130])
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 1100])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

    def set_theme(self, theme):
        theme = theme or THEMES["light"]
        self.theme = theme
        self.chart.setBackground(theme.base)
        for side in ("left", "bottom"):
            axis = self.chart.getAxis(side)
            axis.setPen(pg.mkPen(theme.text_dim))
            axis.setTextPen(pg.mkPen(theme.text))
        legend = self.chart.plotItem.legend
        if legend is not None:
            legend.setLabelTextColor(theme.text)
        self.draw_counts()

    # -- the design's input --------------------------------------------------------------------
    def input_shape(self):
        """The open design's input (C, H, W), or None when it has no one image input."""
        from designer.core.registry import Role
        graph = self.context.graph
        inputs = graph.nodes_of_role(Role.INPUT) if graph is not None else []
        shape = tuple(inputs[0].params["shape"]) if len(inputs) == 1 else ()
        return shape if len(shape) == 3 else None

    def _on_document(self, document):
        if self.graph is not None:
            self.graph.changed.disconnect(self._graph_changed)
        self.graph = document.graph if document is not None else None
        if self.graph is not None:    # an edit of the input shape: the report follows it
            self.graph.changed.connect(self._graph_changed)
        self._show_input()

    def _graph_changed(self, change):
        self.input_timer.start()

    def _show_input(self):
        """The design's input (a new design, or an edit) against the report's images."""
        if self.report is not None and self.report.input_shape != self.input_shape():
            from designer.data.report import find_problems
            self.report.input_shape = self.input_shape()
            self.report.problems = find_problems(self.report)
            self.show_report(self.report)

    # -- scanning ------------------------------------------------------------------------------
    def _setting_changed(self, name):
        if name in AUGMENT_ROWS:
            self.preview_timer.start()
        elif self.context.document is None:   # no document to hold the choice: just look
            self.start_scan()

    def _choice_changed(self, choice):
        if choice is None:
            return
        if self.report is not None and choice.same_data(self.scanned):
            self.preview_timer.start()      # only the augmentation changed (here or in Train)
        else:
            self.start_scan()

    def values(self, names):
        values = self.form.values()
        return {name: values[name] for name in names}

    def choice(self):
        from designer.data.choice import DataChoice
        return self.context.data_choice or DataChoice.from_settings(self.form.values())

    def choose(self):
        """Scan: the form's dataset becomes the document's choice, and is read again."""
        from designer.data.choice import DataChoice
        choice = DataChoice.from_settings(self.form.values())
        if self.context.document is not None and choice != self.context.data_choice:
            self.context.set_data_choice(choice)      # which starts the scan
        else:
            self.start_scan()

    def start_scan(self):
        """Describe the chosen dataset in a job; False when one is already running."""
        if self.scan_job is not None:
            self.scan_job.stop()
            self.rescan = True
            return False
        self.rescan = False
        try:
            TRAIN_SETTINGS.only(*CHOICE_ROWS).check(self.values(CHOICE_ROWS))
        except DesignError as error:
            self.status.setText(str(error))
            return False
        choice = self.scanned = self.choice()
        self.scan_job = Job(parent=self)
        self.scan_job.progress.connect(
            lambda done, total: self.status.setText(f"reading images: {done:,} of {total:,}…"))
        self.scan_job.returned.connect(self.show_report)
        self.scan_job.errored.connect(self._scan_failed)
        self.scan_job.finished.connect(self._scan_done)
        self.scan_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status.setText(f"reading {choice.data_dir or choice.dataset}…")
        self.scan_job.start(scan, choice, self.input_shape(), self.scan_job.control,
                            self.scan_job.progress.emit)
        return True

    def stop(self):
        if self.scan_job is not None:
            self.scan_job.stop()

    def _scan_failed(self, sentence):
        self.report = None
        self.status.setText(sentence)
        self.draw_counts()
        self.grid.clear()
        self.augmented.clear()
        self.problems.clear()

    def _scan_done(self):
        self.scan_job.deleteLater()
        self.scan_job = None
        self.scan_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        if self.rescan:
            self.start_scan()

    def show_report(self, report):
        if self.rescan:      # the choice changed while it was read: this one is stale
            return
        self.report = report
        counts = report.counts()
        train, val = sum(counts["train"].values()), sum(counts["val"].values())
        sizes = report.sizes()["train"]
        size_text = ", ".join(list(sizes)[:3]) + (" …" if len(sizes) > 3 else "")
        shape = report.input_shape
        self.status.setText(
            f"{report.title}: {len(report.classes)} classes, {train:,} train / {val:,} val "
            f"images; sizes {size_text or 'none'}"
            + (f"; design input {'×'.join(map(str, shape))}" if shape else "")
            + f"; {len(report.problems) or 'no'} problem{'' if len(report.problems) == 1 else 's'}")
        self.label = min(self.label, max(0, len(report.classes) - 1))
        self.draw_counts()
        self.show_problems()
        self.refresh_preview()

    # -- the chart -----------------------------------------------------------------------------
    def draw_counts(self):
        self.chart.clear()
        if self.report is None:
            return
        counts = self.report.counts()
        classes = self.report.classes
        positions = list(range(len(classes)))
        for offset, split in ((-0.2, "train"), (0.2, "val")):
            heights = [counts[split][name] for name in classes]
            self.chart.addItem(pg.BarGraphItem(x=[i + offset for i in positions], height=heights,
                                               width=0.4, brush=SPLIT_COLOURS[split],
                                               pen=pg.mkPen(None), name=split))
        step = max(1, len(classes) // 20)     # at most 20 class names under the bars
        self.chart.getAxis("bottom").setTicks(
            [[(i, name) for i, name in enumerate(classes) if i % step == 0]])
        self.highlight = pg.BarGraphItem(x=[self.label], height=[0], width=0.9,
                                         brush=pg.mkBrush(None),
                                         pen=pg.mkPen(self.theme.text, width=1.5))
        tallest = max([max(c.values(), default=0) for c in counts.values()] + [1])
        self.highlight.setOpts(height=[tallest * 1.04])
        self.chart.addItem(self.highlight)
        self.chart.setXRange(-0.6, len(classes) - 0.4, padding=0)
        self.chart.setYRange(0, tallest * 1.18, padding=0)   # the legend's row on top

    def _chart_clicked(self, event):
        if self.report is None or not self.report.classes:
            return
        x = self.chart.plotItem.vb.mapSceneToView(event.scenePos()).x()
        label = int(round(x))
        if 0 <= label < len(self.report.classes):
            self.show_class(label)

    def show_class(self, label):
        """Show the samples of class `label` (an index into the report's classes)."""
        self.label = label
        self.draw_counts()
        self.refresh_preview()

    # -- samples and the augmentation preview ----------------------------------------------------
    def sample_items(self):
        if self.report is None:
            return []
        items = self.report.of("train", self.label) or self.report.of("val", self.label)
        return [item for item in items if item.channels][:SAMPLES]

    def draw_again(self):
        self.seed += 1
        self.refresh_preview()

    def refresh_preview(self):
        """The grid and the augmented samples of the shown class, drawn in a job (again once
        it ends, when asked while it runs)."""
        if self.report is None:
            return False
        if self.preview_job is not None:
            self.preview_again = True
            return False
        self.preview_again = False
        try:
            values = TRAIN_SETTINGS.only(*AUGMENT_ROWS).check(self.values(AUGMENT_ROWS))
        except DesignError as error:
            self.augmented_title.setText(str(error))
            return False
        items = self.sample_items()
        name = self.report.classes[self.label] if self.report.classes else ""
        self.grid_title.setText(f"Class {name}: {len(self.report.of('train', self.label)):,} "
                                f"train, {len(self.report.of('val', self.label)):,} val")
        self.preview_job = Job(parent=self)
        self.preview_job.returned.connect(lambda result: self._show_preview(items, *result))
        self.preview_job.errored.connect(self.augmented_title.setText)
        self.preview_job.finished.connect(self._preview_done)
        self.preview_job.start(preview, self.report, items, dict(values), self.input_shape(),
                               self.seed)
        return True

    def _preview_done(self):
        self.preview_job.deleteLater()
        self.preview_job = None
        if self.preview_again:
            self.refresh_preview()

    def _show_preview(self, items, samples, augmented):
        self.grid.clear()
        for item, image in zip(items, samples):
            if image is None:
                continue
            entry = QListWidgetItem(QIcon(to_pixmap(image, THUMB)), "")
            entry.setData(Qt.UserRole, (item, image))
            entry.setToolTip(f"{item.name}\n{item.width}×{item.height}, {item.channels} channel(s)")
            self.grid.addItem(entry)
        self.augmented.clear()
        self.augmented_images = augmented
        for image in augmented:
            self.augmented.addItem(QListWidgetItem(QIcon(to_pixmap(image, THUMB)), ""))
        shape = self.input_shape()
        self.augmented_title.setText(
            f"As training sees them ({'×'.join(map(str, shape))}, seed {self.seed})" if shape
            else "Open a design with an image input to see the augmentation")
        if self.grid.count():
            self.show_sample(self.grid.item(0))

    def show_sample(self, entry):
        item, image = entry.data(Qt.UserRole)
        side = max(64, min(self.enlarged.width(), self.enlarged.height()) - 8)
        self.enlarged.setPixmap(to_pixmap(image, side))
        self.enlarged_text.setText(f"{item.name}\n{item.width}×{item.height}, "
                                   f"{'grey' if item.channels == 1 else 'colour'}")

    # -- problems ------------------------------------------------------------------------------
    def show_problems(self):
        self.problems.clear()
        if not self.report.problems:
            self.problems.addTopLevelItem(QTreeWidgetItem(["No problems found", ""]))
        for problem in self.report.problems:
            row = QTreeWidgetItem([f"{problem.kind}: {problem.path}", problem.detail])
            row.setToolTip(0, problem.path)
            row.setToolTip(1, problem.detail)
            row.setData(0, Qt.UserRole, problem)
            for file in problem.files:
                row.addChild(QTreeWidgetItem([file, ""]))
            self.problems.addTopLevelItem(row)

    def _problem_clicked(self, row, column):
        """A class's problem shows that class's samples."""
        problem = row.data(0, Qt.UserRole)
        if problem is None or self.report is None:
            return
        for label, name in enumerate(self.report.classes):
            if problem.path.endswith(f"/{name}") or problem.path == f"class {name}":
                self.show_class(label)
                return

    # -- window hooks --------------------------------------------------------------------------
    def save_state(self):
        """The form's values (the window keeps them between sessions)."""
        return self.form.values()

    def restore_state(self, state):
        self.form.set_values(state)

    def close_question(self):
        return None      # a scan is only reading: stopped without asking

    def shutdown(self):
        if self.graph is not None:
            self.graph.changed.disconnect(self._graph_changed)
            self.graph = None
        for job in (self.scan_job, self.preview_job):
            if job is not None:
                job.stop()
                job.wait()
