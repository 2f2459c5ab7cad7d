"""Datasets and their transforms, fitted to a design's input.

`build_data(config, input_shape)` returns the training and validation sets for the built-in UCI
digits (bundled in `designer/resources/data/`, no download), torchvision's MNIST, Fashion-MNIST, CIFAR-10 and
CIFAR-100 (downloaded when allowed and online, otherwise read from the data folder), or any
image folder (class sub-folders, optionally under train/ and val/) or CSV of path,label rows
(images.py lists them and reads each file as stored: a grey PNG stays one channel).
Items are uint8 images converted to the design's channel count and resized to its
height and width (validation images to 1/0.875 of it where a crop is taken); the bundle's
`augment` and `evaluate` then turn whole batches on the training device into normalised floats,
augmented as configured (pad-and-crop or random-resized crop, horizontal flip, scale jitter, AlexNet
PCA lighting) or cut to a centre crop or 10 crops (see augment.py). Problems (missing files, a
wrong folder) raise `DatasetError` with a sentence that says what to do.
"""

from dataclasses import dataclass
from importlib.resources import files
import math
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
# torchvision is imported where an image needs it: its import costs seconds (it loads its
# models package), which a run on the bundled digits never needs.

from .augment import BatchAugment, BatchEval
from .config import DATASETS
from .images import DatasetError, check_readable, list_images, read_image

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
# Datasets decoded once at construction when their uint8 images at the design's size are this small.
CACHE_LIMIT_BYTES = 256 * 2 ** 20


@dataclass
class DataBundle:
    train: Dataset
    val: Dataset
    num_classes: int
    classes: list
    title: str
    eval_crops: int          # 1, or 10 when each validation batch is a stack of 10 crops
    augment: BatchAugment    # uint8 training batches → augmented, normalised floats
    evaluate: BatchEval      # uint8 validation batches → centre crop or ten crops, normalised


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
            from torchvision.transforms.v2 import functional as TF
            return TF.rgb_to_grayscale(image)
        raise DatasetError(f"cannot turn {have}-channel images into the design's "
                           f"{self.channels} channels")


class Decode:
    """A PIL image or uint8 (…, C, h, w) tensor → uint8 (…, C, H, W): the design's channels and
    size. Functional calls, not v2.Compose: this runs once per image per epoch on the
    DataLoader path, where each transform object's dispatch cost shows."""

    def __init__(self, channels, size):
        self.match = MatchChannels(channels)
        self.size = list(size)

    def __call__(self, image):
        if not isinstance(image, torch.Tensor):
            from torchvision.transforms.v2 import functional as TF
            image = TF.pil_to_tensor(image)
        image = self.match(image)
        if list(image.shape[-2:]) != self.size:
            from torchvision.transforms.v2 import functional as TF
            image = TF.resize(image, self.size, antialias=True)
        return image


class TensorImages(Dataset):
    """Images held in one uint8 tensor (N, C, h, w) with integer labels, decoded per item to the
    design's channels and size; decoded once here when the result fits `CACHE_LIMIT_BYTES`."""

    def __init__(self, images, labels, decode):
        self.labels = labels.long()
        self.images, self.decode = images, decode
        if len(images) and self.decoded_bytes() <= CACHE_LIMIT_BYTES:
            self.images, self.decode = self.decode_all(), None

    def decoded_bytes(self):
        return self.decode(self.images[:1]).numel() * len(self.images) if self.decode else \
            self.images.numel()

    def decode_all(self):
        """All images decoded: one uint8 (N, C, H, W) tensor."""
        if self.decode is None:
            return self.images
        return torch.cat([self.decode(self.images[i:i + 1024])
                          for i in range(0, len(self.images), 1024)])

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        image = self.images[index]
        if self.decode is not None:
            image = self.decode(image)
        return image, self.labels[index]


class FinishedBatches:
    """A loader's uint8 batches finished by `transform` (e.g. a bundle's `evaluate`), for
    code that reads a dataset outside the training loop; iterable again and again."""

    def __init__(self, loader, transform):
        self.loader, self.transform = loader, transform

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for images, labels in self.loader:
            yield self.transform(images), labels


class FileImages(Dataset):
    """(path, label) items read as stored (`images.read_image`) and decoded by `transform` to
    the design's channels and size. A file that fails to decode raises a DatasetError naming
    it, never a decoder's traceback."""

    def __init__(self, items, transform):
        self.items, self.transform = list(items), transform
        self.labels = torch.tensor([label for _, label in self.items], dtype=torch.long)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        path, label = self.items[index]
        return self.transform(read_image(path)), label


def resolve_crop(config, dataset):
    if config.crop != "auto":
        return config.crop
    return {"cifar10": "pad", "cifar100": "pad", "imagefolder": "resized"}.get(dataset, "none")


def batch_augment(config, dataset, shape):
    """The run's training augmentation, applied to whole batches (see augment.py)."""
    mean, std = _stats(dataset, shape[0])
    flip = config.flip if config.flip is not None else dataset in NATURAL_IMAGES
    crop = resolve_crop(config, dataset)
    return BatchAugment(shape, mean, std, crop=crop, padding=config.crop_padding, flip=flip,
                        jitter=config.scale_jitter if crop != "resized" else 0.0,
                        lighting=config.pca_lighting)


def eval_size(config, dataset, shape):
    """The size validation images are decoded to: the input's, or 1/0.875 of it (the usual crop
    ratio) where a crop is taken from a larger image (ImageFolder trees, 10-crop)."""
    _, height, width = shape
    if dataset == "imagefolder" or config.eval_crop == "ten":
        return math.ceil(height / 0.875), math.ceil(width / 0.875)
    return height, width


def batch_eval(config, dataset, shape):
    mean, std = _stats(dataset, shape[0])
    return BatchEval(shape[1:], mean, std, crops=10 if config.eval_crop == "ten" else 1)


def data_stats(dataset, channels):
    """The (mean, std) the inputs are normalised with, per channel."""
    return _stats(dataset, channels)


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
    """Train and val `FileImages` of the folder tree or CSV file at the data folder; refused
    with a sentence naming them when files cannot be opened."""
    listing = list_images(data_root(config), config.val_fraction)
    check_readable([path for path, _ in listing.train + listing.val])
    train = FileImages(listing.train, Decode(shape[0], shape[1:]))
    val = FileImages(listing.val, Decode(shape[0], eval_size(config, "imagefolder", shape)))
    return train, val, listing.classes


def class_selection(spec, classes):
    """The indices of the classes `spec` names, in its order: class names and index ranges
    ("0-4", "7", "cat,dog"), separated by commas or spaces. DatasetError for a name the
    dataset lacks."""
    chosen = []
    for item in spec.replace(",", " ").split():
        low, dash, high = item.partition("-")
        if item in classes:
            chosen.append(classes.index(item))
        elif low.isdigit() and (not dash or high.isdigit()) and \
                int(high if dash else low) < len(classes):
            chosen.extend(range(int(low), int(high if dash else low) + 1))
        else:
            raise DatasetError(f"Classes: {item!r} is neither a class of the dataset nor an "
                               f"index range of its {len(classes)} classes (such as 0-4); its "
                               f"classes are {', '.join(classes[:20])}")
    if len(set(chosen)) != len(chosen) or not chosen:
        raise DatasetError(f"Classes: {spec!r} must name each class once")
    return chosen


# The class counts of the built-in datasets, known without reading their files.
CLASS_COUNTS = {"digits": 10, "mnist": 10, "fashion_mnist": 10, "cifar10": 10, "cifar100": 100}


def dataset_classes(config):
    """The class names a run of `config` trains on (its --classes kept), read without loading
    images: the built-ins' counts (their classes named by index), an image folder's class
    folders. For sizing a new head before training ("Adapt to dataset")."""
    if config.dataset == "imagefolder":
        root = data_root(config)
        tree = root / "train" if (root / "train").is_dir() else root
        if not tree.is_dir():
            raise DatasetError(f"{root}: no such folder; an ImageFolder tree has one sub-folder "
                               "per class (optionally under train/ and val/)")
        return sorted(d.name for d in tree.iterdir() if d.is_dir() and not d.name.startswith("."))
    names = [str(i) for i in range(CLASS_COUNTS[config.dataset])]
    return [names[i] for i in class_selection(config.classes, names)] if config.classes else names


def _only_classes(parts, spec):
    """(train images, labels, val images, labels, classes) kept to the classes `spec` names,
    their labels renumbered 0.. in its order."""
    chosen = class_selection(spec, parts[4])
    relabel = torch.full((len(parts[4]),), -1, dtype=torch.long)
    relabel[chosen] = torch.arange(len(chosen))
    kept = []
    for images, labels in ((parts[0], parts[1]), (parts[2], parts[3])):
        new = relabel[labels.long()]
        kept += [images[new >= 0], new[new >= 0]]
    return (*kept, [parts[4][i] for i in chosen])


def build_data(config, input_shape):
    """A `DataBundle` for `config.dataset` fitted to `input_shape` (C, H, W)."""
    if len(input_shape) != 3:
        raise DatasetError(f"the design's input is {input_shape}; image datasets need a C×H×W input")
    dataset = config.dataset
    if dataset == "imagefolder":
        if config.classes:
            raise DatasetError("Classes: an image folder trains on the class folders it holds; "
                               "leave out the folders of the classes not wanted")
        train, val, classes = _image_folder(config, input_shape)
    else:
        if dataset == "digits":
            images, labels = load_digits()
            train_idx, val_idx = split_indices(len(labels), config.val_fraction)
            parts = (images[train_idx], labels[train_idx], images[val_idx], labels[val_idx],
                     [str(d) for d in range(10)])
        else:
            parts = _torchvision_arrays(config, dataset)
        if config.classes:
            parts = _only_classes(parts, config.classes)
        train = TensorImages(parts[0], parts[1], Decode(input_shape[0], input_shape[1:]))
        val = TensorImages(parts[2], parts[3], Decode(input_shape[0],
                                                      eval_size(config, dataset, input_shape)))
        classes = parts[4]
    return DataBundle(train, val, len(classes), list(classes), DATASETS[dataset],
                      10 if config.eval_crop == "ten" else 1,
                      batch_augment(config, dataset, input_shape),
                      batch_eval(config, dataset, input_shape))
