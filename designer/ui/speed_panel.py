"""The Speed panel: profile the open design (as `designer profile` does, with the same settings
in its form) in a `Job` thread and show each layer on a roofline: arithmetic intensity
(multiply-adds per byte moved) against the multiply-adds per second it achieved (GMAC/s), under
this machine's roofs (copy bandwidth × intensity, and the matmul peak). Points left of the ridge
are memory-bound. Clicking a point
selects its layer; its numbers and hints (ShuffleNet V2's guidelines) show below the plot.
"""

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from designer.core.errors import DesignError
from designer.core.summary import human
from designer.speed.settings import PROFILE_SETTINGS

from . import warmup
from .forms import SettingsForm
from .jobs import Job
from .widgets import settings_column, side_by_side

BOUND_COLOURS = {"memory": "#f97316", "compute": "#2f6fde"}
PROFILING = "profiling…"


def profiling(graph, **settings):
    """The job's work, in its thread: the engine (and torch) imported there, not on a click."""
    from designer.speed.profile import profile
    return profile(graph, **settings)


class SpeedPanel(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.job = None
        self.report = None
        self.profile_button = QPushButton("Profile")
        self.profile_button.setToolTip("Time every layer and place it on the roofline")
        self.profile_button.clicked.connect(self.start)
        # The settings of `designer profile`; fewer timed runs than the CLI's by default, so a
        # look from the editor takes a moment.
        self.form = SettingsForm(PROFILE_SETTINGS)
        self.form.set_values({"repeats": 10, "warmup": 2})
        self.editors = self.form.editors
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.detail = QLabel("Profile the design to see where each layer sits.")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextSelectableByMouse)
        left = settings_column(self.form, self.profile_button)
        right = QWidget()
        self.layout_ = QVBoxLayout(right)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.addWidget(self.summary)
        self.layout_.addWidget(self.detail)
        side_by_side(self, left, right, sizes=[300, 800])
        self.plot = None          # built when first shown: every window has this tab
        context.document_changed.connect(lambda document: self.show_report(None))

    def _ensure_plot(self):
        if self.plot is not None:
            return
        self.plot = pg.PlotWidget(background=None)
        self.plot.setLogMode(x=True, y=True)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "arithmetic intensity (multiply-adds per byte)")
        self.plot.setLabel("left", "achieved GMAC/s")
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        self.roof = pg.PlotDataItem(pen=pg.mkPen("#64748b", width=2, style=Qt.DashLine))
        self.points = pg.ScatterPlotItem(size=10, pen=None, hoverable=True)
        self.points.sigClicked.connect(self._clicked)
        self.plot.addItem(self.roof)
        self.plot.addItem(self.points)
        self.layout_.insertWidget(1, self.plot, 1)

    def showEvent(self, event):
        self._ensure_plot()
        super().showEvent(event)

    @property
    def is_running(self):
        return self.job is not None

    def start(self):
        """Profile a frozen copy of the design (latency, memory access, roofline, hints). The
        engine is imported in the job's thread: before PyTorch has loaded in the background
        (`warmup`) the job waits for it, "loading PyTorch…" shown, and the window stays live."""
        graph = self.context.graph
        if graph is None or self.is_running:
            return False
        try:
            settings = PROFILE_SETTINGS.check(self.form.values())
        except DesignError as error:
            self.summary.setText(str(error))
            return False
        self.job = Job(parent=self)
        self.job.returned.connect(self.show_report)
        self.job.errored.connect(self.summary.setText)
        self.job.finished.connect(self._done)
        self.profile_button.setEnabled(False)
        if warmup.waiting():
            self.summary.setText(warmup.LOADING_MESSAGE)
            warmup.notifier.loaded.connect(self._torch_loaded)
        else:
            self.summary.setText(PROFILING)
        self.job.start(profiling, graph.copy(), **settings)
        return True

    def _torch_loaded(self):
        warmup.notifier.loaded.disconnect(self._torch_loaded)
        if self.is_running and self.summary.text() == warmup.LOADING_MESSAGE:
            self.summary.setText(PROFILING)

    def _done(self):
        self.job.deleteLater()
        self.job = None
        self.profile_button.setEnabled(True)

    def shutdown(self):
        if self.job is not None:
            self.job.wait()

    def show_report(self, report):
        """Draw a `designer.speed.profile.profile()` report (None clears the plot)."""
        self.report = report
        self._ensure_plot()
        if report is None:
            self.points.setData([])
            self.roof.setData([], [])
            self.summary.setText("")
            return
        peak = report["peak"]
        spots = []
        for node in report["nodes"]:
            if node["macs"] and node["latency_ms"] > 0 and node["intensity"] > 0:
                achieved = node["macs"] / (node["latency_ms"] / 1000) / 1e9
                spots.append({"pos": (math.log10(node["intensity"]), math.log10(achieved)),
                              "data": node["id"], "brush": pg.mkBrush(BOUND_COLOURS[node["bound"]])})
        self.points.setData(spots)
        intensities = [10 ** (i / 10) for i in range(-30, 31)]
        self.roof.setData(intensities, [min(peak["macs_per_s"], x * peak["bytes_per_s"]) / 1e9
                                        for x in intensities])
        memory = sum(n["bound"] == "memory" for n in report["nodes"] if n["bytes_read"])
        self.summary.setText(
            f"{report['end_to_end_ms']:.2f} ms forward (sum of layers {report['sum_ms']:.2f} ms), "
            f"batch {report['batch']}; peaks {peak['macs_per_s'] / 1e9:.1f} GMAC/s and "
            f"{peak['bytes_per_s'] / 1e9:.1f} GB/s; {memory} memory-bound layer(s)")

    def _clicked(self, _item, points, _event=None):
        if not len(points) or self.report is None:
            return
        node_id = points[0].data()
        node = next(n for n in self.report["nodes"] if n["id"] == node_id)
        lines = [f"<b>{node_id}</b> ({node['type']}): {node['latency_ms']:.3f} ms, "
                 f"{human(node['macs'])} multiply-adds, {node['bytes_read'] + node['bytes_written']:,} "
                 f"bytes moved, {node['intensity']:.2f} MACs/byte, {node['bound']}-bound"]
        lines += node["hints"]
        self.detail.setText("<br>".join(lines))
        self.context.select([node_id])
