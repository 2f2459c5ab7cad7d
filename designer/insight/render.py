"""Insight views as PNG files, drawn with numpy and Pillow (torchvision's own image dependency), no
Qt: feature-map grids, filter tiles, Grad-CAM overlays, the confusion matrix, the feature map of
the validation set and loss landscapes. `colormap` and `tile` are shared with the editor's panel.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from designer.core.atomic import atomic_path

# Colour maps as anchor colours interpolated linearly (matplotlib's viridis and inferno, sampled
# at nine points; a blue-white-red diverging map for signed values).
COLORMAPS = {
    "viridis": ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962",
                "#addc30", "#fde725"],
    "inferno": ["#000004", "#1f0c48", "#550f6d", "#88226a", "#ba3655", "#e35933", "#f98e09",
                "#f9cb35", "#fcffa4"],
    "diverging": ["#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582",
                  "#d6604d", "#b2182b"],
    "grey": ["#000000", "#ffffff"],
}
# Class colours (Tableau 10), cycled for more than ten classes.
CLASS_COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
                 "#ff9da7", "#9c755f", "#bab0ac"]
BACKGROUND = (255, 255, 255)
INK = (30, 30, 30)
MISSING = (200, 200, 200)


def _rgb(hex_colour):
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def lookup_table(name="viridis", size=256):
    """(size, 3) uint8 colours of the map `name`."""
    anchors = np.array([_rgb(c) for c in COLORMAPS[name]], dtype=np.float64)
    positions = np.linspace(0, 1, len(anchors))
    samples = np.linspace(0, 1, size)
    return np.stack([np.interp(samples, positions, anchors[:, i]) for i in range(3)],
                    1).round().astype(np.uint8)


def colormap(values, name="viridis", low=None, high=None):
    """An (..., 3) uint8 image of `values` through the colour map; NaN shows grey."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    low = np.nanmin(values) if low is None and finite.any() else (low or 0.0)
    high = np.nanmax(values) if high is None and finite.any() else (high if high is not None else 1.0)
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    index = np.clip(np.nan_to_num(scaled) * 255, 0, 255).round().astype(np.int64)
    image = lookup_table(name)[index]
    image[~finite] = MISSING
    return image


def tile(maps, columns, pad=1, fill=np.nan):
    """Equal-sized maps (N, h, w) or (N, h, w, 3) laid out `columns` wide with `pad` between;
    the gaps hold `fill`."""
    maps = np.asarray(maps)
    count = len(maps)
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    h, w = maps.shape[1:3]
    grid = np.full((rows * (h + pad) - pad, columns * (w + pad) - pad, *maps.shape[3:]), fill,
                   dtype=np.float64)
    for i, image in enumerate(maps):
        r, c = divmod(i, columns)
        grid[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = image
    return grid


def grid_columns(count, aspect=1.0):
    """Columns for `count` tiles so the grid is about `aspect` times as wide as it is tall."""
    return max(1, int(np.ceil(np.sqrt(count * aspect))))


def normalise_maps(maps, shared=True):
    """Maps scaled to 0..1 together (one colour scale) or each on its own."""
    maps = np.asarray(maps, dtype=np.float64)
    if shared:
        low, high = maps.min(), maps.max()
        return (maps - low) / (high - low) if high > low else np.zeros_like(maps)
    low = maps.min(axis=(1, 2), keepdims=True)
    high = maps.max(axis=(1, 2), keepdims=True)
    return (maps - low) / np.where(high > low, high - low, 1.0)


def overlay(image, heat, alpha=0.5):
    """A heat map (H, W) in 0..1 over an image (H, W) or (H, W, 3) in 0..1: (H, W, 3) uint8."""
    base = np.asarray(image, dtype=np.float64)
    if base.ndim == 2:
        base = np.repeat(base[:, :, None], 3, axis=2)
    colours = colormap(heat, "inferno", 0.0, 1.0).astype(np.float64)
    weight = alpha * np.clip(np.asarray(heat), 0, 1)[:, :, None] ** 0.5
    return (base * 255 * (1 - weight) + colours * weight).round().astype(np.uint8)


# -- drawing ---------------------------------------------------------------------------------

_FONTS = {}


def _font(size=13):
    # DejaVu Sans where the system has it (it draws μ, ×, α and −); Pillow's own font otherwise.
    if size not in _FONTS:
        try:
            _FONTS[size] = ImageFont.truetype("DejaVuSans.ttf", size)
        except OSError:
            _FONTS[size] = ImageFont.load_default(size=size)
    return _FONTS[size]


def _upscaled(image, scale):
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def _scale_for(height, width, target=480, most=32):
    return int(max(1, min(most, target // max(height, width, 1))))


class Canvas:
    """A white page with a title line; place images and text on it, then save."""

    def __init__(self, width, height, title=""):
        if title:   # wide enough for the title
            width = max(width, 20 + _font(15).getlength(title))
        self.image = Image.new("RGB", (int(width), int(height)), BACKGROUND)
        self.draw = ImageDraw.Draw(self.image)
        if title:
            self.text((10, 8), title, size=15)

    def paste(self, pixels, at):
        self.image.paste(Image.fromarray(np.asarray(pixels, dtype=np.uint8)), tuple(map(int, at)))

    def text(self, at, text, size=13, fill=INK, anchor="la"):
        self.draw.text(tuple(map(int, at)), str(text), font=_font(size), fill=fill, anchor=anchor)

    def save(self, path):
        save_png(self.image, path)


def save_png(image, path):
    """Write a PIL image (or an (H, W[, 3]) uint8 array) atomically."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return path


def feature_maps_png(output, stats, path, title, shared=True, limit=64):
    """A node's channel maps (C, H, W) sorted by mean activation, each labelled with its channel,
    mean and fraction of zeros."""
    order = stats.order()[:limit]
    maps = output.float().numpy()[order]
    maps = normalise_maps(maps, shared)
    columns = grid_columns(len(maps), 1.6)
    h, w = maps.shape[1:]
    scale = _scale_for(h, w, target=96, most=24)
    cell_w, cell_h = max(w * scale, 96), h * scale + 30
    rows = -(-len(maps) // columns)
    note = f"{len(order)} of {output.shape[0]} channels" if output.shape[0] > limit else \
        f"{output.shape[0]} channels"
    canvas = Canvas(columns * (cell_w + 8) + 12, rows * (cell_h + 6) + 50,
                    f"{title}: {note}, {h}×{w}, by mean activation"
                    f" ({'one colour scale' if shared else 'each map scaled'})")
    for i, (channel, image) in enumerate(zip(order, maps)):
        r, c = divmod(i, columns)
        x, y = 10 + c * (cell_w + 8), 36 + r * (cell_h + 6)
        canvas.paste(_upscaled(colormap(image, "viridis", 0, 1), scale), (x, y))
        canvas.text((x, y + h * scale + 2), f"#{channel} μ {stats.mean[channel]:.2g}", size=11)
        canvas.text((x, y + h * scale + 15), f"zeros {stats.zero_fraction[channel]:.0%}", size=11)
    return canvas.save(path)


def vector_png(values, path, title, limit=256):
    """A node without a spatial output: its values as bars (first `limit`)."""
    values = np.asarray(values, dtype=np.float64)[:limit]
    width, height, left, top = max(420, 6 * len(values) + 80), 260, 50, 36
    canvas = Canvas(width, height, title)
    low, high = min(0.0, values.min()), max(0.0, values.max())
    span = high - low or 1.0
    plot_h = height - top - 30

    def y_of(v):
        return top + (high - v) / span * plot_h
    bar = (width - left - 20) / len(values)
    canvas.draw.line((left, y_of(0), width - 20, y_of(0)), fill=INK)
    for i, v in enumerate(values):
        x0 = left + i * bar
        canvas.draw.rectangle((x0, min(y_of(0), y_of(v)), x0 + max(1, bar - 1), max(y_of(0), y_of(v))),
                              fill=CLASS_COLOURS[0] if v >= 0 else CLASS_COLOURS[2])
    canvas.text((4, y_of(high)), f"{high:.3g}", size=11)
    canvas.text((4, y_of(low) - 12), f"{low:.3g}", size=11)
    canvas.text((left, height - 22), f"units 0–{len(values) - 1}", size=11)
    return canvas.save(path)


def filters_png(tiles, columns, rgb, path, title):
    """Convolution kernels as tiles: RGB filters side by side, or one row per filter with one
    tile per input channel on a blue-white-red scale (white is zero)."""
    tiles = np.asarray(tiles)
    h, w = tiles.shape[1:3]
    scale = _scale_for(h, w, target=44, most=12)
    if rgb:
        images = [(_upscaled(t, scale) * 255).round().astype(np.uint8) for t in tiles]
    else:
        images = [_upscaled(colormap(t, "diverging", -1, 1), scale) for t in tiles]
    rows = -(-len(images) // columns)
    gap = 2 if not rgb else 6
    ih, iw = images[0].shape[:2]
    canvas = Canvas(max(360, columns * (iw + gap) + 20), rows * (ih + gap) + 50, title)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        canvas.paste(image, (10 + c * (iw + gap), 36 + r * (ih + gap)))
    return canvas.save(path)


def gradcam_png(display, heat, prediction, target_label, path, title):
    """The image, the heat map over it, and the top-5 predictions with probability bars."""
    h, w = heat.shape
    scale = _scale_for(h, w, target=224, most=28)
    base = np.asarray(display, dtype=np.float64)
    base_rgb = np.repeat(base[:, :, None], 3, axis=2) if base.ndim == 2 else base
    left = _upscaled((base_rgb * 255).round().astype(np.uint8), scale)
    right = _upscaled(overlay(base, heat), scale)
    size = h * scale
    canvas = Canvas(2 * w * scale + 300, size + 70, f"{title} for class {target_label}")
    canvas.paste(left, (10, 36))
    canvas.paste(right, (20 + w * scale, 36))
    x = 40 + 2 * w * scale
    canvas.text((x, 36), "top-5", size=13)
    for i, entry in enumerate(prediction["top5"]):
        y = 58 + i * 24
        canvas.draw.rectangle((x, y, x + 150 * entry["probability"], y + 16), fill=CLASS_COLOURS[0])
        canvas.text((x + 156, y), f"{entry['label']}  {entry['probability']:.1%}", size=12)
    return canvas.save(path)


def confusion_png(counts, classes, path, title):
    """Counts on the left, row-normalised (each true class sums to 1) on the right."""
    counts = np.asarray(counts, dtype=np.int64)
    k = len(counts)
    totals = counts.sum(1, keepdims=True)
    rates = np.divide(counts, np.maximum(totals, 1))
    cell = max(14, min(44, 440 // max(k, 1)))
    labels = [str(c)[:10] for c in classes] if len(classes) == k else [str(i) for i in range(k)]
    label_w = 12 + 7 * max(len(s) for s in labels)
    panel = label_w + k * cell
    canvas = Canvas(2 * panel + 60, k * cell + 110, title)
    show_numbers = cell >= 22
    for p, (values, kind) in enumerate(((counts, "counts"), (rates, "row-normalised"))):
        x0, y0 = 10 + p * (panel + 30) + label_w, 70
        canvas.text((x0, 40), f"{kind} (rows: true, columns: predicted)", size=12)
        colours = colormap(values.astype(np.float64), "viridis", 0, values.max() or 1)
        for r in range(k):
            canvas.text((x0 - 6, y0 + r * cell + cell / 2), labels[r], size=11, anchor="rm")
            for c in range(k):
                x, y = x0 + c * cell, y0 + r * cell
                colour = tuple(int(v) for v in colours[r, c])
                canvas.draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill=colour)
                if show_numbers and values[r, c]:
                    bright = sum(colour) > 380
                    text = f"{values[r, c]}" if kind == "counts" else f"{values[r, c]:.2f}"[1:] \
                        if values[r, c] < 1 else "1"
                    canvas.text((x + cell / 2, y + cell / 2), text, size=10,
                                fill=INK if bright else (255, 255, 255), anchor="mm")
        for c in range(k):
            canvas.text((x0 + c * cell + cell / 2, y0 + k * cell + 4), labels[c], size=11,
                        anchor="ma")
    return canvas.save(path)


def embedding_png(points, labels, classes, path, title):
    """Points coloured by true class, with a legend."""
    points = np.asarray(points, dtype=np.float64)
    labels = np.asarray(labels)
    size, margin = 460, 20
    legend = 120
    canvas = Canvas(size + legend + 2 * margin, size + 2 * margin + 30, title)
    low, high = points.min(0), points.max(0)
    span = np.where(high > low, high - low, 1.0)
    xy = margin + (points - low) / span * (size - 2 * margin)
    xy[:, 1] = size - xy[:, 1] + 30        # y up
    for (x, y), label in zip(xy, labels):
        colour = _rgb(CLASS_COLOURS[int(label) % len(CLASS_COLOURS)])
        canvas.draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=colour)
    for i, name in enumerate(classes[:30]):
        y = 40 + i * 18
        canvas.draw.ellipse((size + margin + 10, y + 3, size + margin + 20, y + 13),
                            fill=_rgb(CLASS_COLOURS[i % len(CLASS_COLOURS)]))
        canvas.text((size + margin + 26, y), str(name)[:14], size=12)
    return canvas.save(path)


def contour_image(losses, size=420, levels=12):
    """A 2-D loss grid as an (size, size, 3) image: log-loss colours with iso-loss lines where the
    level (of `levels`, evenly spaced in log loss) changes between neighbouring pixels."""
    grid = np.log(np.asarray(losses, dtype=np.float64))
    rows, cols = grid.shape
    # Bilinear upsampling of the grid to the image.
    ys = np.linspace(0, rows - 1, size)
    xs = np.linspace(0, cols - 1, size)
    y0 = np.clip(np.floor(ys).astype(int), 0, rows - 2 if rows > 1 else 0)
    x0 = np.clip(np.floor(xs).astype(int), 0, cols - 2 if cols > 1 else 0)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    y1, x1 = np.minimum(y0 + 1, rows - 1), np.minimum(x0 + 1, cols - 1)
    fine = (grid[y0][:, x0] * (1 - fy) * (1 - fx) + grid[y0][:, x1] * (1 - fy) * fx
            + grid[y1][:, x0] * fy * (1 - fx) + grid[y1][:, x1] * fy * fx)
    fine = fine[::-1]                                   # y up
    image = colormap(fine, "viridis")
    finite = np.isfinite(fine)
    if finite.any():
        low, high = np.nanmin(fine), np.nanmax(fine)
        level = np.floor((fine - low) / ((high - low) / levels or 1.0))
        edge = np.zeros_like(finite)
        edge[:, 1:] |= level[:, 1:] != level[:, :-1]
        edge[1:, :] |= level[1:, :] != level[:-1, :]
        image[edge & finite] = (255, 255, 255)
    return image


def landscape_png(landscape, path, title):
    """1-D: loss (and accuracy) against α; 2-D: contours of the loss around the weights."""
    if landscape.kind == "2d":
        size = 420
        canvas = Canvas(size + 150, size + 80, title)
        canvas.paste(contour_image(landscape.losses, size), (50, 40))
        xs = landscape.xs
        canvas.text((50, size + 44), f"{xs[0]:g}", size=11)
        canvas.text((50 + size, size + 44), f"{xs[-1]:g}", size=11, anchor="ra")
        canvas.text((50 + size / 2, size + 58), "direction 1 (filter-normalised)", size=11,
                    anchor="ma")
        canvas.text((44, 40), f"{xs[-1]:g}", size=11, anchor="ra")
        canvas.text((44, 40 + size), f"{xs[0]:g}", size=11, anchor="rb")
        centre = (50 + size / 2, 40 + size / 2)
        canvas.draw.ellipse((centre[0] - 4, centre[1] - 4, centre[0] + 4, centre[1] + 4),
                            outline=(255, 60, 60), width=2)
        finite = landscape.losses[np.isfinite(landscape.losses)]
        bar = colormap(np.linspace(1, 0, size)[:, None].repeat(14, 1), "viridis", 0, 1)
        canvas.paste(bar, (size + 70, 40))
        if finite.size:
            canvas.text((size + 90, 40), f"{finite.max():.3g}", size=11)
            canvas.text((size + 90, 40 + size - 12), f"{finite.min():.3g}", size=11)
            canvas.text((size + 90, 40 + size / 2), "loss\n(log\nscale)", size=11)
            canvas.text((size + 90, 40 + size / 2 + 52), f"centre\n{landscape.centre:.4g}", size=11)
        return canvas.save(path)
    width, height, left, top, bottom = 560, 320, 60, 40, 50
    canvas = Canvas(width, height, title)
    plot_w, plot_h = width - left - 20, height - top - bottom
    xs, ys = landscape.xs, landscape.losses
    finite = np.isfinite(ys)
    high = float(np.nanmax(ys)) if finite.any() else 1.0
    high = high if high > 0 else 1.0

    def point(x, y):
        return (left + (x - xs[0]) / (xs[-1] - xs[0] or 1) * plot_w, top + (1 - y / high) * plot_h)
    canvas.draw.rectangle((left, top, left + plot_w, top + plot_h), outline=INK)
    for a in (0.0, 1.0):
        if xs[0] <= a <= xs[-1]:
            x, _ = point(a, 0)
            canvas.draw.line((x, top, x, top + plot_h), fill=MISSING)
            canvas.text((x, top + plot_h + 4), "start" if a == 0 else "end", size=11, anchor="ma")
    curve = [point(x, y) for x, y in zip(xs, ys) if np.isfinite(y)]
    if len(curve) > 1:
        canvas.draw.line(curve, fill=_rgb(CLASS_COLOURS[0]), width=2)
    accuracy = [point(x, a * high) for x, a in zip(xs, landscape.accuracies) if np.isfinite(a)]
    if len(accuracy) > 1:
        canvas.draw.line(accuracy, fill=_rgb(CLASS_COLOURS[1]), width=1)
    canvas.text((left - 4, top), f"{high:.3g}", size=11, anchor="ra")
    canvas.text((left - 4, top + plot_h), "0", size=11, anchor="rb")
    canvas.text((left, height - 20), f"α from {xs[0]:g} to {xs[-1]:g}: (1−α)·start + α·end", size=11)
    canvas.text((width - 20, top + 4), "loss", size=11, fill=_rgb(CLASS_COLOURS[0]), anchor="ra")
    canvas.text((width - 20, top + 18), "top-1 accuracy (0–100 %)", size=11,
                fill=_rgb(CLASS_COLOURS[1]), anchor="ra")
    canvas.text((left + plot_w + 2, top), "100 %", size=10, fill=_rgb(CLASS_COLOURS[1]))
    return canvas.save(path)


def gallery_png(images, captions, path, title, columns=8):
    """Small images (each (h, w) or (h, w, 3) in 0..1) with a caption under each."""
    h, w = np.asarray(images[0]).shape[:2]
    scale = _scale_for(h, w, target=72, most=12)
    cell_w, cell_h = max(w * scale, 84), h * scale + 18
    columns = min(columns, len(images))
    rows = -(-len(images) // columns)
    canvas = Canvas(columns * (cell_w + 8) + 12, rows * (cell_h + 6) + 44, title)
    for i, (image, caption) in enumerate(zip(images, captions)):
        r, c = divmod(i, columns)
        x, y = 10 + c * (cell_w + 8), 36 + r * (cell_h + 6)
        pixels = np.asarray(image, dtype=np.float64)
        if pixels.ndim == 2:
            pixels = np.repeat(pixels[:, :, None], 3, axis=2)
        canvas.paste(_upscaled((pixels * 255).round().astype(np.uint8), scale), (x, y))
        canvas.text((x, y + h * scale + 2), caption, size=11)
    return canvas.save(path)
