"""The Train panel: pick a dataset and hyperparameters (a form made from the training settings,
row for row the flags of `designer train`), start / pause / resume / stop a run, and
watch loss, top-1/top-5 error, learning rate and throughput plot live.

`TrainPanel(context)` trains a frozen copy of the open design taken when Start is pressed, so the
design can be edited meanwhile without touching the run. The engine's event generator runs in a
`Job` (designer.ui.jobs) that sends its steps in batches; the panel only receives signals and never
waits on it; pause, resume and stop go through the engine's thread-safe `TrainControl`. Plots
follow pyqtgraph's guidance for live data: one long-lived curve per series and run, `setData` from
a timer at a steady rate, clip-to-view and automatic peak downsampling. Every run stays in the runs
list with its curves in its own colour, under the name it keeps in its folder (run.json); ticking
several compares them on the same plots (so do the runs ticked in the Runs panel). Resume
continues a stopped run; Continue… extends any run, a finished one too, to more epochs; both
refuse a run of another design and change nothing.
"""

import csv
import json
import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QHBoxLayout, QInputDialog, QLabel, QListWidget,
                               QListWidgetItem, QProgressBar, QPushButton, QVBoxLayout,
                               QWidget)

from designer.core.errors import DesignError
from designer.home import new_run_dir, runs_root
from designer.train import runs as run_files
from designer.train.config import START_SETTINGS, TRAIN_SETTINGS, TrainConfig
from designer.train.events import Epoch, Finished, Message, Paused, Resumed, Start, Step
from designer.train.threads import compile_note
from .forms import SettingsForm
from .panel_registry import DataField
from .jobs import Job
from .widgets import scrolled, side_by_side

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
# plot -> (title, key to the line styles (colours are the runs'), axis label). The key sits in the
# title rather than in a legend inside the plot, which covered curves and grew with every run.
PLOTS = (("loss", "Loss", "thin: each step · thick: smoothed · dashed ○: validation", "loss"),
         ("error", "Error (%)", "solid: train · dashed: val · top-1 thick, top-5 dotted", "error %"),
         ("lr", "Learning rate", "", "learning rate"), ("speed", "Throughput", "", "images/s"))
EARLIER_RUNS_SHOWN = 20
# Form sections shown folded at first: what most runs leave at its defaults.
FOLDED_GROUPS = ("Schedule", "Augmentation", "Hardware", "Run")


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
        self.status = "starting"    # then running, completed, stopped, interrupted or failed
        self.message = ""           # what the engine said when it ended (why it failed)
        self.epochs = None          # the epochs it is to train in total
        self.epochs_done = 0
        self.run_dir = None
        self.document = None        # the document trained, once launched
        self.steps_unread = False   # a run read from disk reads its steps.csv when first shown
        self.earlier = None         # (status, message) while a resume of it is starting

    def clear(self):
        """Forget the curves (a resumed run's start event replays them from its checkpoint)."""
        for series in self.data:
            self.data[series] = ([], [])
            self.dirty.add(series)
        self.smoothed, self.smoothed_count, self.rate = 0.0, 0, None
        self.steps_unread = False

    @property
    def can_continue(self):
        return (self.status not in ("starting", "running") and self.run_dir is not None
                and (Path(self.run_dir) / "last.pt").is_file())

    @property
    def can_resume(self):
        """Stopped before its last epoch, with a checkpoint to go on from."""
        return self.can_continue and self.epochs is not None and self.epochs_done < self.epochs

    def status_text(self):
        """How the runs list describes the run: the same while the app runs and after a
        restart, as both come from the same fields."""
        if self.status in ("starting", "running"):
            return ""
        if self.status == "failed":
            return "failed"
        done = self.epochs_done
        count = (f"{done} of {self.epochs} epochs" if self.epochs and done < self.epochs
                 else _epochs(done))
        text = count if self.status == "completed" else f"{self.status}, {count}"
        return text + (", can resume" if self.can_resume else "")

    def tooltip(self):
        return "\n".join(part for part in (self.run_dir, self.message) if part)

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

    state_changed = Signal()    # a setting changed: what `save_state` gives is new

    def __init__(self, context, parent=None, runs_dir=None):
        super().__init__(parent)
        self.context = context
        self.runs_dir = runs_dir    # None: the default runs folder (designer.home.runs_root)
        self.job = None
        self.result = None          # the last run's `Finished` event; None while it runs
        self.runs = []
        self.current = None
        self.run_messages = []      # the running run's messages, shown on hover

        self._build_form()
        self.data_field = DataField(context, self.form)   # the document's one dataset
        self._build_controls()
        self._build_plots()

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(scrolled(self.form), 5)
        side_layout.addWidget(self.compile_note)
        side_layout.addWidget(QLabel("Runs (tick to compare)"))
        side_layout.addWidget(self.runs_list, 1)
        run_buttons = QHBoxLayout()
        run_buttons.addWidget(self.resume_run_button)
        run_buttons.addWidget(self.continue_run_button)
        side_layout.addLayout(run_buttons)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(self.buttons_row)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.status_label)
        right_layout.addWidget(self.plot_widget, 1)

        side_by_side(self, side, right, sizes=[360, 740])

        self.timer = QTimer(self)
        self.timer.setInterval(PLOT_INTERVAL_MS)
        self.timer.timeout.connect(self.refresh_plots)
        self._set_state("idle")
        self.load_earlier_runs()
        context.runs_plot_requested.connect(self.plot_runs)

    # -- widgets ---------------------------------------------------------------------------
    def _build_form(self):
        """The form made from the training settings (designer.train.config.TRAIN_SETTINGS):
        every `designer train` setting, in the same groups, with the same help."""
        self.form = SettingsForm(TRAIN_SETTINGS, folded=FOLDED_GROUPS)
        self.form.changed.connect(lambda name: self.state_changed.emit())
        self.editors = self.form.editors
        # Said before a run starts, not only in its messages: compiling seldom pays for a small
        # model on the CPU (designer.train.threads' measured rule).
        self.compile_note = QLabel()
        self.compile_note.setWordWrap(True)
        self.compile_note.setVisible(False)
        self.form.changed.connect(self._update_compile_note)
        self.context.document_changed.connect(lambda _: self._update_compile_note())

    def _update_compile_note(self, *_):
        values, document = self.form.values(), self.context.document
        note = None
        if values["compile"] and values["device"] != "cuda" and document is not None:
            note = compile_note(document.analyzer.totals.macs, "cpu")
        self.compile_note.setText(note or "")
        self.compile_note.setVisible(note is not None)

    def _build_controls(self):
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.stop_button = QPushButton("Stop")
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.resume)
        self.stop_button.clicked.connect(self.stop)
        self.adapt_button = QPushButton("Adapt to dataset")
        self.adapt_button.setToolTip("Give the design's classifier (the last fully connected "
                                     "layer or 1×1 convolution) one output per class of the "
                                     "chosen dataset, as one undoable edit; --new-head does "
                                     "this for one run")
        self.adapt_button.clicked.connect(self.adapt_to_dataset)
        self.buttons_row = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.resume_button, self.stop_button):
            self.buttons_row.addWidget(button)
        self.buttons_row.addStretch(1)
        self.buttons_row.addWidget(self.adapt_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("idle")
        self.progress.setTextVisible(True)
        self.status_label = QLabel("Choose a dataset and press Start.")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.runs_list = QListWidget()
        self.runs_list.itemChanged.connect(self._run_ticked)
        self.runs_list.currentRowChanged.connect(lambda row: self._update_resume())
        self.runs_list.currentRowChanged.connect(lambda row: self._announce_weights(
            self._selected_run()))
        self.resume_run_button = QPushButton("Resume Selected Run")
        self.resume_run_button.setToolTip("Train the selected stopped run on to its epochs from "
                                          "its last checkpoint, with its settings (the open "
                                          "design must be the one it trained)")
        self.resume_run_button.clicked.connect(self.resume_run)
        self.continue_run_button = QPushButton("Continue…")
        self.continue_run_button.setToolTip("Extend the selected run, a finished one too, to "
                                            "more epochs in total, its curves going on (the "
                                            "open design must be the one it trained)")
        self.continue_run_button.clicked.connect(self.ask_continue)
        self.continue_dialog = None

    def _build_plots(self):
        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plots = {}
        for index, (key, title, style_key, unit) in enumerate(PLOTS):
            plot = self.plot_widget.addPlot(row=index // 2, col=index % 2)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setLabel("bottom", "epoch")
            plot.setLabel("left", unit)
            for side in ("left", "bottom"):
                plot.getAxis(side).enableAutoSIPrefix(False)   # plain numbers, never "(x0.001)"
            # Applied by the plot to every curve it holds (PlotItem.addItem overrides per-item
            # settings with the plot's own).
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            plot.title_parts = (title, style_key)
            self.plots[key] = plot
        self.set_theme(self.context.theme)
        self.context.theme_changed.connect(self.set_theme)

    def set_theme(self, theme):
        """Plot colours from the editor's theme (None: light): background, axes, grid, titles."""
        background = theme.base if theme is not None else "#ffffff"
        text = theme.text if theme is not None else "#1f2430"
        dim = theme.text_dim if theme is not None else "#5f6878"
        self.plot_widget.setBackground(background)
        for plot in self.plots.values():
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(pg.mkPen(dim))
                axis.setTextPen(pg.mkPen(text))
            title, style_key = plot.title_parts
            key = f"&nbsp;&nbsp;<span style='color:{dim}; font-size:8pt'>{style_key}</span>" if style_key else ""
            plot.setTitle(f"<span style='color:{text}'>{title}</span>{key}", size="9pt")

    # -- settings --------------------------------------------------------------------------
    def distillation(self):
        """(teacher, teacher weights, temperature, alpha) when a teacher is set, else None."""
        start = START_SETTINGS.check({name: self.form.values()[name] for name in
                                      START_SETTINGS.by_name})
        if not start.teacher:
            return None
        return (start.teacher, start.teacher_weights, start.temperature, start.alpha)

    def config(self):
        """The TrainConfig the form describes (without a run folder, one is made at Start)."""
        values = self.form.values()
        return TrainConfig(**{name: values[name] for name in TrainConfig.SETTINGS.by_name})

    def adapt_to_dataset(self):
        """Set the open design's classifier to the dataset's class count: one edit on the
        document's undo stack. False when nothing changed (the sentence says why)."""
        from designer.core.heads import new_head_command
        from designer.train.data import dataset_classes
        document = self.context.document
        if document is None:
            self._show_error("Open or create a design first.")
            return False
        try:
            config = self.config().validate()
            classes = len(dataset_classes(config))
            command, head = new_head_command(document.graph, classes)
        except DesignError as error:
            self._show_error(str(error))
            return False
        if command is None:
            self._show_info(f"{head.node_id} already gives {classes} outputs, one per class.")
            return False
        document.push(command)
        self._show_info(f"{head.node_id} now gives {classes} outputs (it gave {head.outputs}); "
                        "its weights start new.")
        return True

    # -- run control -----------------------------------------------------------------------
    @property
    def is_running(self):
        return self.job is not None and self.job.isRunning()

    def start(self):
        if self.is_running:
            if self.result is None:
                return
            # The run has ended and Start is enabled again, but its thread may still be exiting:
            # wait for it rather than ignore the click.
            self.job.wait()
        graph = self.context.graph
        if graph is None:
            self._show_error("Open or create a design first.")
            return
        try:
            config = self.config().validate()
        except DesignError as error:
            self._show_error(str(error))
            return
        if config.out is None:
            config.out = str(new_run_dir(graph.name, config.dataset, self.runs_dir))
        elif run_files.holds_run(config.out):
            self._show_error(f"{config.out} already holds a training run: choose another Run "
                             "folder, or leave it empty for a new one (to train that run on, "
                             "select it in the runs list and press Continue…).")
            return
        run = Run(run_files.run_name(graph.name, config.dataset),
                  RUN_COLOURS[len(self.runs) % len(RUN_COLOURS)])
        run.epochs = config.epochs
        self._add_run(run)
        self._launch(run, config, weights=self.form.values()["weights"],
                     pretrained=self.form.values()["pretrained"])

    def _launch(self, run, config, weights=None, resume=None, pretrained=False):
        from designer.train.control import TrainControl
        self.current = run
        run.document = self.context.document
        self.result = None
        self.job = Job(control=TrainControl(), batch=Step, parent=self)
        self.job.yielded.connect(self._on_event)
        self.job.returned.connect(self._on_finished)
        self.job.errored.connect(lambda sentence: self._on_finished(Finished("failed", sentence)))
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self._show_info(f"Preparing {config.dataset} and compiling the design…")
        self._set_state("running")
        # A frozen copy of the design: editing it cannot race the run.
        self.job.start(training, self.context.graph.copy(), config, self.job.control, weights,
                       resume, self.distillation() if resume is None else None, run.name,
                       pretrained)
        self.timer.start()

    def pause(self):
        if self.is_running:
            self.job.pause()
            self.pause_button.setEnabled(False)
            self._show_info("Pausing after the current step…")

    def resume(self):
        if self.job is not None:
            self.job.resume()

    def stop(self):
        if self.job is not None:
            self.job.stop()
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
        if self.job is not None:
            self.job.stop()
            self.job.wait(timeout_ms)

    def _set_state(self, state):
        running = state in ("running", "paused")
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(state == "running")
        self.resume_button.setEnabled(state == "paused")
        self.stop_button.setEnabled(running)
        self.form.setEnabled(not running)
        if hasattr(self, "continue_run_button"):
            self._update_resume()

    # -- the run's events (GUI thread) ----------------------------------------------------
    def _on_event(self, event):
        """One engine event, or a list of `Step` events (the job batches them)."""
        if isinstance(event, list):
            self._on_steps(event)
        elif isinstance(event, Start):
            self._on_start(event)
        elif isinstance(event, Epoch):
            self._on_epoch(event)
        elif isinstance(event, Paused):
            self._on_paused()
        elif isinstance(event, Resumed):
            self._on_resumed()
        elif isinstance(event, Message):
            # Each message in turn, and all of the run's on hover (what the weights did not
            # load, what is frozen), since the next one replaces the text.
            self.run_messages.append(event.text)
            self._show_info(event.text)
            self.status_label.setToolTip("\n".join(self.run_messages))

    def _on_start(self, event):
        run = self.current
        self.run_messages = []
        run.clear()
        run.epochs = event.epochs
        run.epochs_done = len(event.history)
        run.steps_per_epoch = event.steps_per_epoch
        run.run_dir = event.run_dir
        run.status = "running"
        self._update_entry(run)
        self.runs_list.item(self.runs.index(run)).setCheckState(Qt.Checked)   # shown as it trains
        for step, (loss, lr) in enumerate(event.step_log, 1):
            run.add_step(step / run.steps_per_epoch, loss, lr)
        for row in event.history:
            run.add_epoch(row)
            run.add("throughput", row["epoch"], row["images_per_s"])
        frozen = event.parameters - (event.trainable_parameters or event.parameters)
        counted = (f"{event.parameters:,} parameters ({frozen:,} frozen)" if frozen
                   else f"{event.parameters:,} parameters")
        self._show_info(f"Training on {event.device}: {event.train_size:,} training and "
                        f"{event.val_size:,} validation images of {event.dataset}, "
                        f"{counted}. Run folder: {event.run_dir}")

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
        self.progress.setFormat(f"epoch {last.epoch}/{run.epochs} · step "
                                f"{last.step} · loss {last.loss:.4f} · "
                                f"{last.images_per_s:,.0f} img/s · ETA {_duration(last.eta_s)}")

    def _on_epoch(self, event):
        self.current.add_epoch(event.metrics())
        self.current.epochs_done = event.epoch
        self.progress.setValue(int(1000 * event.progress))
        self._show_info(f"Epoch {event.epoch}: val loss {event.val_loss:.4f}, top-1 error "
                        f"{event.val_top1_error:.2%}, top-5 error {event.val_top5_error:.2%}"
                        f"{' (best so far)' if event.best else ''}")

    def _on_finished(self, event):
        self.result = event
        run = self.current
        if run.status == "starting" and run.earlier is not None:
            # Refused before it started (another design, a damaged checkpoint): the run is as
            # it was, entry, status and curves.
            run.status, run.message = run.earlier
        else:
            run.status, run.message = event.status, event.message
        run.earlier = None
        self.refresh_plots()
        self.timer.stop()
        if event.status == "failed":
            self._show_error(event.message)
            self.progress.setFormat("failed")
        else:
            self._show_info(event.message)
            self.progress.setFormat(event.status)
        self._update_entry(run)
        self._set_state("idle")
        if event.status != "failed" and run.document is self.context.document:
            self._announce_weights(run)

    def _announce_weights(self, run):
        """A run's best.pt becomes the open design's current weights (Export, Compress and
        Insight start from it)."""
        best = Path(run.run_dir) / "best.pt" if run is not None and run.run_dir else None
        if best is not None and best.is_file():
            self.context.set_current_weights(best)

    # -- runs and plots --------------------------------------------------------------------
    def _add_run(self, run, shown=True):
        """Add a run's curves and its entry in the runs list. A new run is shown alone (earlier
        runs are unticked); a run read from disk is listed unticked."""
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
        entry = QListWidgetItem()
        entry.setFlags(entry.flags() | Qt.ItemIsUserCheckable)
        entry.setForeground(QColor(run.colour))
        self.runs_list.blockSignals(True)
        entry.setCheckState(Qt.Checked if shown else Qt.Unchecked)
        self.runs_list.addItem(entry)
        if shown:   # only the new run and runs the person ticks stay visible
            for index, other in enumerate(self.runs[:-1]):
                self.runs_list.item(index).setCheckState(Qt.Unchecked)
                self._show_run(other, False)
        else:
            self._show_run(run, False)
        self._update_entry(run)
        self.runs_list.blockSignals(False)

    def _update_entry(self, run):
        entry = self.runs_list.item(self.runs.index(run))
        status = run.status_text()
        entry.setText(f"{run.name} — {status}" if status else run.name)
        entry.setToolTip(run.tooltip())

    def _run_ticked(self, item):
        run = self.runs[self.runs_list.row(item)]
        if item.checkState() == Qt.Checked and run.steps_unread:
            try:
                read_steps(run)
            except (OSError, ValueError, KeyError):
                pass   # the epochs still show
            self.refresh_plots()
        self._show_run(run, item.checkState() == Qt.Checked)
        self._fit_plots()
        self._update_resume()

    def _fit_plots(self):
        """Axes over the union of the shown runs' curves. A curve shown or hidden changes no
        data, so the plots would not look again by themselves and kept the first run's range."""
        for plot in self.plots.values():
            view = plot.getViewBox()
            view.enableAutoRange()
            view.updateAutoRange()

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

    def load_earlier_runs(self):
        """List the runs already in the runs folder (newest last, unticked) with their curves,
        read from the metrics.csv and steps.csv each run writes."""
        root = Path(self.runs_dir) if self.runs_dir is not None else runs_root()
        folders = sorted((p for p in root.glob("*") if (p / "metrics.csv").is_file()),
                         key=lambda p: (p / "metrics.csv").stat().st_mtime) if root.is_dir() else []
        for folder in folders[-EARLIER_RUNS_SHOWN:]:
            try:
                run = read_run(folder, RUN_COLOURS[len(self.runs) % len(RUN_COLOURS)])
            except (OSError, ValueError, KeyError):
                continue   # a half-written or foreign folder is not listed
            self._add_run(run, shown=False)
        self.refresh_plots()

    def plot_runs(self, folders):
        """Show the curves of the runs in `folders` together (the Runs panel's ticks), reading
        those not listed yet from their folders; the other runs are hidden, but for a run
        training now. The axes span the union of the shown runs' epochs."""
        wanted = {str(Path(folder)) for folder in folders}
        listed = {str(Path(run.run_dir)) for run in self.runs if run.run_dir}
        for folder in sorted(wanted - listed):
            try:
                run = read_run(folder, RUN_COLOURS[len(self.runs) % len(RUN_COLOURS)])
            except (OSError, ValueError, KeyError):
                continue   # a run without curves yet
            self._add_run(run, shown=False)
        self.refresh_plots()
        for index, run in enumerate(self.runs):
            if run is self.current and self.is_running:
                continue
            shown = run.run_dir is not None and str(Path(run.run_dir)) in wanted
            entry = self.runs_list.item(index)
            if (entry.checkState() == Qt.Checked) != shown:
                entry.setCheckState(Qt.Checked if shown else Qt.Unchecked)   # _run_ticked

    def _selected_run(self):
        row = self.runs_list.currentRow()
        return self.runs[row] if 0 <= row < len(self.runs) else None

    def _update_resume(self):
        run = self._selected_run()
        idle = not self.is_running and run is not None
        self.resume_run_button.setEnabled(idle and run.can_resume)
        self.continue_run_button.setEnabled(idle and run.can_continue)

    def resume_run(self):
        """Train the selected stopped run on to its epochs."""
        run = self._selected_run()
        if run is not None and run.can_resume:
            self.continue_run(run, run.epochs)

    def ask_continue(self):
        """Ask for the selected run's new total of epochs, then continue it (`continue_run`)."""
        run = self._selected_run()
        if run is None or not run.can_continue or self.is_running:
            return
        dialog = self.continue_dialog = QInputDialog(self)
        dialog.setWindowTitle("Continue Run")
        dialog.setLabelText(f"Train {run.name} ({_epochs(run.epochs_done)} so far) to how many "
                            "epochs in total?")
        dialog.setInputMode(QInputDialog.IntInput)
        dialog.setIntRange(run.epochs_done + 1, 100_000)
        dialog.setIntValue(run.epochs if run.can_resume else 2 * run.epochs_done)
        dialog.setOkButtonText("Continue")
        dialog.accepted.connect(lambda: self.continue_run(run, dialog.intValue()))
        dialog.open()

    def continue_run(self, run, epochs):
        """Train `run` on from its last checkpoint to `epochs` in total, with its own settings,
        in its own folder, its curves going on. It must have been trained on the open design:
        otherwise, or when it has `epochs` already, a sentence says so and nothing changes."""
        graph = self.context.graph
        if graph is None or self.is_running:
            return
        try:
            config = self._continued_config(run, graph, epochs)
        except DesignError as error:
            self._show_error(str(error))
            return
        run.earlier = (run.status, run.message)
        run.status, run.message = "starting", ""
        self._update_entry(run)
        self._launch(run, config, weights=None, resume=str(run.run_dir))

    def _continued_config(self, run, graph, epochs):
        """The settings `run` trained with, to `epochs` in total; DesignError when the open
        design is not the run's or the run has trained `epochs` already."""
        trained = run_files.read_design(run.run_dir)     # None: older runs; the engine checks
        refusal = trained is not None and run_files.other_design(trained, graph,
                                                                 f"The run {run.name!r}")
        if refusal:
            raise DesignError(refusal)
        if epochs <= run.epochs_done:
            raise DesignError(f"The run {run.name!r} has trained {_epochs(run.epochs_done)} "
                              f"already; ask for more than {run.epochs_done} to continue it.")
        values = read_settings(run.run_dir)
        values.update(epochs=epochs, out=str(run.run_dir))
        return TrainConfig.from_dict(values).validate()

    def save_state(self):
        """The form's values (the window keeps them between sessions)."""
        return self.form.values()

    def restore_state(self, state):
        self.form.set_values(state)   # values an older version saved that no longer fit are skipped

    def _show_info(self, text):
        self.status_label.setStyleSheet("")
        self.status_label.setText(text)

    def _show_error(self, text):
        self.status_label.setStyleSheet(ERROR_STYLE)
        self.status_label.setText(text)


def training(graph, config, control, weights=None, resume=None, distill=None, name=None,
             pretrained=False):
    """The engine's events for one run, in the job's thread; returns its `Finished` event.
    `distill` is (teacher, teacher weights, temperature, alpha) or None; `name` the run's;
    `pretrained` starts from the published weights of the model the design reproduces."""
    from designer.train.loop import Trainer
    loss = None
    if distill is not None:
        from designer.compress.distill import distillation_for
        loss = distillation_for(graph, *distill)
    trainer = Trainer(graph, config, control=control, weights=weights, resume=resume, loss=loss,
                      name=name, pretrained=pretrained)
    finished = None
    for event in trainer.run():
        if isinstance(event, Finished):
            finished = event
        else:
            yield event
    return finished or Finished("failed", "training ended without a result")


def read_settings(folder):
    """The settings a run trained with (its settings.json), as TrainConfig values."""
    path = Path(folder) / run_files.SETTINGS_FILE
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DesignError(f"{path} cannot be read ({error}), so the run's settings are "
                          "unknown") from None
    if not isinstance(values, dict):
        raise DesignError(f"{path} does not hold a run's settings")
    return values


def read_run(folder, colour):
    """A run read back from its folder: run.json gives its name and how it ended, metrics.csv
    the epochs now; the step losses and learning rates (steps.csv, large for long runs) are read
    when the run is first ticked (`read_steps`)."""
    folder = Path(folder)
    with open(folder / "metrics.csv", newline="") as handle:
        epochs = [{k: (float(v) if v not in ("", None) else None) for k, v in row.items()}
                  for row in csv.DictReader(handle)]
    info = run_files.read_info(folder)
    run = Run(info["name"], colour)
    run.run_dir = str(folder)
    run.steps_unread = (folder / "steps.csv").is_file()
    for row in epochs:
        run.add_epoch(row)
        run.add("throughput", row["epoch"], row["images_per_s"])
    run.epochs_done = len(epochs)
    try:
        run.epochs = int(read_settings(folder)["epochs"])
    except (DesignError, KeyError, TypeError, ValueError):
        run.epochs = None
    status = info["status"]
    if status is None:      # written before run.json: its epochs say how far it got
        status = "completed" if run.epochs is None or run.epochs_done >= run.epochs else "stopped"
    elif status in ("starting", "running"):      # the app or the process ended mid-run
        status = "interrupted"
    run.status, run.message = status, info["message"]
    return run


def read_steps(run):
    """Add a run's step losses and learning rates from its steps.csv (x in epochs)."""
    run.steps_unread = False
    with open(Path(run.run_dir) / "steps.csv", newline="") as handle:
        steps = [(float(row["loss"]), float(row["lr"])) for row in csv.DictReader(handle)]
    epochs = run.points("val_top1") or run.points("val_loss")
    run.steps_per_epoch = max(1, len(steps) // epochs) if epochs else max(1, len(steps))
    for step, (loss, lr) in enumerate(steps, 1):
        run.add_step(step / run.steps_per_epoch, loss, lr)


def _epochs(count):
    return f"{count} epoch{'s' if count != 1 else ''}"


def _duration(seconds):
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
