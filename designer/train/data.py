"""Datasets and their transforms, fitted to a design's input.

`build_data(config, input_shape)` returns the training and validation sets for the built-in UCI
digits (bundled in `designer/resources/data/`, no download), torchvision's MNIST, Fashion-MNIST, CIFAR-10 and
CIFAR-100 (downloaded when allowed and online, otherwise read from the data folder), or any
ImageFolder tree. Every image is converted to the design's channel count, resized to its height and
width, augmented as configured (pad-and-crop or random-resized crop, horizontal flip, scale jitter,
AlexNet PCA lighting) and normalised. Evaluation uses a centre crop or 10 crops. Problems (missing
files, a wrong folder) raise `DatasetError` with a sentence that says what to do.
"""

from dataclasses import dataclass
from importlib.resources import files
import math
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

from designer.core.errors import DesignError
from .config import DATASETS

DIGITS_FILE = files("designer") / "resources" / "data" / "digits.npz"   # inside the package
DEFAULT_DATA_DIR = Path.home() / ".cache" / "cnn-designer" / "datasets"

# Per-channel mean and std of each training set (0..1 pixels); ImageNet's for ImageFolder trees.
STATS = {
    "digits": ((0.3053,), (0.3759,)),
    "mnist": ((0.1307,), (0.3081,)),
    "fashion_mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "imagefolder": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
# Where each torchvision dataset's files must be, relative to the data folder, and where to get them.
EXPECTED_FILES = {
    "mnist": ("MNIST/raw/train-images-idx3-ubyte (and the other three idx files, uncompressed)",
              "https://ossci-datasets.s3.amazonaws.com/mnist/"),
    "fashion_mnist": ("FashionMNIST/raw/train-images-idx3-ubyte (and the other three idx files, "
                      "uncompressed)", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
    "cifar10": ("cifar-10-batches-py/data_batch_1 … data_batch_5, test_batch, batches.meta "
                "(extract cifar-10-python.tar.gz there)", "https://www.cs.toronto.edu/~kriz/cifar.html"),
    "cifar100": ("cifar-100-python/train, test, meta (extract cifar-100-python.tar.gz there)",
                 "https://www.cs.toronto.edu/~kriz/cifar.html"),
}
NATURAL_IMAGES = {"cifar10", "cifar100", "imagefolder"}
# Datasets cached as float tensors after the deterministic part of the transform when this small.
CACHE_LIMIT_BYTES = 64 * 2 ** 20

# AlexNet's PCA colour lighting: eigenvalues and eigenvectors of ImageNet's RGB covariance.
_EIGVAL = torch.tensor([0.2175, 0.0188, 0.0045])
_EIGVEC = torch.tensor([[-0.5675, 0.7192, 0.4009],
                        [-0.5808, -0.0045, -0.8140],
                        [-0.5836, -0.6948, 0.4203]])


class DatasetError(DesignError):
    """A dataset that cannot be read or does not fit the design."""


@dataclass
class DataBundle:
    train: Dataset
    val: Dataset
    num_classes: int
    classes: list
    title: str
    eval_crops: int          # 1, or 10 when each validation item is a stack of 10 crops


class MatchChannels:
    """Grey → RGB by repetition, RGB → grey by luminance, for images of shape (C, H, W)."""

    def __init__(self, channels):
        self.channels = channels

    def __call__(self, image):
        have = image.shape[-3]
        if have == self.channels:
            return image
        if have == 1:
            return image.expand(*image.shape[:-3], self.channels, *image.shape[-2:]).clone()
        if self.channels == 1 and have == 3:
            return v2.functional.rgb_to_grayscale(image)
        raise DatasetError(f"cannot turn {have}-channel images into the design's "
                           f"{self.channels} channels")


class PCALighting:
    """AlexNet's colour augmentation: add RGB eigenvectors scaled by eigenvalue × N(0, std)."""

    def __init__(self, std):
        self.std = std

    def __call__(self, image):
        if image.shape[-3] != 3:
            return image
        alpha = torch.randn(3) * self.std
        shift = _EIGVEC @ (alpha * _EIGVAL)
        return image + shift.view(3, 1, 1).to(image.dtype)


class StackCrops:
    def __call__(self, crops):
        return torch.stack(list(crops), dim=-4)


class TensorImages(Dataset):
    """Images held in one uint8 tensor (N, C, H, W) with integer labels, transformed per item.

    `fixed` is the deterministic part of the transform; when the whole dataset fits
    `CACHE_LIMIT_BYTES` after it, it runs once here instead of every epoch."""

    def __init__(self, images, labels, fixed, random=None):
        self.labels = labels.long()
        self.random = random
        size = fixed(images[:1]).float().numel() * len(images) * 4 if len(images) else 0
        if size and size <= CACHE_LIMIT_BYTES:
            self.images, self.fixed = torch.cat([fixed(images[i:i + 1024])
                                                 for i in range(0, len(images), 1024)]), None
        else:
            self.images, self.fixed = images, fixed

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        image = self.images[index]
        if self.fixed is not None:
            image = self.fixed(image)
        if self.random is not None:
            image = self.random(image)
        return image, self.labels[index]


class TransformedSubset(Dataset):
    """Items `indices` of a dataset of PIL images, with their own transform (train or val)."""

    def __init__(self, dataset, indices, transform):
        self.dataset, self.indices, self.transform = dataset, list(indices), transform

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        image, label = self.dataset[self.indices[index]]
        return self.transform(image), label


def _to_float():
    return [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]


def _resize(size):
    return v2.Resize(size, antialias=True)


def train_transforms(config, dataset, shape):
    """(fixed, random) transforms for training images; `fixed` takes uint8 tensors or PIL images."""
    channels, height, width = shape
    mean, std = _stats(dataset, channels)
    crop = config.crop
    if crop == "auto":
        crop = {"cifar10": "pad", "cifar100": "pad", "imagefolder": "resized"}.get(dataset, "none")
    flip = config.flip if config.flip is not None else dataset in NATURAL_IMAGES
    fixed = _to_float() + [MatchChannels(channels)]
    random = []
    if crop == "resized":
        random.append(v2.RandomResizedCrop((height, width), antialias=True))
    else:
        fixed.append(_resize((height, width)))
        if config.scale_jitter > 0:
            # VGG/ResNet scale augmentation: a random larger size, then a crop of the input size.
            sizes = list(range(min(height, width),
                               int(round(min(height, width) * (1 + config.scale_jitter))) + 1))
            random += [v2.RandomShortestSize(sizes, antialias=True), v2.RandomCrop((height, width))]
        if crop == "pad":
            random.append(v2.RandomCrop((height, width), padding=config.crop_padding))
    if flip:
        random.append(v2.RandomHorizontalFlip())
    if config.pca_lighting > 0:
        random.append(PCALighting(config.pca_lighting))
    normalize = v2.Normalize(mean, std)
    if random:
        random.append(normalize)
    else:
        fixed.append(normalize)
    return v2.Compose(fixed), (v2.Compose(random) if random else None)


def eval_transform(config, dataset, shape):
    """The validation transform: centre crop (one image) or 10 crops stacked (10, C, H, W)."""
    channels, height, width = shape
    mean, std = _stats(dataset, channels)
    steps = _to_float() + [MatchChannels(channels)]
    crop_from_larger = dataset == "imagefolder" or config.eval_crop == "ten"
    if crop_from_larger:
        # The usual 0.875 crop ratio: resize to 1/0.875 of the input, then crop the input size.
        steps.append(_resize((math.ceil(height / 0.875), math.ceil(width / 0.875))))
    else:
        steps.append(_resize((height, width)))
    if config.eval_crop == "ten":
        steps += [v2.TenCrop((height, width)), StackCrops()]
    elif crop_from_larger:
        steps.append(v2.CenterCrop((height, width)))
    steps.append(v2.Normalize(mean, std))
    return v2.Compose(steps)


def _stats(dataset, channels):
    mean, std = STATS[dataset]
    if len(mean) == channels:
        return mean, std
    if channels == 1:   # RGB data fed to a grey design: luminance statistics, roughly
        return (sum(mean) / 3,), (sum(std) / 3,)
    return mean * channels, std * channels


def load_digits():
    """(images uint8 (1797, 1, 8, 8) scaled to 0..255, labels int64) from the bundled file."""
    with np.load(DIGITS_FILE) as data:
        images = torch.from_numpy(data["images"].astype(np.float32) * (255 / 16)).round()
        labels = torch.from_numpy(data["labels"].astype(np.int64))
    return images.to(torch.uint8).unsqueeze(1), labels


def split_indices(count, val_fraction, seed=0):
    """A fixed random split (independent of the training seed, so runs share one validation set)."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed)).tolist()
    n_val = max(1, int(round(count * val_fraction)))
    return order[n_val:], order[:n_val]


def data_root(config):
    return Path(config.data_dir).expanduser() if config.data_dir else DEFAULT_DATA_DIR


def _torchvision_arrays(config, dataset):
    """(train images, train labels, val images, val labels, classes) as uint8 N×C×H×W tensors."""
    import torchvision.datasets as tvd
    cls = {"mnist": tvd.MNIST, "fashion_mnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10,
           "cifar100": tvd.CIFAR100}[dataset]
    root = data_root(config)
    parts = []
    for train in (True, False):
        try:
            ds = cls(str(root), train=train, download=False)
        except RuntimeError:
            if not config.download:
                raise DatasetError(_missing_message(dataset, root, None)) from None
            try:
                ds = cls(str(root), train=train, download=True)
            except Exception as error:   # URLError, HTTPError, OSError, integrity failures
                raise DatasetError(_missing_message(dataset, root, error)) from None
        images = torch.as_tensor(np.asarray(ds.data))
        images = images.unsqueeze(1) if images.ndim == 3 else images.permute(0, 3, 1, 2)
        parts += [images.contiguous(), torch.as_tensor(np.asarray(ds.targets))]
    return (*parts, list(ds.classes))


def _missing_message(dataset, root, error):
    where, url = EXPECTED_FILES[dataset]
    reason = (f" and could not be downloaded ({str(error).strip() or type(error).__name__})"
              if error is not None else " and downloading is off")
    return (f"{DATASETS[dataset]} is not in {root}{reason}. Put the files at {root}/{where} "
            f"(from {url}) or point --data-dir at the folder that holds them.")


def _image_folder(config, shape):
    from torchvision.datasets import ImageFolder
    root = data_root(config)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; an ImageFolder tree has one sub-folder per "
                           "class (optionally under train/ and val/)")
    split_dirs = [root / "train", next((root / n for n in ("val", "validation")
                                        if (root / n).is_dir()), None)]
    fixed, random = train_transforms(config, "imagefolder", shape)
    train_tf = v2.Compose([fixed] + ([random] if random else []))
    val_tf = eval_transform(config, "imagefolder", shape)
    try:
        if split_dirs[0].is_dir() and split_dirs[1] is not None:
            train = ImageFolder(str(split_dirs[0]), transform=train_tf)
            val = ImageFolder(str(split_dirs[1]), transform=val_tf)
            if val.classes != train.classes:
                raise DatasetError(f"{root}: train/ and {split_dirs[1].name}/ hold different class "
                                   "folders; they must list the same classes")
            return train, val, train.classes
        full = ImageFolder(str(root))
    except (FileNotFoundError, RuntimeError) as error:
        raise DatasetError(f"{root}: not an ImageFolder tree ({error})") from None
    train_idx, val_idx = split_indices(len(full), config.val_fraction)
    return (TransformedSubset(full, train_idx, train_tf), TransformedSubset(full, val_idx, val_tf),
            full.classes)


def build_data(config, input_shape):
    """A `DataBundle` for `config.dataset` fitted to `input_shape` (C, H, W)."""
    if len(input_shape) != 3:
        raise DatasetError(f"the design's input is {input_shape}; image datasets need a C×H×W input")
    dataset = config.dataset
    if dataset == "imagefolder":
        train, val, classes = _image_folder(config, input_shape)
    else:
        if dataset == "digits":
            images, labels = load_digits()
            train_idx, val_idx = split_indices(len(labels), config.val_fraction)
            parts = (images[train_idx], labels[train_idx], images[val_idx], labels[val_idx],
                     [str(d) for d in range(10)])
        else:
            parts = _torchvision_arrays(config, dataset)
        fixed, random = train_transforms(config, dataset, input_shape)
        train = TensorImages(parts[0], parts[1], fixed, random)
        val = TensorImages(parts[2], parts[3], eval_transform(config, dataset, input_shape))
        classes = parts[4]
    return DataBundle(train, val, len(classes), list(classes), DATASETS[dataset],
                      10 if config.eval_crop == "ten" else 1)
