"""The tensor-resident fast path: a dataset that fits the memory budget is decoded once into one
uint8 tensor on the training device and served in batches by indexing it, with no DataLoader, no
worker and no per-image Python; each epoch's order is a permutation drawn from the loader's seeded
generator. The batches are uint8, like the DataLoader path's, so augmentation and evaluation
(augment.py) are the same code on both paths.

`choose(bundle, config, device)` says whether the fast path is used and why, in a sentence the
run reports as its first message; `loaders(...)` builds the two `TensorLoader`s.
"""

import os

import torch
from torch.utils.data import DataLoader

from .data import TensorImages

# The automatic budget: this share of the training device's free memory.
BUDGET_SHARE = 0.25
FALLBACK_FREE_BYTES = 4 * 2 ** 30       # when the free memory cannot be read


def free_memory(device):
    """Bytes free on `device`: the GPU's free memory, or the host's available memory."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:    # Linux: MemAvailable counts the page cache the kernel would give back
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):     # neither Linux nor another POSIX
        return FALLBACK_FREE_BYTES


def dataset_bytes(bundle):
    """Bytes the decoded training and validation sets take as uint8 tensors."""
    return sum(len(items) * items[0][0].numel() for items in (bundle.train, bundle.val)
               if len(items))


def choose(bundle, config, device):
    """(use the fast path?, a sentence saying which path feeds the run and why)."""
    if not config.fast_path:
        return False, "data: DataLoader path (the fast path is turned off)"
    size = dataset_bytes(bundle)
    mb = size / 2 ** 20
    budget = (config.fast_path_budget_mb * 2 ** 20 if config.fast_path_budget_mb > 0
              else BUDGET_SHARE * free_memory(device))
    if size > budget:
        return False, (f"data: DataLoader path; the dataset needs {mb:,.2f} MB as uint8 tensors, "
                       f"over the fast path's budget of {budget / 2 ** 20:,.2f} MB on {device}")
    return True, (f"data: fast path; {len(bundle.train):,} training and {len(bundle.val):,} "
                  f"validation images held on {device} as uint8 ({mb:,.2f} MB of a "
                  f"{budget / 2 ** 20:,.2f} MB budget), augmented in batches")


def decode_all(dataset, workers=0):
    """(uint8 images (N, C, H, W), int64 labels) of a whole dataset, decoded once."""
    if isinstance(dataset, TensorImages):
        return dataset.decode_all(), dataset.labels
    images, labels = [], []
    for batch, batch_labels in DataLoader(dataset, batch_size=256, num_workers=workers):
        images.append(batch)
        labels.append(torch.as_tensor(batch_labels))
    return torch.cat(images), torch.cat(labels).long()


class TensorLoader:
    """Batches (uint8 images, labels) from tensors on the training device. With `shuffle`, each
    pass draws its order with `torch.randperm(N, generator=generator)` (seed the generator per
    epoch for reproducible batches); under distributed training every rank draws the same order
    and takes its own share, as DistributedSampler does."""

    def __init__(self, images, labels, batch_size, shuffle=False, drop_last=False, generator=None,
                 rank=0, world=1):
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.generator, self.rank, self.world = generator, rank, world
        self.per_rank = len(labels) // world if shuffle and world > 1 else \
            len(range(rank, len(labels), world))

    def __len__(self):
        if self.drop_last:
            return self.per_rank // self.batch_size
        return -(-self.per_rank // self.batch_size)

    def __iter__(self):
        count = len(self.labels)
        if self.shuffle:
            order = torch.randperm(count, generator=self.generator)
        else:
            order = torch.arange(count)
        order = order[self.rank::self.world][:self.per_rank].to(self.images.device)
        for index in range(len(self)):
            picked = order[index * self.batch_size:(index + 1) * self.batch_size]
            yield self.images[picked], self.labels[picked]


def loaders(bundle, config, device, generator, rank=0, world=1):
    """The training and validation `TensorLoader`s, their data decoded once onto `device`."""
    train_images, train_labels = decode_all(bundle.train, config.workers)
    val_images, val_labels = decode_all(bundle.val, config.workers)
    # BatchNorm cannot train on a batch of one, so drop a short last batch when there is a full
    # one to train on (as the DataLoader path does).
    drop_last = len(train_labels) // world > config.batch_size
    train = TensorLoader(train_images.to(device), train_labels.to(device), config.batch_size,
                         shuffle=True, drop_last=drop_last, generator=generator, rank=rank,
                         world=world)
    val_batch = max(1, config.batch_size // bundle.eval_crops)
    val = TensorLoader(val_images.to(device), val_labels.to(device), val_batch, rank=rank,
                       world=world)
    return train, val
