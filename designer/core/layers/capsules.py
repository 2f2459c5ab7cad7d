"""Capsule layers (Sabour, Frosst & Hinton 2017, 'Dynamic Routing Between Capsules').

A capsule is a vector whose length is the probability that an entity is present and whose
orientation describes it. Tensors of capsules have the shape capsules × dimensions (batch left
out). `PrimaryCapsules` turns a feature map into capsules, `CapsuleRouting` routes them to the
next layer's capsules by agreement, `CapsuleLength` gives class scores (trained with the margin
loss) and `CapsuleMask` keeps only the longest capsule for the reconstruction decoder.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ShapeError
from ..params import Param, format_shape
from ..registry import LayerInfo, LayerSpec, register
from ..shapes import require_image, window_output


class Squashing(nn.Module):
    """A capsule layer: its outputs are squashed. (A base class rather than a function, so that
    exported Python source carries it with the layers that use it.)"""

    def squash(self, s: torch.Tensor) -> torch.Tensor:
        """v = |s|² / (1 + |s|²) · s / |s| over the last dimension (Eq. 1): short vectors shrink
        to almost zero length, long ones to just below 1."""
        squared = (s * s).sum(-1, keepdim=True)
        return squared / (1.0 + squared) * s / torch.sqrt(squared + 1e-8)


class PrimaryCapsules(Squashing):
    """A convolution to capsules × dim channels, regrouped into capsule vectors and squashed."""

    def __init__(self, in_channels: int, capsules: int, dim: int, kernel: int, stride: int):
        super().__init__()
        self.in_channels = in_channels
        self.kernel = kernel
        self.stride = stride
        self.capsules = capsules
        self.dim = dim
        self.conv = nn.Conv2d(in_channels, capsules * dim, kernel, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        n, _, h, w = y.shape
        y = y.view(n, self.capsules, self.dim, h, w).permute(0, 1, 3, 4, 2)
        return self.squash(y.reshape(n, self.capsules * h * w, self.dim))


class CapsuleRouting(Squashing):
    """Every input capsule i predicts every output capsule j as û_j|i = W_ij u_i; routing by
    agreement (Procedure 1) weights the predictions by coupling coefficients, a softmax over j of
    logits that grow where a prediction agrees with the output."""

    def __init__(self, in_capsules: int, in_dim: int, capsules: int, dim: int, iterations: int):
        super().__init__()
        self.in_capsules = in_capsules
        self.in_dim = in_dim
        self.capsules = capsules
        self.dim = dim
        self.iterations = iterations
        self.weight = nn.Parameter(0.01 * torch.randn(1, in_capsules, capsules, dim, in_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u_hat = torch.matmul(self.weight, x[:, :, None, :, None]).squeeze(-1)  # N, in, out, dim
        logits = torch.zeros(u_hat.shape[:3], dtype=x.dtype, device=x.device)
        v = u_hat.mean(1)
        for i in range(self.iterations):
            coupling = torch.softmax(logits, dim=2)
            v = self.squash((coupling.unsqueeze(-1) * u_hat).sum(1))
            if i < self.iterations - 1:
                logits = logits + (u_hat * v.unsqueeze(1)).sum(-1)
        return v


class CapsuleLength(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sqrt((x * x).sum(-1) + 1e-8)


class CapsuleMask(nn.Module):
    """Zeroes every capsule but the longest and flattens: the decoder reconstructs the input from
    the winning capsule alone."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        winner = (x * x).sum(-1).argmax(1)
        mask = F.one_hot(winner, x.shape[1]).to(x.dtype)
        return (x * mask.unsqueeze(-1)).flatten(1)


def _require_capsules(shape):
    if len(shape) != 2:
        raise ShapeError(f"input is {format_shape(shape)}, but capsules × dimensions is needed "
                         "(after PrimaryCapsules or CapsuleRouting)")
    return shape


def _primary_rule(p, shapes):
    c, h, w = require_image(shapes[0])
    oh, ow = window_output((h, w), (p.kernel, p.kernel), (p.stride, p.stride), (0, 0))
    channels = p.capsules * p.capsule_dim
    weights = channels * c * p.kernel * p.kernel
    return LayerInfo(((p.capsules * oh * ow, p.capsule_dim),), weights + channels,
                     weights * oh * ow, (p.kernel, p.kernel), (p.stride, p.stride))


register(LayerSpec(
    type="PrimaryCapsules", category="capsules", title="Primary capsules",
    help="CapsNet's primary capsule layer (Sabour et al. 2017): a convolution (no padding) to "
         "capsules × dimensions channels, regrouped so each position of each capsule type is one "
         "capsule vector, then squashed to a length below 1. On MNIST: 32 types of 8-D capsules "
         "from a 9×9/2 convolution, 6×6×32 = 1152 capsules.",
    params=(Param("capsules", "int", 32, "Capsule types (channels / dimensions)", min=1, max=1024),
            Param("capsule_dim", "int", 8, "Dimensions of each capsule", min=1, max=64),
            Param("kernel", "int", 9, "Kernel size", min=1, max=31),
            Param("stride", "int", 2, "Stride", min=1, max=8)),
    rule=_primary_rule,
    build=lambda p, s: PrimaryCapsules(s[0][0], p.capsules, p.capsule_dim, p.kernel, p.stride),
    summary=lambda p: f"{p.capsules}×{p.capsule_dim}D, {p.kernel}×{p.kernel}/{p.stride}",
))


def _routing_rule(p, shapes):
    n, d = _require_capsules(shapes[0])
    weights = n * p.capsules * p.capsule_dim * d
    return LayerInfo(((p.capsules, p.capsule_dim),), weights, weights)


register(LayerSpec(
    type="CapsuleRouting", category="capsules", title="Capsule routing",
    help="A capsule layer with dynamic routing by agreement (Sabour et al. 2017, Procedure 1): "
         "each input capsule predicts each output capsule through its own learned matrix; the "
         "predictions are summed with coupling coefficients that, over a few iterations, "
         "concentrate on the outputs they agree with, and the sums are squashed. MNIST's "
         "DigitCaps: 10 capsules of 16 dimensions, 3 iterations.",
    params=(Param("capsules", "int", 10, "Output capsules (e.g. one per class)", min=1, max=1024),
            Param("capsule_dim", "int", 16, "Dimensions of each output capsule", min=1, max=128),
            Param("iterations", "int", 3, "Routing iterations", min=1, max=10)),
    rule=_routing_rule,
    build=lambda p, s: CapsuleRouting(s[0][0], s[0][1], p.capsules, p.capsule_dim, p.iterations),
    summary=lambda p: f"{p.capsules}×{p.capsule_dim}D, r={p.iterations}",
))


register(LayerSpec(
    type="CapsuleLength", category="capsules", title="Capsule length",
    help="The length of each capsule: the probability that its entity is present. As a main "
         "output it trains with the margin loss (Sabour et al. 2017, Eq. 4) instead of the "
         "cross-entropy.",
    rule=lambda p, shapes: LayerInfo(((_require_capsules(shapes[0])[0],),)),
    build=lambda p, s: CapsuleLength(),
))


register(LayerSpec(
    type="CapsuleMask", category="capsules", title="Capsule mask",
    help="Keeps only the longest capsule (zeroing the others) and flattens, feeding CapsNet's "
         "reconstruction decoder. (The paper masks with the true label in training; a design "
         "sees only images, so the predicted capsule is used throughout.)",
    rule=lambda p, shapes: LayerInfo(((_require_capsules(shapes[0])[0] * shapes[0][1],),)),
    build=lambda p, s: CapsuleMask(),
))
