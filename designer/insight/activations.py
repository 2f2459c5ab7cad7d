"""Node outputs captured with forward hooks on the compiled modules, and their statistics.

`capture(model, image, taps)` runs the network once and returns each tapped node's output for the
image; per-channel statistics (mean, max, fraction of zeros) show dead ReLUs at a glance.
"""

from dataclasses import dataclass

import numpy as np
import torch


def capture(model, image, taps):
    """{node path: output (C, H, W) or (N,)} of each `Tap` for one image (1, C, H, W)."""
    found = {}
    handles = []
    for tap in taps:
        if tap.module is None:
            found[tap.node] = image[0].detach().clone()
            continue

        def hook(module, args, output, tap=tap):
            value = output[tap.index] if tap.index is not None else output
            found[tap.node] = value[0].detach().clone()
        handles.append(model.get_submodule(tap.module).register_forward_hook(hook))
    try:
        with torch.no_grad():
            logits = model(image)
    finally:
        for handle in handles:
            handle.remove()
    return found, logits[0]


@dataclass
class ChannelStats:
    mean: np.ndarray          # per channel (or per unit for a vector)
    max: np.ndarray
    zero_fraction: np.ndarray

    def order(self):
        """Channels by mean activation, highest first."""
        return np.argsort(-self.mean, kind="stable")


def channel_stats(output):
    """Per-channel statistics of a (C, H, W) output; a vector counts each unit as a channel."""
    values = output.float().reshape(output.shape[0], -1)
    return ChannelStats(values.mean(1).numpy(), values.amax(1).numpy(),
                        (values == 0).float().mean(1).numpy())


def summary(output):
    """The JSON summary of one node's output: shape, mean, max and fraction of zeros."""
    values = output.float()
    return {"shape": list(output.shape), "spatial": output.ndim == 3,
            "mean": float(values.mean()), "max": float(values.max()),
            "zero_fraction": float((values == 0).float().mean())}
