"""The Filters view: a selected convolution's kernels, as RGB tiles for a first layer or a
diverging map with a column per filter and a row per input channel."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel

from designer.insight import render

from .view import View, image_view


class FiltersView(View):
    title = "Filters"

    def __init__(self, panel):
        super().__init__(panel)
        self.filters_label = QLabel()
        self.options.addWidget(self.filters_label)
        self.filters_widget = pg.GraphicsLayoutWidget()
        self.filters_widget.setBackground(None)
        self.filters_view, self.filters_item = image_view(self.filters_widget)
        self.column.addWidget(self.filters_widget, 1)

    def refresh(self):
        from designer.insight.filters import conv_weight, filter_tiles
        from designer.insight.subject import InsightError
        output, tap = self.panel.selected_tap(self.filters_label)
        if output is None:
            self.filters_item.clear()
            return
        try:
            weight = conv_weight(self.panel.subject.model, tap)
        except InsightError as error:
            self.filters_label.setText(str(error))
            self.filters_item.clear()
            return
        tiles, columns, rgb = filter_tiles(weight)
        if rgb:
            grid = render.tile(tiles, columns, pad=1, fill=1.0)
            image = (grid * 255).round().astype(np.uint8)
        else:
            if weight.shape[1] > 1:      # the panel is wide: a column per filter, a row per input
                filters_shown = len(tiles) // columns
                tiles = tiles.reshape(filters_shown, columns, *tiles.shape[1:]).swapaxes(0, 1)
                tiles, columns = tiles.reshape(-1, *tiles.shape[2:]), filters_shown
            grid = render.tile(tiles, columns, pad=1)
            image = render.colormap(grid, "diverging", -1, 1)
            image[np.isnan(grid)] = (255, 255, 255)
        self.filters_item.setImage(image)
        self.filters_view.autoRange(padding=0.01)
        self.filters_label.setText(
            f"{self.panel.node}: {weight.shape[0]} filters of {weight.shape[2]}×{weight.shape[3]} "
            f"over {weight.shape[1]} channels" + ("" if rgb else " — a column per filter, a row per "
                                                  "input channel; blue negative, white zero, red "
                                                  "positive"))
