"""Small `nn.Module`s that torch.nn lacks, written to script with TorchScript.

Multi-input modules take a `List[Tensor]` so one compiled call site serves any input count. Every
module class of the catalogue lives here, each section after the catalogue module whose specs
build it: the catalogue imports this module (and torch) only when a spec builds (see lazy.py).
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
    """Split channels into equal sections (ShuffleNet v2's channel split), or into sections of
    the given sizes."""

    sizes: List[int]      # declared: TorchScript cannot type an empty list by itself

    def __init__(self, sections: int, sizes=()):
        super().__init__()
        self.sections = sections
        self.sizes = [int(s) for s in sizes]

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        if self.sizes:
            return list(torch.split(x, self.sizes, 1))
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


# ---- the modules of layers/blurpool.py -----------------------------------------------------------
class BlurPool2d(nn.Module):
    """Blur each channel with the k×k binomial filter (outer product of row k-1 of Pascal's
    triangle, normalised to sum 1), then keep every stride-th row and column."""

    padding: List[int]

    def __init__(self, channels: int, filter_size: int = 4, stride: int = 2,
                 pad_mode: str = "reflect"):
        super().__init__()
        self.channels = channels
        self.filter_size = filter_size
        self.stride = stride
        self.pad_mode = pad_mode
        before = (filter_size - 1) // 2
        after = filter_size - 1 - before
        self.padding = [before, after, before, after]
        row = [1.0]
        for _ in range(filter_size - 1):
            row = [a + b for a, b in zip(row + [0.0], [0.0] + row)]
        taps = torch.tensor(row)
        kernel = taps[:, None] * taps[None, :]
        kernel = kernel / kernel.sum()
        self.register_buffer("filt", kernel[None, None].repeat(channels, 1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.filter_size == 1:
            return x[:, :, ::self.stride, ::self.stride]
        if self.pad_mode == "zero":
            x = F.pad(x, self.padding)
        else:
            x = F.pad(x, self.padding, mode=self.pad_mode)
        return F.conv2d(x, self.filt, stride=self.stride, groups=x.shape[1])

    def extra_repr(self):
        return (f"channels={self.channels}, filter_size={self.filter_size}, stride={self.stride}, "
                f"pad_mode={self.pad_mode!r}")


# ---- the modules of layers/capsules.py -----------------------------------------------------------
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


# ---- the modules of layers/channels.py -----------------------------------------------------------
class ChannelSlice(nn.Module):
    """`channels` channels of the input from channel `start`."""

    def __init__(self, channels: int, start: int = 0):
        super().__init__()
        self.channels = channels
        self.start = start

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.start:self.start + self.channels]

    def extra_repr(self):
        return f"channels={self.channels}, start={self.start}"


class ChannelGather(nn.Module):
    """Selects input channels by a stored index (torch.index_select on dim 1). The index is a
    buffer saved in the state_dict: it is learned (CondenseNet's condensation decides it during
    training) and loads with the weights; until then it is 0, 1, 2, ... wrapping round the input
    channels."""

    def __init__(self, in_channels: int, channels: int):
        super().__init__()
        self.in_channels = in_channels
        self.channels = channels
        self.register_buffer("index", torch.arange(channels) % in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.index_select(x, 1, self.index)

    def extra_repr(self):
        return f"in_channels={self.in_channels}, channels={self.channels}"


# ---- the modules of layers/modern.py -------------------------------------------------------------
class Permute(nn.Module):
    """Reorders the dimensions after the batch (`dims` counts from 0 after the batch)."""

    dims: List[int]
    order: List[int]

    def __init__(self, dims):
        super().__init__()
        self.dims = list(dims)
        self.order = [0] + [d + 1 for d in dims]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.order)

    def extra_repr(self):
        return f"dims={self.dims}"


class Reshape(nn.Module):
    """Reshapes each sample to `shape` (the batch is kept)."""

    shape: List[int]

    def __init__(self, shape):
        super().__init__()
        self.shape = list(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape([x.shape[0]] + self.shape)

    def extra_repr(self):
        return f"shape={self.shape}"


class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels of an N×C×H×W tensor at each position (ConvNeXt's
    downsampling and stem norm); `weight` and `bias` are named as torchvision's LayerNorm2d."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class LayerScale(nn.Module):
    """Multiplies each channel by a learned factor (CaiT, ConvNeXt): `scale` is C×1×1 on images
    (channels first) and D on vectors or channels-last tensors."""

    def __init__(self, shape, init: float):
        super().__init__()
        self.shape = list(shape)
        self.init = init
        self.scale = nn.Parameter(torch.full(shape, init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


# ---- the modules of layers/pooling.py ------------------------------------------------------------
class ChannelPool(nn.Module):
    """The mean and the max over the channels at each position, stacked: N×C×H×W to N×2×H×W
    (the order of timm's CBAM SpatialAttn)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)


# ---- the modules of blocks/cbam.py ---------------------------------------------------------------
class ChannelAttention(nn.Module):
    """x · σ(MLP(avg-pool x) + MLP(max-pool x)), the MLP's two 1×1 convolutions shared."""

    def __init__(self, channels: int, squeezed: int, mlp_bias: bool):
        super().__init__()
        # Kept so the module can be rebuilt from its attributes (the Python source export).
        self.channels, self.squeezed, self.mlp_bias = channels, squeezed, mlp_bias
        self.fc1 = nn.Conv2d(channels, squeezed, 1, bias=mlp_bias)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(squeezed, channels, 1, bias=mlp_bias)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        average = self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True))))
        peak = self.fc2(self.act(self.fc1(x.amax((2, 3), keepdim=True))))
        return x * self.gate(average + peak)


# ---- the modules of blocks/highway.py ------------------------------------------------------------
class GateConv2d(nn.Conv2d):
    """A same-padded k×k convolution with a bias, initialised to the constant `bias_init`."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, bias_init: float = -1.0):
        size = kernel_size if isinstance(kernel_size, int) else kernel_size[0]
        super().__init__(in_channels, out_channels, size, padding=size // 2)
        self.bias_init = bias_init
        with torch.no_grad():
            self.bias.fill_(bias_init)

    def extra_repr(self):
        return super().extra_repr() + f", bias_init={self.bias_init}"


# ---- the modules of blocks/residual.py -----------------------------------------------------------
class ZeroPadShortcut(nn.Module):
    """Option A shortcut: keep every stride-th position, append zero channels up to out_channels."""

    def __init__(self, out_channels: int, stride: int = 1):
        super().__init__()
        self.out_channels = out_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        extra = self.out_channels - x.shape[1]
        if extra > 0:
            x = F.pad(x, [0, 0, 0, 0, 0, extra])
        return x

    def extra_repr(self):
        return f"out_channels={self.out_channels}, stride={self.stride}"
