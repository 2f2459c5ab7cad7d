"""The Experiments panel: sweep the open design (a grid or an Optuna search over training settings,
NODE.PARAM values and a width multiplier) and watch error against cost fill in live.

Start saves a snapshot of the design into the sweep folder and runs `designer.speed.sweep.Sweep`
in a `Job` thread, exactly as `designer sweep` does (same folder layout, trials.csv and
tradeoff.png, resumable from its study.db). Each finished trial adds a point to the trade-off plot
(validation error against multiply-adds, parameters or latency, the Pareto front joined) and a row
to the table; clicking a point or double-clicking a row opens that trial's design in the editor.
Stop ends the running trial; finished trials stay.
"""

import json
from pathlib import Path
import time

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from designer.core.errors import DesignError
from designer.core.summary import human
from designer.home import runs_root
from designer.speed.plot import COSTS, pareto_front, tradeoff_points
from designer.speed.settings import SWEEP_SETTINGS
from .forms import SettingsForm
from .jobs import Job
from .theme import THEMES
from .widgets import settings_column, side_by_side

DEFAULT_PARAMS = "lr=0.05,0.1\nwidth=0.5,1.0,2.0"
TABLE_COLUMNS = ("Trial", "State", "Settings", "Parameters", "Multiply-adds", "Latency",
                 "Val top-1 error")


class ExperimentsPanel(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.job = None
        self.trials = {}            # trial number -> record (as Sweep.result() lists them)
        self._build()
        context.theme_changed.connect(self.set_theme)

    # -- widgets -----------------------------------------------------------------------------
    def _build(self):
        # The swept values and the fixed training settings are lists of expressions (the CLI's
        # repeated --param and --train); every other row is a sweep setting, made from the same
        # declarations as `designer sweep`'s flags.
        self.params_edit = QPlainTextEdit(DEFAULT_PARAMS)
        self.params_edit.setToolTip("One swept setting per line: a training setting (lr=0.01,0.05), "
                                    "a design parameter NODE.PARAM (conv1.out_channels=4:16:4, "
                                    "start:stop:step) or width=0.5,1.0 (scales every out_channels)")
        self.params_edit.setMaximumHeight(80)
        self.fixed_edit = QLineEdit()
        self.fixed_edit.setPlaceholderText("e.g. batch_size=32 data_dir=/data")
        self.fixed_edit.setToolTip("Training settings every trial shares, NAME=VALUE, space-separated")
        self.form = SettingsForm(SWEEP_SETTINGS, folded=("Hardware",))
        self.form.insert_row(0, "Parameters", self.params_edit)
        self.form.insert_row(1, "Fixed settings", self.fixed_edit)
        self.editors = self.form.editors
        self.start_button = QPushButton("Start sweep")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        self.status = QLabel()
        self.status.setWordWrap(True)
        left = settings_column(self.form, buttons, self.status)

        self.cost_box = QComboBox()
        for key, label in COSTS:
            self.cost_box.addItem(f"error vs {label}", key)
        self.cost_box.currentIndexChanged.connect(self.redraw)
        self.plot = None          # built when first shown: every window has this tab
        self.trials_colour = THEMES["light"].edge
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.Stretch)        # the settings
        self.table.cellDoubleClicked.connect(lambda row, _: self.open_trial(
            self.table.item(row, 0).data(Qt.UserRole)))
        right = QSplitter(Qt.Vertical)
        top = QWidget()
        self.plot_box = QVBoxLayout(top)
        self.plot_box.setContentsMargins(0, 0, 0, 0)
        self.plot_box.addWidget(self.cost_box)
        top.setMinimumHeight(120)   # the table never squeezes the plot to nothing
        right.addWidget(top)
        right.addWidget(self.table)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        side_by_side(self, left, right, sizes=[400, 900])

    def _ensure_plot(self):
        if self.plot is not None:
            return
        self.plot = pg.PlotWidget()
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("left", "validation top-1 error (%)")
        self.scatter = pg.ScatterPlotItem(size=9, pen=None, hoverable=True)
        self.scatter.sigClicked.connect(self._point_clicked)
        self.front = pg.PlotDataItem(symbol="o", symbolSize=11, symbolPen=None)
        self.plot.addItem(self.front)
        self.plot.addItem(self.scatter)
        self.plot_box.addWidget(self.plot, 1)
        self.set_theme(self.context.theme)

    def set_theme(self, theme):
        """The plot in the editor's theme (None: light), as the Train panel's: background, axes,
        points and the Pareto front."""
        theme = theme or THEMES["light"]
        self.trials_colour = theme.edge     # unfinished trials' rows and the points off the front
        if self.plot is None:
            return
        self.plot.setBackground(theme.base)
        for side in ("left", "bottom"):
            axis = self.plot.getAxis(side)
            axis.setPen(pg.mkPen(theme.text_dim))
            axis.setTextPen(pg.mkPen(theme.text))
        self.scatter.setBrush(pg.mkBrush(theme.edge))
        self.front.setPen(pg.mkPen(theme.accent, width=2))
        self.front.setSymbolBrush(theme.accent)
        self.redraw()

    def showEvent(self, event):
        self._ensure_plot()
        self.redraw()
        super().showEvent(event)

    # -- running -----------------------------------------------------------------------------
    @property
    def is_running(self):
        return self.job is not None

    def start(self):
        """Start a sweep of the open design; False (with a sentence shown) when it cannot."""
        from designer.core import fileformat
        from designer.speed.sweep import parse_param
        graph = self.context.graph
        if graph is None or self.is_running:
            return False
        try:
            params = [parse_param(line.strip()) for line in self.params_edit.toPlainText().splitlines()
                      if line.strip()]
            fixed = dict(self._fixed_setting(text) for text in self.fixed_edit.text().split())
            choice = self.context.data_choice     # the document's dataset, unless fixed here
            fixed = {**(choice.settings() if choice else {}), **fixed}
            settings = SWEEP_SETTINGS.check(self.form.values())
        except (ValueError, DesignError) as error:       # a malformed line: its sentence
            return self._show_error(str(error))
        folder = settings.out or str(runs_root() / f"sweep_{time.strftime('%Y%m%d-%H%M%S')}")
        self.editors["out"].set_value(folder)
        design = Path(folder) / "design.json"
        try:
            design.parent.mkdir(parents=True, exist_ok=True)
            if not design.exists():     # a resumed sweep keeps the design it started with
                fileformat.save(graph, design)
        except OSError as error:
            return self._show_error(f"cannot write to {folder}: {error.strerror or error}")
        study = settings.pop("study")
        settings = dict(settings, design=str(design), params=params, out=folder,
                        study_name=study, train_settings=fixed)
        control = SweepControl()
        self.job = Job(control=control, parent=self)
        self.job.yielded.connect(self._on_event)
        self.job.errored.connect(lambda sentence: self._on_finished("failed", sentence))
        self.job.finished.connect(self._on_thread_done)
        self.trials.clear()
        self.redraw()
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status.setStyleSheet("")
        self.status.setText(f"starting in {folder} …")
        self.job.start(sweeping, settings, control)
        return True

    @staticmethod
    def _fixed_setting(text):
        name, sep, raw = text.partition("=")
        if not sep:
            raise ValueError(f"fixed setting {text!r}: expected NAME=VALUE")
        try:
            return name, json.loads(raw)
        except ValueError:
            return name, raw

    def stop(self):
        if self.job is not None:
            self.job.stop()
            self.status.setText("stopping after the running step …")

    def _on_event(self, event):
        """One of the sweep's events (see `Sweep.run`)."""
        kind = event["kind"]
        if kind == "trial_start":
            self.status.setText(f"trial {event['number']}: {_settings_text(event['settings'])} …")
        elif kind == "epoch":
            self.status.setText(f"trial {event['number']}: epoch {event['epoch']}, "
                                f"val top-1 error {event['val_top1_error']:.2%}")
        elif kind == "trial":
            self.add_trial(event["trial"])
        elif kind == "finished":
            self._on_finished(event["status"], f"{event['trials']} trial(s) done")

    def _on_finished(self, status, message):
        if status == "failed":
            self._show_error(message)
        else:
            self.status.setText(f"sweep {status}: {message}; {self.form.values()['out']}")
        self.context.show_message(f"Sweep {status}")

    def _on_thread_done(self):
        self.job.deleteLater()
        self.job = None
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def _show_error(self, text):
        self.status.setStyleSheet("color: #d33f3f;")
        self.status.setText(text)
        return False

    def close_question(self):
        if not self.is_running:
            return None
        return ("A sweep is running", "Stop the sweep and quit? Finished trials are kept and the "
                "sweep resumes when started again with the same folder.")

    def shutdown(self, timeout_ms=10_000):
        if self.job is not None:
            self.job.stop()
            self.job.wait(timeout_ms)

    # -- results -----------------------------------------------------------------------------
    def add_trial(self, record):
        self.trials[record["number"]] = record
        self.redraw()

    def redraw(self):
        self._ensure_plot()
        records = [self.trials[n] for n in sorted(self.trials)]
        cost = self.cost_box.currentData()
        self.plot.setLabel("bottom", dict(COSTS)[cost])
        numbers, points = tradeoff_points(records, cost)
        self.scatter.setData([{"pos": (x, y * 100), "data": n} for n, (x, y) in zip(numbers, points)])
        front = pareto_front(points)
        self.front.setData([points[i][0] for i in front], [points[i][1] * 100 for i in front])
        self.table.setRowCount(len(records))
        for row, t in enumerate(records):
            error = t["val_top1_error"]
            cells = (str(t["number"]), t["state"], _settings_text(t["settings"]),
                     "" if t["total_params"] is None else f"{t['total_params']:,}",
                     "" if t["total_macs"] is None else human(t["total_macs"]),
                     "" if t["latency_ms"] is None else f"{t['latency_ms']:.3f} ms",
                     "" if error is None else f"{error:.2%}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.UserRole, t["number"])
                if t["state"] != "complete":
                    item.setForeground(QColor(self.trials_colour))
                    item.setToolTip(t.get("message") or "")
                self.table.setItem(row, column, item)

    def _point_clicked(self, _item, points, _event=None):
        if len(points):
            self.open_trial(points[0].data())

    def open_trial(self, number):
        """Open trial `number`'s design in the editor."""
        record = self.trials.get(number)
        if record and record.get("design"):
            self.context.open_design(record["design"])


class SweepControl:
    """The sweep job's stop switch. The Sweep is made in the job's thread (it opens its study
    storage), so a Stop may come before it exists: it then stops the Sweep as soon as it does."""

    def __init__(self):
        self.sweep = None
        self.stopped = False

    def stop(self):
        self.stopped = True
        if self.sweep is not None:
            self.sweep.stop()

    def attach(self, sweep):
        self.sweep = sweep
        if self.stopped:
            sweep.stop()


def sweeping(settings, control):
    """The events of `Sweep(**settings)`, in the job's thread; a resumed study first lists the
    trials it has."""
    from designer.speed.sweep import Sweep
    sweep = Sweep(**settings)
    control.attach(sweep)
    for record in sweep.records():
        yield {"kind": "trial", "trial": record}
    yield from sweep.run()



def _settings_text(settings):
    return ", ".join(f"{k}={v}" for k, v in settings.items())
