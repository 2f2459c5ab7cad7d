"""Augmentation and normalisation of whole batches with tensor ops on the training device.

Both data paths hand the training loop uint8 batches (N, C, H, W) already at the design's size: the
DataLoader path decodes each image in its workers, the fast path gathers them from a tensor held on
the device. `BatchAugment` draws every image's random parameters at once from one generator on
that device (`draw`) and applies them to the whole batch (`apply`), in torchvision's order:
- scale jitter (resize by a random factor, then a random crop of the input size) and random-resized
  crop, as separable resampling matrices holding the weights of torchvision's antialiased bilinear
  resize (so one batched matmul resamples every image by its own box);
- pad-and-crop and horizontal flip, as one gather with per-image row and column indices;
- AlexNet PCA lighting, then the float scaling and normalisation of ToDtype and Normalize.
`BatchEval` gives the centre crop or the ten crops (TenCrop's order) of a validation batch.
No per-image Python runs and nothing assumes the CPU: the same code runs on CUDA tensors.
"""

import math

import torch
# torchvision is imported where a crop needs it: its import costs seconds (it loads its models
# package), which a run on the bundled digits never needs.

# AlexNet's PCA colour lighting: eigenvalues and eigenvectors of ImageNet's RGB covariance.
EIGVAL = torch.tensor([0.2175, 0.0188, 0.0045])
EIGVEC = torch.tensor([[-0.5675, 0.7192, 0.4009],
                       [-0.5808, -0.0045, -0.8140],
                       [-0.5836, -0.6948, 0.4203]])
# torchvision's RandomResizedCrop defaults.
RESIZED_SCALE = (0.08, 1.0)
RESIZED_RATIO = (3 / 4, 4 / 3)
RESIZED_TRIES = 10


def to_float(images):
    """uint8 → float in [0, 1], with ToDtype(scale=True)'s arithmetic."""
    return images.to(torch.float32).mul_(1.0 / 255)


class Normalize:
    """Normalize's arithmetic on (…, C, H, W) batches, its constants cached per device."""

    def __init__(self, mean, std):
        self.mean, self.std = tuple(mean), tuple(std)
        self._constants = {}

    def __call__(self, images):
        key = images.device
        if key not in self._constants:
            self._constants[key] = (torch.tensor(self.mean, device=key).view(-1, 1, 1),
                                    torch.tensor(self.std, device=key).view(-1, 1, 1))
        mean, std = self._constants[key]
        return images.sub_(mean).div_(std)


def resample_matrix(in_size, start, length, out_size, offset, count):
    """(N, count, in_size) weights taking rows `offset … offset+count` of the segment
    `start … start+length` of an axis of `in_size` pixels resized to `out_size` pixels, with the
    antialiased bilinear filter of `torch.nn.functional.interpolate(antialias=True)`.
    `start`, `length`, `out_size` and `offset` are (N,) integer tensors, one entry per image."""
    device = start.device
    scale = (length / out_size)[:, None]           # (N, 1), float32 as in torch's own kernel
    support = torch.where(scale >= 1, scale, torch.ones_like(scale))
    inv_scale = torch.where(scale >= 1, 1 / scale, torch.ones_like(scale))
    index = offset[:, None] + torch.arange(count, device=device)       # (N, count)
    center = scale * (index + 0.5)
    low = (center - support + 0.5).trunc().clamp_min(0)
    high = torch.minimum((center + support + 0.5).trunc(), length[:, None].float())
    source = torch.arange(in_size, device=device, dtype=torch.float32) - start[:, None, None]
    weights = (1 - ((source - center[..., None] + 0.5) * inv_scale[..., None]).abs()).clamp_min(0)
    inside = (source >= low[..., None]) & (source < high[..., None])
    weights = weights * inside
    return weights / weights.sum(-1, keepdim=True)


class BatchAugment:
    """The training augmentation of one run, for uint8 batches at the design's (C, H, W).

    `crop` is "none", "pad" or "resized" (auto already resolved); `jitter` the scale jitter."""

    def __init__(self, shape, mean, std, crop="none", padding=4, flip=False, jitter=0.0,
                 lighting=0.0):
        self.channels, self.height, self.width = shape
        self.crop, self.padding, self.flip = crop, padding, flip
        short = min(self.height, self.width)
        self.jitter_sizes = (short, int(round(short * (1 + jitter)))) if jitter > 0 else None
        self.lighting = lighting if self.channels == 3 else 0.0
        self.normalize = Normalize(mean, std)

    def __call__(self, images, generator):
        return self.apply(images, self.draw(len(images), generator))

    def draw(self, count, generator):
        """Every image's random parameters, drawn in a fixed order from `generator` (on the
        batch's device): a dict of (count, …) tensors."""
        device = generator.device
        params = {}

        def uniform(*shape):
            return torch.rand(shape, generator=generator, device=device)

        height, width = self.height, self.width
        if self.crop == "resized":
            area = height * width
            log_ratio = (math.log(RESIZED_RATIO[0]), math.log(RESIZED_RATIO[1]))
            target = area * (RESIZED_SCALE[0] + (RESIZED_SCALE[1] - RESIZED_SCALE[0])
                             * uniform(count, RESIZED_TRIES))
            ratio = torch.exp(log_ratio[0] + (log_ratio[1] - log_ratio[0])
                              * uniform(count, RESIZED_TRIES))
            w = torch.sqrt(target * ratio).round().long()
            h = torch.sqrt(target / ratio).round().long()
            fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
            first = fits.long().argmax(1, keepdim=True)                # the first try that fits
            found = fits.any(1)
            # No try fits: the whole image (torchvision falls back to a centre crop of it).
            h = torch.where(found, h.gather(1, first)[:, 0], height)
            w = torch.where(found, w.gather(1, first)[:, 0], width)
            where = uniform(count, 2)
            top = (where[:, 0] * (height - h + 1)).long()
            left = (where[:, 1] * (width - w + 1)).long()
            params["box"] = torch.stack([top, left, h, w], 1)
        elif self.jitter_sizes is not None:
            low, high = self.jitter_sizes
            size = torch.randint(low, high + 1, (count,), generator=generator, device=device)
            short = min(height, width)
            new_h, new_w = (height * size) // short, (width * size) // short
            where = uniform(count, 2)
            top = (where[:, 0] * (new_h - height + 1)).long()
            left = (where[:, 1] * (new_w - width + 1)).long()
            params["jitter"] = torch.stack([top, left, new_h, new_w], 1)
        if self.crop == "pad":
            params["shift"] = torch.randint(0, 2 * self.padding + 1, (count, 2),
                                            generator=generator, device=device)
        if self.flip:
            params["flip"] = uniform(count) < 0.5
        if self.lighting > 0:
            alpha = torch.randn(count, 3, generator=generator, device=device)
            params["alpha"] = alpha * self.lighting
        return params

    def apply(self, images, params):
        """Float, augmented and normalised images from a uint8 batch and `draw`'s parameters."""
        moves = "shift" in params or "flip" in params
        if "box" in params or "jitter" in params:
            images = self._resample(to_float(images), params)
            if moves:
                images = self._pad_crop_flip(images, params.get("shift"), params.get("flip"))
        else:
            if moves:   # still uint8 here: a quarter of the bytes to move
                images = self._pad_crop_flip(images, params.get("shift"), params.get("flip"))
            images = to_float(images)
        if "alpha" in params:
            device = images.device
            shift = (params["alpha"] * EIGVAL.to(device)) @ EIGVEC.to(device).T
            images = images + shift[:, :, None, None]
        return self.normalize(images)

    def _resample(self, images, params):
        count, device = len(images), images.device
        zeros = torch.zeros(count, dtype=torch.long, device=device)
        height, width = self.height, self.width
        if "box" in params:         # the crop box → (H, W)
            top, left, h, w = params["box"].unbind(1)
            rows, cols = (top, h, zeros + height, zeros), (left, w, zeros + width, zeros)
        else:                       # the whole image → (new_h, new_w), then (H, W) at (top, left)
            top, left, new_h, new_w = params["jitter"].unbind(1)
            rows, cols = (zeros, zeros + height, new_h, top), (zeros, zeros + width, new_w, left)
        row_weights = resample_matrix(images.shape[-2], *rows, height)
        col_weights = resample_matrix(images.shape[-1], *cols, width)
        return row_weights[:, None] @ images @ col_weights[:, None].transpose(-1, -2)

    def _pad_crop_flip(self, images, shift, flip):
        """One gather from the zero-padded batch: each output pixel's flat index in it."""
        count, channels, device = len(images), images.shape[1], images.device
        pad = self.padding if shift is not None else 0
        if pad:
            images = torch.nn.functional.pad(images, (pad, pad, pad, pad))
        rows = torch.arange(self.height, device=device).expand(count, -1)
        cols = torch.arange(self.width, device=device).expand(count, -1)
        if flip is not None:
            cols = torch.where(flip[:, None], cols.flip(1), cols)
        if shift is not None:
            rows, cols = rows + shift[:, :1], cols + shift[:, 1:]
        index = (rows[:, :, None] * images.shape[-1] + cols[:, None, :]).flatten(1)
        picked = images.flatten(2).gather(2, index[:, None].expand(-1, channels, -1))
        return picked.view(count, channels, self.height, self.width)


class BatchEval:
    """Validation batches: uint8 (N, C, h, w) → a centre crop (N, C, H, W) or the ten crops
    (N, 10, C, H, W), normalised."""

    def __init__(self, size, mean, std, crops=1):
        self.size, self.crops = list(size), crops
        self.normalize = Normalize(mean, std)

    def __call__(self, images):
        images = to_float(images)
        if self.crops == 10:
            from torchvision.transforms.v2 import functional as TF
            images = torch.stack(TF.ten_crop(images, self.size), dim=1)
        elif tuple(images.shape[-2:]) != tuple(self.size):
            from torchvision.transforms.v2 import functional as TF
            images = TF.center_crop(images, self.size)
        return self.normalize(images)
