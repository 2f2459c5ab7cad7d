"""Small `nn.Module`s that torch.nn lacks, written to script with TorchScript.

Multi-input modules take a `List[Tensor]` so one compiled call site serves any input count.
"""

from typing import List

import torch
import torch.nn.functional as F
from torch import nn


class Concat(nn.Module):
    """Concatenate along channels (dim 1)."""

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        return torch.cat(inputs, 1)


class Add(nn.Module):
    """inputs[0] + scale * (inputs[1] + ...); scale 1 is a plain sum (residual scaling otherwise)."""

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = scale

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        rest = inputs[1]
        for i in range(2, len(inputs)):
            rest = rest + inputs[i]
        if self.scale != 1.0:
            rest = rest * self.scale
        return inputs[0] + rest

    def extra_repr(self):
        return f"scale={self.scale}"


class Multiply(nn.Module):
    """Element-wise product with broadcasting: a C×H×W tensor times a C×1×1 (or C) gate."""

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        x, gate = inputs[0], inputs[1]
        if gate.dim() == 2 and x.dim() == 4:
            gate = gate.unsqueeze(-1).unsqueeze(-1)
        return x * gate


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle: reshape to (groups, C/groups), transpose, flatten."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        x = x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous()
        return x.view(n, c, h, w)

    def extra_repr(self):
        return f"groups={self.groups}"


class Split(nn.Module):
    """Split channels into equal sections (ShuffleNet v2's channel split)."""

    def __init__(self, sections: int):
        super().__init__()
        self.sections = sections

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        return list(torch.chunk(x, self.sections, 1))


class DropPath(nn.Module):
    """Stochastic depth: in training drop the whole residual branch per sample with probability
    1 - survival_probability, scaling kept samples by 1/p so evaluation is the identity."""

    def __init__(self, survival_probability: float = 1.0):
        super().__init__()
        self.survival_probability = survival_probability

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.survival_probability
        if not self.training or p >= 1.0:
            return x
        shape = [x.shape[0]] + [1] * (x.dim() - 1)
        mask = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(p)
        return x * mask / p

    def extra_repr(self):
        return f"survival_probability={self.survival_probability}"


class GlobalPool(nn.Module):
    """Global average or max pooling to C×1×1, or to C when flatten is set."""

    def __init__(self, mode: str = "avg", flatten: bool = False):
        super().__init__()
        self.mode = mode
        self.flatten = flatten

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "avg":
            x = F.adaptive_avg_pool2d(x, 1)
        else:
            x = F.adaptive_max_pool2d(x, 1)
        if self.flatten:
            x = torch.flatten(x, 1)
        return x

    def extra_repr(self):
        return f"mode={self.mode}, flatten={self.flatten}"


class SpatialPyramidPool(nn.Module):
    """He et al. 2014: pool to each n×n grid in `levels` and concatenate the flattened results."""

    def __init__(self, levels: List[int], mode: str = "max"):
        super().__init__()
        self.levels = levels
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled: List[torch.Tensor] = []
        for level in self.levels:
            if self.mode == "max":
                y = F.adaptive_max_pool2d(x, level)
            else:
                y = F.adaptive_avg_pool2d(x, level)
            pooled.append(torch.flatten(y, 1))
        return torch.cat(pooled, 1)


class SeparableConv2d(nn.Module):
    """Depthwise k×k convolution followed by a pointwise 1×1 convolution (Xception, MobileNet)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding,
                 dilation, bias: bool):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride, padding,
                                   dilation, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class Scale(nn.Module):
    """Multiply by a constant."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor
