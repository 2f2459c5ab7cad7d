"""The Compress panel: pick a technique and its settings, Preview the new design's parameters,
multiply-adds and bytes (pruning, factorisation and substitution change the graph, so they are
known before anything runs; the preview follows the settings as they change), and Apply: the
technique runs in a `Job` thread (calibration and fine-tuning can take a while; Stop ends
fine-tuning between steps), a before/after table and a per-layer bar chart show what it cost, and
a new design opens as a new document, its weights (saved beside it) the current weights. A
result made from a run's weights is kept in that run's folder as a variant (the Runs panel lists
it under the run); other results go in their own folder under `out_root`.

The Weights field follows the document's current weights (the run just trained, the variant just
opened) until the person types another path; Browse… starts in the runs folder.

All the work is `designer.compress.jobs`, the same calls the `designer prune / quantize /
factorize / substitute` verbs make; the panel only gathers options and draws results.
"""

from functools import partial
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
                               QSplitter, QTableWidget, QTableWidgetItem, QWidget)

from designer.compress.settings import SETTINGS, WEIGHT_SCHEME_SETTINGS, weight_scheme
from designer.core.params import Param
from designer.core.settings import Settings
from designer import workspace
from designer.home import app_home, new_run_dir, runs_root
from .forms import SettingsForm
from .jobs import Job
from .panel_registry import DataField, WeightsField
from .widgets import settings_column, side_by_side

_TRAINING = ("finetune_epochs", "lr", "batch_size", "seed")
_PRUNING = ("amount", "global_", "iterations", "rewind") + _TRAINING
# Menu entry -> (jobs technique, the settings it fixes, the other settings it shows); every entry
# also shows the technique, the weights and the dataset.
TECHNIQUES = {
    "Prune filters (L1 norm)": ("prune", {"method": "l1"}, _PRUNING + ("layers", "layer_amounts")),
    "Prune filters (BatchNorm scale)": ("prune", {"method": "bn"},
                                        _PRUNING + ("layers", "layer_amounts")),
    "Prune weights (magnitude)": ("prune", {"method": "magnitude"}, _PRUNING),
    "Quantise int8 static": ("quantize", {"scheme": "int8-static"}, ("calibration_batches",)),
    "Quantise int8 dynamic (FC)": ("quantize", {"scheme": "int8-dynamic"}, ("per_channel",)),
    "Quantise int8, aware training": ("quantize", {"scheme": "int8-qat"},
                                      ("per_channel",) + _TRAINING),
    "Quantise weights only": ("quantize", {}, ("weight_bits", "weight_codebook", "per_channel")),
    "Factorise (SVD)": ("factorize", {}, ("energy", "rank", "layers", "spatial")),
    "Cheaper convolution": ("substitute", {}, ("layer", "kind") + _TRAINING),
}
ALWAYS_SHOWN = ("technique", "weights", "dataset", "data_dir")
TECHNIQUE = Param("technique", "choice", next(iter(TECHNIQUES)), choices=tuple(TECHNIQUES),
                  title="Technique", group="Model", help="What to make smaller or faster")
# The form: the technique, then every compression setting (designer.compress.settings), shown
# as the chosen technique needs them. Settings whose edits change the preview:
FORM_SETTINGS = (Settings([TECHNIQUE])
                 + SETTINGS.only("weights", "dataset", "data_dir", "layers", "layer", "method",
                                 "amount", "global_", "layer_amounts", "iterations", "rewind",
                                 "scheme")
                 + WEIGHT_SCHEME_SETTINGS
                 + SETTINGS.only("per_channel", "calibration_batches", "energy", "rank",
                                 "spatial", "kind", "finetune_epochs", "lr", "batch_size", "seed"))
PREVIEWED = {"technique", "weights", "amount", "global_", "layers", "layer_amounts", "energy",
             "rank", "spatial", "layer", "kind"}
PREVIEW_DELAY_MS = 400
REPORT_ROWS = (("params", "Parameters", "{:,}"), ("macs", "Multiply-adds", "{:,}"),
               ("bytes", "Bytes", "{:,}"), ("val_top1_error", "Val top-1 error", "{:.2%}"),
               ("latency_ms", "Latency ms (1 thread)", "{:.3f}"))


class CompressPanel(QWidget):
    """See the module docstring. `out_root` is where results are written (a folder per result)."""
    result_ready = Signal(object)     # the report dict of the last Apply
    preview_ready = Signal(object)    # the figures of the last Preview

    def __init__(self, context, out_root=None, parent=None):
        super().__init__(parent)
        self.context = context
        self.out_root = Path(out_root) if out_root else app_home() / "compressed"
        self.job = None
        self.last_result = None
        self._build()
        self._technique_changed()
        context.selection_changed.connect(self._selection_changed)
        weights = self.editors["weights"]
        self.weights_field = WeightsField(context, weights.line.text,
                                          lambda text: weights.set_value(text or None))
        context.weights_changed.connect(self._current_weights_changed)
        self.weights_field.follow()
        self.data_field = DataField(context, self.form)    # the document's one dataset
        # Live preview: settings that change the design re-run Preview once they settle.
        self.preview_timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self.preview_timer.timeout.connect(self._auto_preview)

    # ---- widgets ---------------------------------------------------------------------------
    def _build(self):
        self.form = SettingsForm(FORM_SETTINGS)
        self.editors = self.form.editors
        self.form.set_values({"energy": 0.9})    # factorising keeps 90 % of Σσ² unless a rank
        for name in ("weights", "rewind"):
            self.editors[name].start_in = runs_root()
        self.form.changed.connect(self._setting_changed)

        self.preview_button = QPushButton("Preview")
        self.apply_button = QPushButton("Apply")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.preview_button.clicked.connect(self.preview)
        self.apply_button.clicked.connect(self.apply)
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        for button in (self.preview_button, self.apply_button, self.stop_button):
            buttons.addWidget(button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setTextVisible(False)
        self.status = QLabel("Choose a technique and the design's trained weights.")
        self.status.setWordWrap(True)

        left = settings_column(self.form, buttons, self.progress, self.status)

        self.table = QTableWidget(len(REPORT_ROWS), 3)
        self.table.setHorizontalHeaderLabels(["", "before", "after"])
        self.table.verticalHeader().hide()
        for index, (_, title, _) in enumerate(REPORT_ROWS):
            self.table.setItem(index, 0, QTableWidgetItem(title))
        self.chart = pg.PlotWidget()
        self.chart.setBackground(None)     # follow the theme, as the Train panel's plots do
        self.chart.setMinimumHeight(120)
        self.chart.showGrid(y=True, alpha=0.3)
        self.chart.addLegend(offset=(-10, 10))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.setMinimumWidth(330)
        right = QSplitter(Qt.Horizontal)
        right.addWidget(self.table)
        right.addWidget(self.chart)
        right.setStretchFactor(1, 1)

        side_by_side(self, left, right)

    def _setting_changed(self, name):
        if name == "technique":
            self._technique_changed()
        if name in PREVIEWED:
            self.preview_timer.start()     # the preview follows the settings once they settle

    def _technique_changed(self):
        title = self.form.values()["technique"]
        technique, fixed, shown = TECHNIQUES[title]
        self.form.set_values(fixed)          # hidden, but what the other rows depend on
        for name in self.editors:
            self.form.set_row_visible(name, name in ALWAYS_SHOWN or name in shown)
        self.preview_button.setEnabled(technique in ("prune", "factorize", "substitute")
                                       and fixed.get("method") != "magnitude")

    def _current_weights_changed(self, path):
        self.weights_field.follow()

    def _selection_changed(self, node_ids):
        if len(node_ids) == 1:
            self.editors["layer"].set_value(node_ids[0])
            self.preview_timer.start()

    # ---- options ---------------------------------------------------------------------------
    def technique(self):
        return TECHNIQUES[self.form.values()["technique"]][0]

    def options(self):
        """The jobs options the form describes (the technique's fixed ones included)."""
        values = self.form.values()
        title = values.pop("technique")
        values.update(TECHNIQUES[title][1])
        bits, codebook = values.pop("weight_bits"), values.pop("weight_codebook")
        if title == "Quantise weights only":
            values["scheme"] = weight_scheme(bits, codebook)
        if values["rank"] is not None:        # a rank, when given, decides; else the energy
            values["energy"] = None
        return values

    # ---- running ---------------------------------------------------------------------------
    @property
    def is_running(self):
        # Until `_idle` has run: the thread may end before its `finished` reaches this panel,
        # and until then the buttons still say "busy".
        return self.job is not None

    def _start(self, work, on_done, text):
        """Run `work(technique, graph, weights, options, control, on_event)` in a job."""
        from designer.train.control import TrainControl
        graph = self.context.graph
        if graph is None:
            self._fail("Open a design first.")
            return
        weights = self.form.values()["weights"]
        if not weights:
            self._fail("Choose the design's trained weights (a .pt state_dict or checkpoint).")
            return
        self.job = Job(control=TrainControl(), parent=self)
        self.job.yielded.connect(self._on_event)
        self.job.returned.connect(on_done)
        self.job.errored.connect(self._fail)
        self.job.finished.connect(self._idle)
        self._busy(text)
        # A frozen copy of the design: editing it cannot race the job.
        self.job.start(work, self.technique(), graph.copy(), weights, self.options(),
                       self.job.control, self.job.yielded.emit)

    def _on_event(self, event):
        if event.kind == "epoch":            # fine-tuning's `Epoch` events
            self.status.setText(f"fine-tune epoch {event.epoch}: val top-1 error "
                                f"{event.val_top1_error:.2%}")

    def _auto_preview(self):
        if not (self.preview_button.isEnabled() and self.form.values()["weights"]
                and self.context.graph is not None):
            return
        if self.is_running:
            self.preview_timer.start()       # try again when the running job is done
            return
        self.preview()

    def preview(self):
        self._start(_preview, self._show_preview, "Previewing…")

    def apply(self):
        self._start(partial(_compress, self.out_root), self._show_result, "Compressing…")

    def stop(self):
        if self.job is not None:
            self.job.stop()
            self.status.setText("Stopping after this step…")

    def _busy(self, text):
        self.status.setStyleSheet("")
        self.status.setText(text)
        self.progress.setRange(0, 0)
        for button in (self.preview_button, self.apply_button):
            button.setEnabled(False)
        self.stop_button.setEnabled(True)

    def _idle(self):
        self.job.deleteLater()
        self.job = None
        self.progress.setRange(0, 1)
        self.apply_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self._technique_changed()

    def _fail(self, sentence):
        self.status.setStyleSheet("color: #d33f3f;")
        self.status.setText(sentence)

    # ---- results ---------------------------------------------------------------------------
    def _fill_table(self, figures):
        for index, (key, _, pattern) in enumerate(REPORT_ROWS):
            for column, side in ((1, "before"), (2, "after")):
                value = figures.get(f"{key}_{side}")
                text = "—" if value is None else pattern.format(value)
                self.table.setItem(index, column, QTableWidgetItem(text))

    def _show_preview(self, figures):
        self._fill_table(figures)
        ratio = figures["params_after"] / max(1, figures["params_before"])
        self.status.setText(f"Preview: {figures['params_after']:,} parameters "
                            f"(×{ratio:.2f}); Apply to measure error and latency.")
        self.preview_ready.emit(figures)

    def _show_result(self, result):
        report, paths = result
        self.last_result = (report, paths)
        self._fill_table(report)
        self._draw_layers(report)
        where = paths[0]
        self.status.setText(f"{report['technique']} done; written to {where.parent}")
        if where.suffix == ".json":
            self.context.open_design(str(where))
        self.result_ready.emit(report)

    def _draw_layers(self, report):
        """Per-layer bars: parameters or filters before/after, or quantisation SQNR."""
        self.chart.clear()
        rows = report.get("layers") or []
        if not rows:
            return
        names = [row["layer"] for row in rows]
        keys = [("params_before", "params_after", "parameters"),
                ("filters_before", "filters_after", "filters"),
                ("bytes_before", "bytes_after", "bytes")]
        pair = next((k for k in keys if k[0] in rows[0]), None)
        self.chart.getAxis("bottom").setTicks([list(enumerate(names))])
        positions = list(range(len(rows)))
        if "sqnr_db" in rows[0]:
            self._bars(positions, [row["sqnr_db"] or 0.0 for row in rows], "#f97316", "SQNR dB")
            self.chart.setLabel("left", "SQNR (dB): low means sensitive")
        elif "sparsity" in rows[0]:
            self._bars(positions, [row["sparsity"] for row in rows], "#10b981", "sparsity")
            self.chart.setLabel("left", "sparsity")
        elif pair is not None:
            self._bars([i - 0.2 for i in positions], [row[pair[0]] for row in rows], "#94a3b8",
                       f"{pair[2]} before", 0.4)
            self._bars([i + 0.2 for i in positions], [row[pair[1]] for row in rows], "#3b82f6",
                       f"{pair[2]} after", 0.4)
            self.chart.setLabel("left", pair[2])

    def _bars(self, x, heights, colour, name, width=0.6):
        self.chart.addItem(pg.BarGraphItem(x=x, height=heights, width=width, brush=colour,
                                           name=name))

    # ---- window hooks ------------------------------------------------------------------------
    def close_question(self):
        if self.is_running:
            return ("Compression running", "A compression is still running. Stop it and quit?")
        return None

    def shutdown(self):
        if self.is_running:
            self.job.stop()
            self.job.wait()


# The jobs' work, in their thread: plain data in and out, never a widget.
def _preview(technique, graph, weights, options, control, on_event):
    from designer.compress import jobs
    from designer.weights import read_state_dict
    return jobs.preview(technique, graph, read_state_dict(weights), options)


def _compress(out_root, technique, graph, weights, options, control, on_event):
    """Run the technique and write its result into a folder of its own: a variant of the run
    the weights came from (`<run>/variants/…`, with its variant.json) when they are a run's
    checkpoint or a variant's weights, else under `out_root`; (the report, the paths written)."""
    import torch
    from designer.compress import jobs
    from designer.compress.measure import input_shape
    from designer.core.fileformat import design_hash
    from designer.weights import save_design_with_weights, weights_path_for
    outcome = jobs.run(technique, graph, weights, options, control, on_event)
    report = outcome.report
    variant = workspace.variant_folder(weights, report["technique"])
    folder = variant or new_run_dir(graph.name, report["technique"], out_root)
    folder.mkdir(parents=True)
    if outcome.module is not None:
        from designer.compress.quantize import to_torchscript
        path = folder / "model_int8.pt"
        to_torchscript(outcome.module, torch.randn(1, *input_shape(graph)), path)
        paths, new_hash = [path], None
    else:
        new = outcome.graph.copy()
        new.set_metadata(name=f"{graph.name} ({report['technique']})")
        design = folder / "design.json"
        save_design_with_weights(new, outcome.state, design)
        paths, new_hash = [design, weights_path_for(design)], design_hash(new)
    if variant is not None:    # written last: a folder without it is not listed
        workspace.write_variant(folder, report, weights, design_hash=new_hash)
    return report, paths
