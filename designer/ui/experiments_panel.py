"""The Experiments panel: sweep the open design (a grid or an Optuna search over training settings,
NODE.PARAM values and a width multiplier) and watch error against cost fill in live.

Start saves a snapshot of the design into the sweep folder and runs `designer.speed.sweep.Sweep`
in a `Job` thread, exactly as `designer sweep` does (same folder layout, trials.csv and
tradeoff.png, resumable from its study.db). Each finished trial adds a point to the trade-off plot
(validation error against multiply-adds, parameters or latency, the Pareto front joined) and a row
to the table; clicking a point or double-clicking a row opens that trial's design in the editor.
Stop ends the running trial; finished trials stay.

A structure search (designer.search.study) runs from the same form: its Search rows vary the
design's own search space, minimise several objectives (NSGA-II) under bounds and pick the
pruner. The plot shows any two objectives (the X and Y boxes) with the 2-D Pareto front of the
trials within every bound, and the region inside the bounds on those axes shaded; opening a
point opens its trial's design with the trial's weights as the current weights. With Warm
starts on, the table names the trial each one was grown from (its tooltip: what was widened).
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
from designer.core.settings import Settings
from designer.search.objectives import feasible, pareto_front, parse_constraint, value_of
from designer.search.settings import OBJECTIVES, SEARCH_SETTINGS
from designer.speed.settings import SWEEP_SETTINGS, SweepError
from .forms import SettingsForm
from .jobs import Job
from .theme import THEMES
from .widgets import settings_column, side_by_side

DEFAULT_PARAMS = "lr=0.05,0.1\nwidth=0.5,1.0,2.0"
TABLE_COLUMNS = ("Trial", "State", "Settings", "Parameters", "Multiply-adds", "Latency",
                 "Val top-1 error", "Front", "Warm start")
# The form: the sweep's settings, then the structure search's (one check, one set of values).
PANEL_SETTINGS = Settings(SWEEP_SETTINGS.params + SEARCH_SETTINGS.params, SweepError)
# The X box lists the costs first (multiply-adds, parameters, latency), as it always has.
AXES = ("macs", "params", "latency", "bytes", "error")


class ExperimentsPanel(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.job = None
        self.trials = {}            # trial number -> record (as Sweep.result() lists them)
        self.front_numbers = []     # the trials on the shown front
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
        self.form = SettingsForm(PANEL_SETTINGS, folded=("Hardware",))
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

        self.cost_box = QComboBox()          # the X axis
        self.y_box = QComboBox()
        for key in AXES:
            self.cost_box.addItem(OBJECTIVES[key], key)
            self.y_box.addItem(OBJECTIVES[key], key)
        self.y_box.setCurrentIndex(AXES.index("error"))
        self.cost_box.setToolTip("The objective on the X axis")
        self.y_box.setToolTip("The objective on the Y axis")
        self.cost_box.currentIndexChanged.connect(self.redraw)
        self.y_box.currentIndexChanged.connect(self.redraw)
        axes = QHBoxLayout()
        axes.addWidget(QLabel("Y"))
        axes.addWidget(self.y_box, 1)
        axes.addWidget(QLabel("against X"))
        axes.addWidget(self.cost_box, 1)
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
        self.plot_box.addLayout(axes)
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
        for side in ("left", "bottom"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)   # "latency (ms)", never "(x0.001)"
        self.scatter = pg.ScatterPlotItem(size=9, pen=None, hoverable=True)
        self.scatter.sigClicked.connect(self._point_clicked)
        self.front = pg.PlotDataItem(symbol="o", symbolSize=11, symbolPen=None)
        # The region within the bounds on the shown axes (one band per bounded axis).
        self.bounds = {"x": pg.LinearRegionItem(orientation="vertical", movable=False),
                       "y": pg.LinearRegionItem(orientation="horizontal", movable=False)}
        for band in self.bounds.values():
            band.setZValue(-10)
            band.hide()
            self.plot.addItem(band)      # in the view: the bound shows with the points
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
        shade = QColor(theme.accent)
        shade.setAlpha(40)
        for band in self.bounds.values():
            band.setBrush(pg.mkBrush(shade))
            for line in band.lines:
                line.setPen(pg.mkPen(theme.accent, width=1, style=Qt.DashLine))
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
            settings = PANEL_SETTINGS.check(self.form.values())
            for text in settings["constraint"] or ():
                parse_constraint(text)             # a bad bound is a sentence before starting
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

    def constraints(self):
        """The bounds the form gives (those that parse), as designer.search reads them."""
        found = []
        for text in self.form.values().get("constraint") or ():
            try:
                found.append(parse_constraint(text))
            except DesignError:
                pass
        return found

    def redraw(self):
        self._ensure_plot()
        records = [self.trials[n] for n in sorted(self.trials)]
        x_key, y_key = self.cost_box.currentData(), self.y_box.currentData()
        self.plot.setLabel("bottom", OBJECTIVES[x_key] + (" (%)" if x_key == "error" else ""))
        self.plot.setLabel("left", OBJECTIVES[y_key] + (" (%)" if y_key == "error" else ""))
        constraints = self.constraints()
        shown = [t for t in records if t["state"] == "complete"
                 and value_of(t, x_key) is not None and value_of(t, y_key) is not None]
        points = [(_shown(t, x_key), _shown(t, y_key)) for t in shown]
        self.scatter.setData([{"pos": p, "data": t["number"]} for t, p in zip(shown, points)])
        within = [i for i, t in enumerate(shown) if feasible(t, constraints)]
        front = [within[i] for i in pareto_front([points[i] for i in within])]
        self.front.setData([points[i][0] for i in front], [points[i][1] for i in front])
        self.front_numbers = [shown[i]["number"] for i in front]
        for axis, key in (("x", x_key), ("y", y_key)):
            bounds = [c.bound * (100 if key == "error" else 1) for c in constraints
                      if c.objective == key]
            band = self.bounds[axis]
            band.setVisible(bool(bounds))
            if bounds:      # from the smallest point (or the bound) up to the bound
                values = [p[0 if axis == "x" else 1] for p in points] + [min(bounds)]
                band.setRegion((min(values), min(bounds)))
        self.table.setRowCount(len(records))
        for row, t in enumerate(records):
            error = t["val_top1_error"]
            state = "over bound" if t.get("over_budget") else t["state"]   # never trained
            cells = (str(t["number"]), state, _settings_text(t["settings"]),
                     "" if t["total_params"] is None else f"{t['total_params']:,}",
                     "" if t["total_macs"] is None else human(t["total_macs"]),
                     "" if t["latency_ms"] is None else f"{t['latency_ms']:.3f} ms",
                     "" if error is None else f"{error:.2%}",
                     "●" if t["number"] in self.front_numbers else "",
                     "" if t.get("parent") is None else f"from trial {t['parent']}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.UserRole, t["number"])
                if t["state"] != "complete":
                    item.setForeground(QColor(self.trials_colour))
                    item.setToolTip(t.get("message") or "")
                elif t.get("warm_start"):      # what was grown, or why it trained from scratch
                    item.setToolTip(t["warm_start"])
                self.table.setItem(row, column, item)

    def _point_clicked(self, _item, points, _event=None):
        if len(points):
            self.open_trial(points[0].data())

    def open_trial(self, number):
        """Open trial `number`'s design in the editor, its trained weights the current ones."""
        from designer.weights import run_weights
        record = self.trials.get(number)
        if record and record.get("design"):
            self.context.open_design(record["design"])
            weights = run_weights(record["run_dir"]) if record.get("run_dir") else None
            if weights is not None and weights.is_file():
                self.context.set_current_weights(weights)


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
    """The events of the sweep (`designer.search.study.make_sweep(**settings)`: a plain Sweep
    unless a search setting asks for more), in the job's thread; a resumed study first lists
    the trials it has."""
    from designer.search.study import make_sweep
    sweep = make_sweep(**settings)
    control.attach(sweep)
    for record in sweep.records():
        yield {"kind": "trial", "trial": record}
    yield from sweep.run()



def _shown(record, key):
    """The value plotted: errors in percent."""
    value = value_of(record, key)
    return value * 100 if key == "error" else value


def _settings_text(settings):
    return ", ".join(f"{k}={v}" for k, v in settings.items())
