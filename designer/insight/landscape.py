"""Loss landscapes (Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets").

`interpolate` evaluates the loss along the straight line between two sets of weights (the
initial weights and a checkpoint, or two checkpoints): θ(α) = (1 − α)·θ₀ + α·θ₁.
`surface` evaluates it on a grid around one set of weights along two random directions, each
filter-normalised: every filter of the direction (a slice along the first dimension of a weight)
is rescaled to the norm of the same filter of the weights, so the plot's scale means the same for
every layer; biases and normalisation parameters get no direction, as in the paper.

The loss is the mean cross-entropy over a fixed list of batches, with the network in evaluation
mode. Both functions call `progress(done, total)` after each point and stop early when
`should_stop()` turns true; unvisited points are NaN and `complete` is False.
"""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from designer.core.compile import compile_graph
from .subject import InsightError


@dataclass
class Landscape:
    kind: str                  # "1d" or "2d"
    xs: np.ndarray             # α for 1-D; the first direction's coefficients for 2-D
    ys: np.ndarray | None      # the second direction's coefficients (2-D)
    losses: np.ndarray         # (steps,) or (steps, steps) indexed [y, x]
    accuracies: np.ndarray     # top-1 accuracy at each point, same shape
    complete: bool = True

    @property
    def centre(self):
        """The loss at the unperturbed weights (2-D) or at α = 1, the checkpoint (1-D)."""
        if self.kind == "2d":
            return float(self.losses[len(self.ys) // 2, len(self.xs) // 2])
        return float(self.losses[int(np.argmin(np.abs(self.xs - 1.0)))])


def fixed_batches(dataset, count=2, batch_size=128):
    """The first `count` batches of `dataset` in order, so every point sees the same images."""
    batches = []
    for start in range(0, min(len(dataset), count * batch_size), batch_size):
        items = [dataset[i] for i in range(start, min(len(dataset), start + batch_size))]
        images = torch.stack([image[4] if image.ndim == 4 else image for image, _ in items])
        batches.append((images, torch.tensor([int(label) for _, label in items])))
    if not batches:
        raise InsightError("the validation set is empty")
    return batches


def loss_at(model, state, batches):
    """(mean cross-entropy, top-1 accuracy) of `model` with the tensors of `state` on `batches`."""
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for images, labels in batches:
            logits = functional_call(model, state, (images,)).float()
            total += float(F.cross_entropy(logits, labels, reduction="sum"))
            correct += int((logits.argmax(1) == labels).sum())
            count += len(labels)
    return total / count, correct / count


def _weights(model, state):
    """The state of `model` with every tensor it uses (parameters and buffers), from `state`."""
    own = dict(model.named_parameters()) | dict(model.named_buffers())
    missing = [name for name in own if name not in state]
    if missing:
        raise InsightError("the weights lack " + ", ".join(missing[:5]))
    return {name: state[name].detach().float() if state[name].is_floating_point()
            else state[name] for name in own}


def interpolate(model, start, end, batches, steps=41, span=(-0.5, 1.5), progress=None,
                should_stop=None):
    """The loss along θ(α) = (1 − α)·start + α·end for `steps` values of α over `span`;
    floating-point buffers (BatchNorm statistics) are interpolated too."""
    start, end = _weights(model, start), _weights(model, end)
    different = [name for name in end if start[name].shape != end[name].shape]
    if different:
        raise InsightError("the two sets of weights differ in shape at " + ", ".join(different[:5]))
    alphas = np.linspace(span[0], span[1], steps)
    losses, accuracies = np.full(steps, np.nan), np.full(steps, np.nan)
    for i, alpha in enumerate(alphas):
        if should_stop is not None and should_stop():
            return Landscape("1d", alphas, None, losses, accuracies, complete=False)
        state = {name: torch.lerp(start[name], end[name], float(alpha))
                 if end[name].is_floating_point() else end[name] for name in end}
        losses[i], accuracies[i] = loss_at(model, state, batches)
        if progress is not None:
            progress(i + 1, steps)
    return Landscape("1d", alphas, None, losses, accuracies)


def filter_normalised_direction(model, state, generator):
    """A random Gaussian direction over the parameters, each filter scaled to its weights' norm;
    zero for 1-D parameters (biases, normalisation scales) and for buffers."""
    direction = {}
    parameters = dict(model.named_parameters())
    for name, value in state.items():
        if name not in parameters or value.ndim <= 1:
            direction[name] = torch.zeros_like(value) if value.is_floating_point() else None
            continue
        random = torch.randn(value.shape, generator=generator, dtype=value.dtype)
        flat_random, flat_value = random.flatten(1), value.flatten(1)
        scale = flat_value.norm(dim=1, keepdim=True) / flat_random.norm(dim=1, keepdim=True).clamp_min(1e-12)
        direction[name] = (flat_random * scale).view_as(value)
    return direction


def surface(model, state, batches, steps=21, span=1.0, seed=0, progress=None, should_stop=None):
    """The loss on a `steps`×`steps` grid θ + x·d₁ + y·d₂ for x, y in [−span, span]; an odd
    `steps` puts the weights themselves at the centre."""
    state = _weights(model, state)
    generator = torch.Generator().manual_seed(seed)
    first = filter_normalised_direction(model, state, generator)
    second = filter_normalised_direction(model, state, generator)
    coords = np.linspace(-span, span, steps)
    losses = np.full((steps, steps), np.nan)
    accuracies = np.full((steps, steps), np.nan)
    done, total = 0, steps * steps
    for row, y in enumerate(coords):
        for column, x in enumerate(coords):
            if should_stop is not None and should_stop():
                return Landscape("2d", coords, coords, losses, accuracies, complete=False)
            moved = {name: value + float(x) * first[name] + float(y) * second[name]
                     if first[name] is not None else value for name, value in state.items()}
            losses[row, column], accuracies[row, column] = loss_at(model, moved, batches)
            done += 1
            if progress is not None:
                progress(done, total)
    return Landscape("2d", coords, coords, losses, accuracies)


def initial_state(graph, seed=0):
    """The weights training started from: the design compiled right after seeding with `seed`,
    as the training engine does, without disturbing the caller's random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return compile_graph(graph).state_dict()
