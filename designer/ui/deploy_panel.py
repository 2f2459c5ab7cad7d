"""The Deploy panel: tick the targets (ExecuTorch fp32 / int8, int8 ONNX, Core ML: those whose
converters are installed; the others say what to install), take the current weights (the run
just trained or opened in the Runs panel), optionally a dataset to calibrate on and measure
validation error with, and Deploy: a `Job` converts for each target in turn with
`designer.deploy.engine.deploy` (the `designer deploy` verb's call), each file loaded back in its
own runtime. A row per target in the table (bytes, latency at batch 1 on one thread, validation
error beside the design's, largest difference from the design) fills as each finishes, and a bar
chart compares their latencies with eager PyTorch's.

Files made from a run's weights are kept as variants of that run (`<run>/variants/deploy_…`,
one per target, with its variant.json), so the Runs panel lists them under the run; other
weights' files go in a folder of their own under `out_root`.
"""

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QSpinBox, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from designer import workspace
from designer.deploy.targets import NOT_OFFERED, TARGETS, missing
from designer.home import app_home, new_run_dir
from .jobs import Job
from .panel_registry import WeightsField
from .widgets import side_by_side

COLUMNS = ("Target", "Bytes", "Latency ms", "Val error (design)", "Max |diff|", "File")
DEFAULT_TARGETS = ("executorch", "executorch-int8", "onnx-int8")
COLOURS = {"eager PyTorch": "#94a3b8", "executorch": "#3b82f6", "executorch-int8": "#10b981",
           "onnx-int8": "#f97316", "coreml": "#a855f7"}


class DeployPanel(QWidget):
    """See the module docstring. `out_root` is where files of weights outside a run go."""
    target_done = Signal(object)     # each target's report, as it finishes
    all_done = Signal(object)        # the list of reports

    def __init__(self, context, out_root=None, parent=None):
        super().__init__(parent)
        self.context = context
        self.out_root = Path(out_root) if out_root else app_home() / "deployed"
        self.job = None
        self.reports = []
        self._build()
        self.weights_field = WeightsField(context, self.weights.text, self.weights.setText)
        context.weights_changed.connect(lambda _path: self.weights_field.follow())
        self.weights_field.follow()

    # ---- widgets ---------------------------------------------------------------------------
    def _build(self):
        self.checks = {}
        targets_box = QVBoxLayout()
        for name, t in TARGETS.items():
            box = QCheckBox(name)
            absent = missing(t)
            box.setToolTip(t.help if not absent else
                           f"needs {', '.join(absent)}: pip install 'cnn-designer[{t.extra}]'")
            box.setEnabled(not absent)
            box.setChecked(not absent and name in DEFAULT_TARGETS)
            self.checks[name] = box
            targets_box.addWidget(box)
        for name, why in NOT_OFFERED.items():
            label = QLabel(f"{name}: not offered")
            label.setToolTip(why)
            label.setEnabled(False)
            targets_box.addWidget(label)
        self.weights = QLineEdit()
        self.weights.setPlaceholderText("the trained weights (.pt)")
        self.dataset = QLineEdit("digits")
        self.dataset.setToolTip("calibrates the int8 targets and measures validation error; "
                                "empty: random calibration, size and latency only")
        self.batches = QSpinBox(minimum=1, maximum=1000, value=4)
        self.batches.setToolTip("training batches (of 32) the int8 targets calibrate on")
        form = QFormLayout()
        form.addRow("Targets", targets_box)
        form.addRow("Weights", self.weights)
        form.addRow("Dataset", self.dataset)
        form.addRow("Calibration batches", self.batches)

        self.deploy_button = QPushButton("Deploy")
        self.deploy_button.clicked.connect(self.deploy)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setRange(0, 1)
        self.status = QLabel("Tick the targets and Deploy: each file is checked in its own "
                             "runtime.")
        self.status.setWordWrap(True)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(form)
        buttons = QHBoxLayout()
        buttons.addWidget(self.deploy_button)
        column.addLayout(buttons)
        column.addWidget(self.progress)
        column.addWidget(self.status)
        column.addStretch(1)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.setMinimumWidth(420)
        self.chart = pg.PlotWidget()
        self.chart.setBackground(None)
        self.chart.setMinimumHeight(120)
        self.chart.showGrid(y=True, alpha=0.3)
        self.chart.setLabel("left", "latency ms (batch 1, 1 thread)")
        self.chart.getAxis("left").enableAutoSIPrefix(False)    # milliseconds, not "×0.001"
        right = QSplitter(Qt.Horizontal)
        right.addWidget(self.table)
        right.addWidget(self.chart)
        right.setStretchFactor(1, 1)
        side_by_side(self, left, right, sizes=[260, 740])

    # ---- running ---------------------------------------------------------------------------
    @property
    def is_running(self):
        return self.job is not None

    def chosen(self):
        return [name for name, box in self.checks.items() if box.isChecked() and box.isEnabled()]

    def deploy(self):
        graph, weights = self.context.graph, self.weights.text().strip()
        if graph is None:
            return self._fail("Open a design first.")
        if not weights:
            return self._fail("Choose the design's trained weights (train it, or pick a run "
                              "in the Runs panel).")
        targets = self.chosen()
        if not targets:
            return self._fail("Tick at least one target.")
        if self.is_running:
            return False
        self.reports = []
        self.table.setRowCount(0)
        self.chart.clear()
        self.job = Job(parent=self)
        self.job.yielded.connect(self._show_report)
        self.job.returned.connect(self._finished)
        self.job.errored.connect(self._fail)
        self.job.finished.connect(self._idle)
        self.deploy_button.setEnabled(False)
        self.progress.setRange(0, len(targets))
        self.progress.setValue(0)
        self._say(f"Deploying to {', '.join(targets)}…")
        self.job.start(deploy_all, self.out_root, graph.copy(), weights, targets,
                       self.dataset.text().strip() or None, self.batches.value())
        return True

    def _say(self, text):
        self.status.setStyleSheet("")
        self.status.setText(text)

    def _fail(self, sentence):
        self.status.setStyleSheet("color: #d33f3f;")
        self.status.setText(sentence)
        return False

    def _idle(self):
        self.job.deleteLater()
        self.job = None
        self.deploy_button.setEnabled(True)

    def _finished(self, reports):
        if reports:
            kept = ("as variants of the run" if reports[0].get("variant") else
                    f"in {Path(reports[0]['path']).parent}")
            self._say(f"Deployed to {len(reports)} target(s), each checked in its runtime; "
                      f"the files are kept {kept}.")
        self.all_done.emit(reports)

    # ---- results ---------------------------------------------------------------------------
    def _show_report(self, report):
        self.reports.append(report)
        row = self.table.rowCount()
        self.table.insertRow(row)
        error, reference = report["val_top1_error"], report["val_top1_error_reference"]
        cells = (report["target"], f"{report['bytes']:,}",
                 _format(report["latency_ms"], "{:.3f}"),
                 "—" if error is None else f"{error:.2%} ({reference:.2%})",
                 _format(report["max_abs_difference"], "{:.3g}"), Path(report["path"]).name)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip("\n".join(report["notes"]) if column == 0 else report["path"])
            self.table.setItem(row, column, item)
        self.progress.setValue(len(self.reports))
        self._draw()
        self.target_done.emit(report)

    def _draw(self):
        self.chart.clear()
        bars = [("eager PyTorch", self.reports[0]["latency_ms_reference"])]
        bars += [(r["target"], r["latency_ms"]) for r in self.reports]
        bars = [(name, value) for name, value in bars if value is not None]
        for index, (name, value) in enumerate(bars):
            self.chart.addItem(pg.BarGraphItem(x=[index], height=[value], width=0.6,
                                               brush=COLOURS.get(name, "#3b82f6"), name=name))
        self.chart.getAxis("bottom").setTicks([list(enumerate(name for name, _ in bars))])

    # ---- window hooks ------------------------------------------------------------------------
    def close_question(self):
        if self.is_running:
            return ("Deployment running", "A deployment is still running. Quit anyway?")
        return None

    def shutdown(self):
        if self.is_running:
            self.job.stop()
            self.job.wait()


def _format(value, pattern):
    return "—" if value is None else pattern.format(value)


# The job's work, in its thread: plain data in and out, never a widget.
def deploy_all(out_root, graph, weights, targets, dataset, calibration_batches):
    """Deploy `graph` with `weights` to each of `targets`, yielding each report; files of a run's
    weights become variants of the run (one per target), others go in one folder under
    `out_root`. Returns the list of reports."""
    from designer.deploy.engine import deploy
    from designer.deploy.targets import TARGETS as ALL
    reports, shared = [], None
    for name in targets:
        folder = workspace.variant_folder(weights, f"deploy {name}")
        if folder is None:
            shared = shared or new_run_dir(graph.name, "deploy", out_root)
            folder = shared
        folder.mkdir(parents=True, exist_ok=True)
        slug = name.replace("-", "_")
        report = deploy(graph, weights, name, folder / f"model_{slug}{ALL[name].suffix}",
                        dataset=dataset, calibration_batches_count=calibration_batches)
        if folder != shared:     # written last: a folder without it is not listed
            workspace.write_variant(folder, variant_report(report), weights,
                                    name=f"deploy {name}")
            report["variant"] = str(folder)
        reports.append(report)
        yield report
    return reports


def variant_report(report):
    """The deploy report in a Compress report's before/after terms, which variant.json keeps."""
    return {"technique": "deploy", "bytes_before": report["bytes_reference"],
            "bytes_after": report["bytes"],
            "val_top1_error_before": report["val_top1_error_reference"],
            "val_top1_error_after": report["val_top1_error"],
            "latency_ms_before": report["latency_ms_reference"],
            "latency_ms_after": report["latency_ms"]}
