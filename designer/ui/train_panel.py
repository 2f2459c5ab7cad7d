"""The Train panel: pick a dataset and hyperparameters, start / pause / resume / stop a run, and
watch loss, top-1/top-5 error, learning rate and throughput plot live.

`TrainPanel(get_graph)` trains a frozen copy of `get_graph()` taken when Start is pressed, so the
design can be edited meanwhile without touching the run. The run goes through `TrainWorker` (a
QThread around the engine's event generator); the panel only receives throttled signals and never
waits on it. Plots follow pyqtgraph's guidance for live data: one long-lived curve per series and
run, `setData` from a timer at a steady rate, clip-to-view and automatic peak downsampling. Every
run stays in the runs list with its curves in its own colour; ticking several compares them on the
same plots.
"""

from dataclasses import fields
import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QProgressBar, QPushButton, QScrollArea, QSpinBox, QSplitter,
                               QVBoxLayout, QWidget)

from designer.home import new_run_dir
from designer.train.config import TrainConfig
from .widgets import browse_row
from .worker import TrainWorker

RUN_COLOURS = ("#3b82f6", "#f97316", "#10b981", "#e11d48", "#8b5cf6", "#eab308", "#06b6d4",
               "#64748b")
PLOT_INTERVAL_MS = 200
SMOOTHING = 0.9          # exponential moving average of the step loss, bias-corrected
ERROR_STYLE = "color: #d33f3f;"

# series -> (plot, legend label, pen style, width, alpha 0..255, symbol)
SERIES = {
    "loss_step": ("loss", "train loss (step)", Qt.SolidLine, 1, 70, None),
    "loss_smooth": ("loss", "train loss (smoothed)", Qt.SolidLine, 2, 255, None),
    "val_loss": ("loss", "val loss", Qt.DashLine, 2, 255, "o"),
    "train_top1": ("error", "train top-1", Qt.SolidLine, 2, 255, None),
    "val_top1": ("error", "val top-1", Qt.DashLine, 2, 255, "o"),
    "train_top5": ("error", "train top-5", Qt.DotLine, 2, 200, None),
    "val_top5": ("error", "val top-5", Qt.DashDotLine, 2, 200, "t"),
    "lr": ("lr", "learning rate", Qt.SolidLine, 2, 255, None),
    "throughput": ("speed", "images/s", Qt.SolidLine, 1, 255, None),
}
PLOTS = (("loss", "Loss", "loss"), ("error", "Error (%)", "error %"),
         ("lr", "Learning rate", "lr"), ("speed", "Throughput", "images/s"))


def _setting_editor(default, meta):
    """The widget for one TrainConfig field, from its `setting(...)` metadata."""
    if "choices" in meta:
        editor = QComboBox()
        for value, title in meta["choices"].items():
            editor.addItem(title, value)
        editor.setCurrentIndex(list(meta["choices"]).index(default))
    elif meta.get("folder"):
        editor = QLineEdit(default or "")
        editor.setPlaceholderText("dataset folder")
    elif isinstance(default, bool):
        editor = QCheckBox(meta.get("text", ""))
        editor.setChecked(default)
    elif isinstance(default, int):
        editor = QSpinBox()
        editor.setRange(meta["low"], meta["high"])
        editor.setValue(default)
    else:
        editor = QDoubleSpinBox()
        editor.setDecimals(meta["decimals"])
        editor.setRange(meta["low"], meta["high"])
        editor.setSingleStep(meta["step"])
        editor.setSpecialValueText(meta.get("off", ""))
        editor.setValue(default)
    return editor


def _editor_value(editor):
    if isinstance(editor, QComboBox):
        return editor.currentData()
    if isinstance(editor, QLineEdit):
        return editor.text().strip() or None
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    return editor.value()


class Run:
    """One training run's series and its long-lived curve items (created once, fed by setData)."""

    def __init__(self, name, colour, steps_per_epoch=1):
        self.name = name
        self.colour = colour
        self.steps_per_epoch = steps_per_epoch
        self.data = {series: ([], []) for series in SERIES}
        self.items = {}
        self.dirty = set()
        self.smoothed = 0.0
        self.smoothed_count = 0
        self.rate = None           # images/s, smoothed like the loss: single readings are noisy
        self.status = "starting"
        self.run_dir = None

    def add(self, series, x, y):
        if y is None or not math.isfinite(y):
            return
        xs, ys = self.data[series]
        xs.append(x)
        ys.append(y)
        self.dirty.add(series)

    def add_step(self, x, loss, lr, images_per_s=None):
        self.add("loss_step", x, loss)
        self.smoothed = SMOOTHING * self.smoothed + (1 - SMOOTHING) * loss
        self.smoothed_count += 1
        self.add("loss_smooth", x, self.smoothed / (1 - SMOOTHING ** self.smoothed_count))
        self.add("lr", x, lr)
        if images_per_s is not None:
            self.rate = images_per_s if self.rate is None else (
                SMOOTHING * self.rate + (1 - SMOOTHING) * images_per_s)
            self.add("throughput", x, self.rate)

    def add_epoch(self, row):
        x = row["epoch"]
        self.add("val_loss", x, row["val_loss"])
        for name in ("train_top1", "val_top1", "train_top5", "val_top5"):
            value = row[f"{name}_error"]
            self.add(name, x, None if value is None else 100 * value)

    def points(self, series):
        return len(self.data[series][0])


class TrainPanel(QWidget):
    """`TrainPanel(context, parent=None, runs_dir=None)`: trains the graph of `context.document`
    (a `PanelContext`, see `panel_registry`)."""

    def __init__(self, context, parent=None, runs_dir=None):
        super().__init__(parent)
        self.context = context
        self.runs_dir = runs_dir    # None: the default runs folder (designer.home.runs_root)
        self.worker = None
        self.runs = []
        self.current = None

        self._build_form()
        self._build_controls()
        self._build_plots()

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        form_holder = QWidget()
        form_holder.setLayout(self.form)
        scroll.setWidget(form_holder)
        side_layout.addWidget(scroll, 3)
        side_layout.addWidget(QLabel("Runs (tick to compare)"))
        side_layout.addWidget(self.runs_list, 1)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(self.buttons_row)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.status_label)
        right_layout.addWidget(self.plot_widget, 1)

        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(side)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([360, 740])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

        self.timer = QTimer(self)
        self.timer.setInterval(PLOT_INTERVAL_MS)
        self.timer.timeout.connect(self.refresh_plots)
        self._set_state("idle")

    # -- widgets ---------------------------------------------------------------------------
    def _build_form(self):
        """One row per TrainConfig field made with `setting(...)`, in field order, then the
        weights to start from (an argument of the run, not a setting)."""
        self.form = QFormLayout()
        self.editors = {}
        for spec in fields(TrainConfig):
            if "label" in spec.metadata:
                self.editors[spec.name] = editor = _setting_editor(spec.default, spec.metadata)
                row = browse_row(editor, self._browse_data_dir) if spec.metadata.get("folder") else editor
                row.setToolTip(spec.metadata["help"])
                self.form.addRow(spec.metadata["label"], row)
        self.weights_edit = QLineEdit()
        self.weights_edit.setPlaceholderText("optional .pt or .pth")
        self.weights_edit.setToolTip("Start from these weights (e.g. torchvision's, for a preset "
                                     "named like its model); the first message reports what loaded.")
        self.form.addRow("Start from", browse_row(self.weights_edit, self._browse_weights))
        # Knowledge distillation (designer.compress.distill): a trained teacher's soft targets.
        self.teacher_edit = QLineEdit()
        self.teacher_edit.setPlaceholderText("optional: a trained design (.json) or preset")
        self.teacher_weights_edit = QLineEdit()
        self.teacher_weights_edit.setPlaceholderText("the teacher's weights (.pt)")
        self.temperature_spin = _setting_editor(2.0, {"low": 0.1, "high": 100.0, "decimals": 2,
                                                      "step": 0.5})
        self.alpha_spin = _setting_editor(0.5, {"low": 0.0, "high": 1.0, "decimals": 2, "step": 0.1})
        for label, widget in (
                ("Distil from", browse_row(self.teacher_edit, self._browse_teacher)),
                ("Teacher weights", browse_row(self.teacher_weights_edit,
                                               self._browse_teacher_weights)),
                ("Temperature", self.temperature_spin), ("α (soft-target weight)", self.alpha_spin)):
            self.form.addRow(label, widget)
        self._settings_widgets = [self.form.itemAt(i).widget() for i in range(self.form.count())
                                  if self.form.itemAt(i).widget() is not None]
        self.editors["dataset"].currentIndexChanged.connect(self._dataset_changed)
        self._dataset_changed()

    def _build_controls(self):
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.stop_button = QPushButton("Stop")
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.resume)
        self.stop_button.clicked.connect(self.stop)
        self.buttons_row = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.resume_button, self.stop_button):
            self.buttons_row.addWidget(button)
        self.buttons_row.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("idle")
        self.progress.setTextVisible(True)
        self.status_label = QLabel("Choose a dataset and press Start.")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.runs_list = QListWidget()
        self.runs_list.itemChanged.connect(self._run_ticked)

    def _build_plots(self):
        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plot_widget.setBackground(None)
        self.plots = {}
        for index, (key, title, unit) in enumerate(PLOTS):
            plot = self.plot_widget.addPlot(row=index // 2, col=index % 2, title=title)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setLabel("bottom", "epoch")
            plot.setLabel("left", unit)
            plot.addLegend(offset=(-5, 5), labelTextSize="8pt")
            # Applied by the plot to every curve it holds (PlotItem.addItem overrides per-item
            # settings with the plot's own).
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            self.plots[key] = plot

    # -- settings --------------------------------------------------------------------------
    def _dataset_changed(self):
        dataset = self.editors["dataset"].currentData()
        self.editors["data_dir"].parentWidget().setEnabled(dataset != "digits")
        self.editors["download"].setEnabled(dataset not in ("digits", "imagefolder"))

    def _browse_weights(self):
        path, _ = QFileDialog.getOpenFileName(self, "Start from weights", self.weights_edit.text(),
                                              "PyTorch weights (*.pt *.pth *.ckpt);;All files (*)")
        if path:
            self.weights_edit.setText(path)

    def _browse_teacher(self):
        path, _ = QFileDialog.getOpenFileName(self, "Teacher design", self.teacher_edit.text(),
                                              "Designs (*.json)")
        if path:
            self.teacher_edit.setText(path)

    def _browse_teacher_weights(self):
        path, _ = QFileDialog.getOpenFileName(self, "Teacher weights",
                                              self.teacher_weights_edit.text(),
                                              "Weights (*.pt *.pth)")
        if path:
            self.teacher_weights_edit.setText(path)

    def distillation(self):
        """(teacher, teacher weights, temperature, alpha) when a teacher is set, else None."""
        teacher = self.teacher_edit.text().strip()
        if not teacher:
            return None
        return (teacher, self.teacher_weights_edit.text().strip(), self.temperature_spin.value(),
                self.alpha_spin.value())

    def _browse_data_dir(self):
        edit = self.editors["data_dir"]
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", edit.text())
        if folder:
            edit.setText(folder)

    def config(self):
        """The TrainConfig the form describes (the run folder is chosen at Start)."""
        return TrainConfig(**{name: _editor_value(editor) for name, editor in self.editors.items()})

    # -- run control -----------------------------------------------------------------------
    @property
    def is_running(self):
        return self.worker is not None and self.worker.isRunning()

    def start(self):
        if self.is_running:
            return
        graph = self.context.graph
        if graph is None:
            self._show_error("Open or create a design first.")
            return
        config = self.config()
        name = f"{graph.name or 'design'} · {config.dataset} · {time.strftime('%H:%M:%S')}"
        config.out = str(new_run_dir(graph.name, config.dataset, self.runs_dir))
        run = Run(name, RUN_COLOURS[len(self.runs) % len(RUN_COLOURS)])
        self._add_run(run)
        self.current = run
        self.worker = TrainWorker(graph, config, weights=self.weights_edit.text().strip() or None,
                                  parent=self, distill=self.distillation())
        self.worker.started_run.connect(self._on_start)
        self.worker.steps.connect(self._on_steps)
        self.worker.epoch.connect(self._on_epoch)
        self.worker.paused.connect(self._on_paused)
        self.worker.resumed.connect(self._on_resumed)
        self.worker.message.connect(self._show_info)
        self.worker.finished_run.connect(self._on_finished)
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self._show_info(f"Preparing {config.dataset} and compiling the design…")
        self._set_state("running")
        self.worker.start()
        self.timer.start()

    def pause(self):
        if self.is_running:
            self.worker.pause()
            self.pause_button.setEnabled(False)
            self._show_info("Pausing after the current step…")

    def resume(self):
        if self.worker is not None:
            self.worker.resume()

    def stop(self):
        if self.worker is not None:
            self.worker.stop()
            self.stop_button.setEnabled(False)
            self.pause_button.setEnabled(False)
            self.resume_button.setEnabled(False)
            self._show_info("Stopping after the current step…")

    def close_question(self):
        """What the main window asks before it closes while a run is going (None when idle)."""
        if not self.is_running:
            return None
        return ("Training is running", "Stop the training run and quit? The last checkpoint is "
                "kept and the run can be resumed from it.")

    def shutdown(self, timeout_ms=10_000):
        """Stop a run and wait for its thread (the main window calls this when it closes)."""
        if self.worker is not None:
            self.worker.stop()
            self.worker.wait(timeout_ms)

    def _set_state(self, state):
        running = state in ("running", "paused")
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(state == "running")
        self.resume_button.setEnabled(state == "paused")
        self.stop_button.setEnabled(running)
        for widget in self._settings_widgets:
            widget.setEnabled(not running)
        if not running:
            self._dataset_changed()

    # -- worker signals (GUI thread) -------------------------------------------------------
    def _on_start(self, event):
        run = self.current
        run.steps_per_epoch = event.steps_per_epoch
        run.run_dir = event.run_dir
        run.status = "running"
        for step, (loss, lr) in enumerate(event.step_log, 1):
            run.add_step(step / run.steps_per_epoch, loss, lr)
        for row in event.history:
            run.add_epoch(row)
            run.add("throughput", row["epoch"], row["images_per_s"])
        self._show_info(f"Training on {event.device}: {event.train_size:,} training and "
                        f"{event.val_size:,} validation images of {event.dataset}, "
                        f"{event.parameters:,} parameters. Run folder: {event.run_dir}")

    def _on_paused(self):
        self._set_state("paused")
        self._show_info("Paused. Resume continues from the same step.")

    def _on_resumed(self):
        self._set_state("running")
        self._show_info("Training.")

    def _on_steps(self, events):
        run = self.current
        for event in events:
            run.add_step(event.epoch_progress, event.loss, event.lr, event.images_per_s)
        last = events[-1]
        self.progress.setValue(int(1000 * last.progress))
        self.progress.setFormat(f"epoch {last.epoch}/{self.worker.config.epochs} · step "
                                f"{last.step} · loss {last.loss:.4f} · "
                                f"{last.images_per_s:,.0f} img/s · ETA {_duration(last.eta_s)}")

    def _on_epoch(self, event):
        self.current.add_epoch(event.metrics())
        self.progress.setValue(int(1000 * event.progress))
        self._show_info(f"Epoch {event.epoch}: val loss {event.val_loss:.4f}, top-1 error "
                        f"{event.val_top1_error:.2%}, top-5 error {event.val_top5_error:.2%}"
                        f"{' (best so far)' if event.best else ''}")

    def _on_finished(self, event):
        run = self.current
        run.status = event.status
        self.refresh_plots()
        self.timer.stop()
        if event.status == "failed":
            self._show_error(event.message)
            self.progress.setFormat("failed")
        else:
            self._show_info(event.message)
            self.progress.setFormat(event.status)
        item = self.runs_list.item(self.runs.index(run))
        item.setText(f"{run.name} — {run.status}")
        self._set_state("idle")

    # -- runs and plots --------------------------------------------------------------------
    def _add_run(self, run):
        self.runs.append(run)
        for series, (plot_key, label, style, width, alpha, symbol) in SERIES.items():
            colour = QColor(run.colour)
            colour.setAlpha(alpha)
            pen = pg.mkPen(colour, width=width, style=style)
            item = pg.PlotDataItem([], [], pen=pen, name=f"{label} · run {len(self.runs)}",
                                   symbol=symbol, symbolSize=5, symbolBrush=colour,
                                   symbolPen=None)
            self.plots[plot_key].addItem(item)
            run.items[series] = item
        entry = QListWidgetItem(run.name)
        entry.setFlags(entry.flags() | Qt.ItemIsUserCheckable)
        entry.setCheckState(Qt.Checked)
        entry.setForeground(QColor(run.colour))
        self.runs_list.addItem(entry)
        # Only the new run and runs the person ticked stay visible: earlier runs are unticked.
        self.runs_list.blockSignals(True)
        for index, other in enumerate(self.runs[:-1]):
            self.runs_list.item(index).setCheckState(Qt.Unchecked)
            self._show_run(other, False)
        self.runs_list.blockSignals(False)

    def _run_ticked(self, item):
        run = self.runs[self.runs_list.row(item)]
        self._show_run(run, item.checkState() == Qt.Checked)

    @staticmethod
    def _show_run(run, visible):
        for item in run.items.values():
            item.setVisible(visible)

    def refresh_plots(self):
        """Push new points to the curves that changed (runs on a timer, never per step)."""
        for run in self.runs:
            for series in run.dirty:
                xs, ys = run.data[series]
                run.items[series].setData(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
            run.dirty.clear()

    def _show_info(self, text):
        self.status_label.setStyleSheet("")
        self.status_label.setText(text)

    def _show_error(self, text):
        self.status_label.setStyleSheet(ERROR_STYLE)
        self.status_label.setText(text)


def _duration(seconds):
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
