"""A convolution's learned kernels, ready to tile: RGB colour patches for a layer that reads a
3-channel image, one grey patch per (filter, input channel) otherwise."""

import numpy as np
from torch import nn

from .subject import InsightError


def conv_weight(model, tap):
    """The 4-D kernel tensor (out, in, kh, kw) of the convolution computing `tap`'s node."""
    if tap.module is None:
        raise InsightError(f"{tap.node} is the input; it has no filters")
    module = model.get_submodule(tap.module)
    for sub in module.modules():
        if isinstance(sub, (nn.Conv2d, nn.ConvTranspose2d)):
            weight = sub.weight.detach().float()
            return weight.transpose(0, 1) if isinstance(sub, nn.ConvTranspose2d) else weight
    raise InsightError(f"{tap.node} is not a convolution; only convolutions have filters to show")


def filter_tiles(weight, max_filters=64, max_inputs=16):
    """(tiles, columns, rgb): RGB tiles (N, kh, kw, 3) in 0..1, one per filter, when the kernels
    read 3 channels; else grey tiles (N, kh, kw) in -1..1 (symmetric about zero, scaled by the
    largest weight shown), one row of `columns` input channels per filter (a square grid when
    the layer reads one channel)."""
    weight = weight[:max_filters].cpu().numpy()
    if weight.shape[1] == 3:
        # Each filter scaled on its own so its colour pattern shows, as in AlexNet's figure 3.
        low = weight.min(axis=(1, 2, 3), keepdims=True)
        high = weight.max(axis=(1, 2, 3), keepdims=True)
        tiles = (weight - low) / np.maximum(high - low, 1e-12)
        return tiles.transpose(0, 2, 3, 1), int(np.ceil(np.sqrt(len(tiles)))), True
    weight = weight[:, :max_inputs]
    scale = max(float(np.abs(weight).max()), 1e-12)
    # One input channel: a square grid of filters reads better than one long column.
    columns = weight.shape[1] if weight.shape[1] > 1 else int(np.ceil(np.sqrt(len(weight))))
    return (weight / scale).reshape(-1, *weight.shape[2:]), columns, False
