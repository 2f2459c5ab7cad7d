"""The Activations view: the selected node's output for the current sample, as a grid of channel
maps ordered by mean activation (or one bar per unit for a vector), with per-channel statistics."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QStackedWidget

from designer.insight import render

from .view import View, image_view

GRID_LIMIT = 64          # channel maps shown at most
TILE_LABELS = 32         # channel numbers drawn on grids up to this many maps


class ActivationsView(View):
    title = "Activations"

    def __init__(self, panel):
        super().__init__(panel)
        self.node_label = QLabel("Select a node on the canvas.")
        self.options.addWidget(self.node_label, 1)
        self.per_map_box = QCheckBox("Scale each map")
        self.per_map_box.setToolTip("Off: one colour scale for all maps; on: each map scaled alone")
        self.per_map_box.toggled.connect(lambda _: panel.refresh_views())
        self.options.addWidget(self.per_map_box)
        self.activation_stack = QStackedWidget()
        self.maps_widget = pg.GraphicsLayoutWidget()
        self.maps_widget.setBackground(None)
        self.maps_view, self.maps_item = image_view(self.maps_widget)
        self.maps_item.setLookupTable(render.lookup_table("viridis"))
        self.tile_labels = []
        self.activation_stack.addWidget(self.maps_widget)
        self.bars_plot = pg.PlotWidget()
        self.bars_plot.setBackground(None)
        self.bars_plot.setLabel("bottom", "unit")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#4e79a7")
        self.bars_plot.addItem(self.bars)
        self.activation_stack.addWidget(self.bars_plot)
        self.column.addWidget(self.activation_stack, 1)
        self.stats_label = QLabel()
        self.stats_label.setWordWrap(True)
        self.stats_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.column.addWidget(self.stats_label)

    def refresh(self):
        from designer.insight.activations import channel_stats
        node = self.panel.node
        output, tap = self.panel.selected_tap(self.node_label)
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
            self.node_label.setText(f"{node}: {shape}, channels by mean activation{shown}")
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
            self.node_label.setText(f"{node}: {shape} values (no spatial output: one bar "
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
