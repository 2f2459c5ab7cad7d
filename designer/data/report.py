"""What a dataset holds and what is wrong with it: `describe` gives a `DataReport`.

It reads what training reads: the built-ins through designer.train.data, image folders and CSV
files through designer.train.images (the same listing, split and decoding). Each file is decoded
once, to find the ones that cannot be read, its size and channels, and a hash of its bytes (a
built-in image: of its pixels) that finds images in both train and val. The problems, each with
its files:
    unreadable    a file that cannot be decoded (training refuses the dataset, naming it)
    duplicate     a validation image identical to a training one
    empty_class   a class with no images in a split
    tiny_class    a class with fewer than TINY_CLASS training images
    imbalance     the largest class has IMBALANCE times the images of the smallest, or more
    channels      images whose channels differ from the design's input (converted at load)
    mixed_sizes   images whose shape differs from the input's, so the resize stretches them
torch is imported only to read a built-in and for `augment_preview`.
"""

import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from designer.train.config import DATASETS
from designer.train.images import SPLITS, DatasetError, UnreadableImage, list_images, read_image

TINY_CLASS = 10          # training images below which a class is too small to learn
IMBALANCE = 5.0          # largest / smallest training class at which the imbalance is strong
DISTORTION = 1.25        # aspect ratio off the input's by this factor (either way): stretched
LISTED_FILES = 20        # files a grouped problem lists in its `files`


@dataclass
class Item:
    """One image: its split, label index, file (None for a built-in) or index in the split,
    width, height and channels as stored (0 when unreadable), and its content hash."""
    split: str
    label: int
    path: Path | None = None
    index: int = 0
    width: int = 0
    height: int = 0
    channels: int = 0
    digest: str = ""

    @property
    def name(self):
        """What the person reads for it: the file's path, or `train #12` for a built-in."""
        return str(self.path) if self.path is not None else f"{self.split} #{self.index}"

    @property
    def size_text(self):
        return f"{self.width}x{self.height}"


@dataclass
class Problem:
    kind: str
    path: str            # the file, or the class folder / first file of a group
    detail: str          # one sentence
    files: list = field(default_factory=list)

    def to_json(self):
        return {"kind": self.kind, "path": self.path, "detail": self.detail, "files": self.files}


@dataclass
class DataReport:
    dataset: str
    title: str
    root: Path | None
    layout: str                      # "builtin", "folders", "split" or "csv"
    classes: list
    items: list                      # every Item, train then val
    input_shape: tuple | None = None
    problems: list = field(default_factory=list)
    tensors: dict = field(default_factory=dict, repr=False)   # built-ins: split -> uint8 NCHW

    def of(self, split, label=None):
        return [item for item in self.items
                if item.split == split and (label is None or item.label == label)]

    def counts(self):
        """{split: {class: images}}, every class listed in both splits."""
        result = {split: {name: 0 for name in self.classes} for split in SPLITS}
        for item in self.items:
            result[item.split][self.classes[item.label]] += 1
        return result

    def sizes(self):
        """{split: {"WxH": images}} of the readable images, commonest first."""
        return {split: dict(Counter(item.size_text for item in self.of(split)
                                    if item.channels).most_common()) for split in SPLITS}

    def channels(self):
        return {split: dict(Counter(str(item.channels) for item in self.of(split)
                                    if item.channels).most_common()) for split in SPLITS}

    def to_json(self):
        return {"dataset": self.dataset, "title": self.title,
                "root": str(self.root) if self.root else None, "layout": self.layout,
                "input": list(self.input_shape) if self.input_shape else None,
                "classes": list(self.classes), "counts": self.counts(), "sizes": self.sizes(),
                "channels": self.channels(),
                "problems": [problem.to_json() for problem in self.problems]}

    def summary(self):
        """Lines of text: what `designer data` prints without --json."""
        counts = self.counts()
        where = f" in {self.root}" if self.root else ""
        lines = [f"{self.title}{where}: {len(self.classes)} classes, "
                 f"{sum(counts['train'].values()):,} train / {sum(counts['val'].values()):,} val "
                 f"images" + (f" ({_layout_text(self.layout)})" if self.layout != "builtin"
                              else "")]
        width = max([len(name) for name in self.classes] + [5])
        lines.append(f"  {'class':<{width}}  {'train':>7}  {'val':>7}")
        for name in self.classes:
            train, val = counts["train"][name], counts["val"][name]
            lines.append(f"  {name:<{width}}  {train:>7,}  {val:>7,}")
        for split in SPLITS:
            sizes = self.sizes()[split]
            shown = ", ".join(f"{size} ×{n:,}" for size, n in list(sizes.items())[:4])
            more = f", … {len(sizes) - 4} more sizes" if len(sizes) > 4 else ""
            channels = ", ".join(f"{c}-channel ×{n:,}" for c, n in self.channels()[split].items())
            lines.append(f"  {split} sizes: {shown or 'none'}{more}; {channels or 'no images'}")
        if self.input_shape:
            lines.append(f"  design input: {'×'.join(map(str, self.input_shape))}")
        if not self.problems:
            lines.append("no problems found")
        for problem in self.problems:
            lines.append(f"{problem.kind}: {problem.path}: {problem.detail}")
        return lines


def _layout_text(layout):
    return {"folders": "train/ and val/ folders", "split": "one folder, split here",
            "csv": "CSV file"}[layout]


def describe(dataset="digits", data_dir=None, val_fraction=0.2, input_shape=None, progress=None,
             stopped=None):
    """The `DataReport` of a dataset (a `TrainConfig.dataset` name and its data folder, or for
    "imagefolder" the folder tree or CSV file), against `input_shape` (C, H, W) when given.
    `progress(done, total)` is called as files are read; `stopped()` True ends the scan early
    (the report then holds the files read so far)."""
    if dataset not in DATASETS:
        raise DatasetError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if input_shape is not None and len(input_shape) != 3:
        raise DatasetError(f"the design's input is {'×'.join(map(str, input_shape))}; image "
                           "datasets need a C×H×W input")
    if dataset == "imagefolder":
        if not data_dir:
            raise DatasetError("an image folder needs its folder (--data-dir): class "
                               "sub-folders, optionally under train/ and val/, or a CSV file")
        report = _describe_files(list_images(data_dir, val_fraction), progress, stopped)
    else:
        report = _describe_builtin(dataset, data_dir, val_fraction, progress)
    report.input_shape = tuple(input_shape) if input_shape else None
    report.problems = find_problems(report)
    return report


def _describe_files(listing, progress, stopped):
    entries = [(split, path, label) for split in SPLITS for path, label in listing.split(split)]
    items = []
    for done, (split, path, label) in enumerate(entries):
        if stopped is not None and stopped():
            break
        item = Item(split, label, path=Path(path))
        try:
            data = Path(path).read_bytes()
            item.digest = hashlib.sha1(data).hexdigest()
            image = read_image(path)
            item.width, item.height = image.size
            item.channels = 1 if image.mode == "L" else 3
        except OSError as error:
            item.digest = f"unreadable: {error.strerror or error}"
        except UnreadableImage as error:
            item.digest = f"unreadable: {error.reason}"
        items.append(item)
        if progress is not None and (done % 64 == 0 or done == len(entries) - 1):
            progress(done + 1, len(entries))
    return DataReport("imagefolder", DATASETS["imagefolder"], listing.root, listing.layout,
                      list(listing.classes), items)


def _describe_builtin(dataset, data_dir, val_fraction, progress):
    from designer.train.config import TrainConfig
    from designer.train import data as train_data
    config = TrainConfig(dataset=dataset, data_dir=data_dir, val_fraction=val_fraction,
                         download=False)
    if dataset == "digits":
        images, labels = train_data.load_digits()
        train_idx, val_idx = train_data.split_indices(len(labels), val_fraction)
        parts = {"train": (images[train_idx], labels[train_idx]),
                 "val": (images[val_idx], labels[val_idx])}
        classes = [str(d) for d in range(10)]
    else:
        arrays = train_data._torchvision_arrays(config, dataset)
        parts = {"train": arrays[0:2], "val": arrays[2:4]}
        classes = [str(name) for name in arrays[4]]
    items, tensors = [], {}
    total = sum(len(parts[split][1]) for split in SPLITS)
    for split in SPLITS:
        images, labels = parts[split]
        tensors[split] = images
        _, channels, height, width = images.shape
        flat = images.reshape(len(images), -1).numpy()
        for index, label in enumerate(labels.tolist()):
            items.append(Item(split, int(label), index=index, width=width, height=height,
                              channels=channels, digest=hashlib.sha1(flat[index]).hexdigest()))
        if progress is not None:
            progress(len(items), total)
    return DataReport(dataset, DATASETS[dataset], None, "builtin", classes, items,
                      tensors=tensors)


def find_problems(report):
    """The report's problems, in the order of the module docstring."""
    problems = []
    readable = [item for item in report.items if item.channels]
    for item in report.items:
        if not item.channels:
            reason = item.digest.removeprefix("unreadable: ")
            problems.append(Problem("unreadable", item.name,
                                    f"cannot be decoded ({reason}); training refuses the "
                                    "dataset until it is removed",
                                    [item.name]))
    train_by_digest = {}
    for item in readable:
        if item.split == "train":
            train_by_digest.setdefault(item.digest, item)
    for item in readable:
        twin = train_by_digest.get(item.digest) if item.split == "val" else None
        if twin is not None:
            problems.append(Problem("duplicate", item.name,
                                    f"identical to the training image {twin.name}: validation "
                                    "on it measures memory, not generalisation",
                                    [item.name, twin.name]))
    problems += _class_problems(report)
    problems += _channel_problems(report, readable)
    problems += _size_problems(report, readable)
    return problems


def _class_folder(report, name):
    if report.root is None or report.layout == "csv":
        return f"class {name}"
    if report.layout == "folders":
        return str(report.root / "train" / name)
    return str(report.root / name)


def _class_problems(report):
    problems, counts = [], report.counts()
    has_val = any(counts["val"].values())
    for name in report.classes:
        for split in SPLITS if has_val else ("train",):
            if counts[split][name] == 0:
                problems.append(Problem("empty_class", _class_folder(report, name),
                                        f"class {name} has no {split} images"))
        train = counts["train"][name]
        if 0 < train < TINY_CLASS:
            files = [item.name for item in report.of("train", report.classes.index(name))]
            problems.append(Problem("tiny_class", _class_folder(report, name),
                                    f"class {name} has only {train} training image(s); fewer "
                                    f"than {TINY_CLASS} is too few to learn it from",
                                    files[:LISTED_FILES]))
    present = {name: n for name, n in counts["train"].items() if n}
    if len(present) >= 2:
        largest = max(present, key=present.get)
        smallest = min(present, key=present.get)
        ratio = present[largest] / present[smallest]
        if ratio >= IMBALANCE:
            problems.append(Problem("imbalance", _class_folder(report, smallest),
                                    f"class {largest} has {present[largest]:,} training images, "
                                    f"{ratio:.1f} times class {smallest}'s {present[smallest]:,}: "
                                    "the network will favour the larger classes",
                                    [_class_folder(report, largest),
                                     _class_folder(report, smallest)]))
    return problems


def _group(kind, items, detail):
    return Problem(kind, items[0].name, detail, [item.name for item in items[:LISTED_FILES]])


def _channel_problems(report, readable):
    if report.input_shape is not None:
        wanted = report.input_shape[0]
        off = [item for item in readable if item.channels != wanted]
        if not off:
            return []
        have = Counter(item.channels for item in off).most_common(1)[0][0]
        how = ("repeated to 3 channels" if have == 1 and wanted == 3 else
               "converted to grey by luminance" if wanted == 1 else
               "not convertible to it (training refuses them)")
        return [_group("channels", off, f"{len(off):,} image(s) have {have} channel(s) but the "
                                        f"design's input has {wanted}: they are {how}")]
    kinds = Counter(item.channels for item in readable)
    if len(kinds) < 2:
        return []
    fewer = min(kinds, key=kinds.get)
    off = [item for item in readable if item.channels == fewer]
    return [_group("channels", off, f"{len(off):,} image(s) have {fewer} channel(s) and "
                                    f"{kinds.most_common(1)[0][1]:,} others "
                                    f"{kinds.most_common(1)[0][0]}: grey and colour are mixed")]


def _size_problems(report, readable):
    """Images the resize to the input's height and width stretches (their aspect ratio off the
    input's by DISTORTION or more); without a design, off the commonest size's."""
    if not readable:
        return []
    if report.input_shape is not None:
        height, width = report.input_shape[1:]
        target = f"the input's {width}x{height}"
    else:
        common = Counter((item.width, item.height) for item in readable).most_common(1)[0][0]
        width, height = common
        target = f"the commonest size {width}x{height}"
    aim = math.log(width / height)
    stretched = [item for item in readable
                 if abs(math.log(item.width / item.height) - aim) >= math.log(DISTORTION)]
    sizes = Counter((item.width, item.height) for item in readable)
    if not stretched or len(sizes) < 2 and report.input_shape is None:
        return []
    examples = ", ".join(f"{w}x{h}" for (w, h), _ in
                         Counter((i.width, i.height) for i in stretched).most_common(3))
    return [_group("mixed_sizes", stretched,
                   f"{len(stretched):,} image(s) ({examples}) have an aspect ratio off "
                   f"{target}: the resize stretches them; crop or pad them to its shape")]


def write_folder(report, out):
    """Write a built-in dataset's images as PNG files in class folders, `out/train/<class>/` and
    `out/val/<class>/` (its split as training makes it): an image folder to try the folder
    path on. Refuses a folder that already holds files. Returns the number of files written."""
    from PIL import Image
    out = Path(out).expanduser()
    if report.layout != "builtin":
        raise DatasetError("only a built-in dataset can be written out as image files")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DatasetError(f"{out} already exists and is not an empty folder; name a new one")
    for item in report.items:
        folder = out / item.split / report.classes[item.label]
        folder.mkdir(parents=True, exist_ok=True)
        array = sample_image(report, item)
        image = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
        image.save(folder / f"{item.index:05d}.png")
    return len(report.items)


# -- images for display ------------------------------------------------------------------------

def sample_image(report, item):
    """One image as stored, uint8 (H, W, C) numpy, or None when it cannot be read."""
    import numpy as np
    if item.path is None:
        return report.tensors[item.split][item.index].permute(1, 2, 0).numpy()
    if not item.channels:
        return None
    try:
        array = np.asarray(read_image(item.path))
    except UnreadableImage:
        return None
    return array[:, :, None] if array.ndim == 2 else array


def augment_preview(report, items, config, input_shape, seed=0):
    """`items` as training sees them: decoded to `input_shape` (C, H, W) and put through the
    run's batch augmentation (`config`: a TrainConfig's crop, flip, jitter and lighting) with a
    generator seeded by `seed`; uint8 (H, W, C) numpy arrays, normalisation undone for display."""
    import torch
    from designer.train.data import Decode, batch_augment, data_stats
    images = [sample_image(report, item) for item in items]
    images = [image for image in images if image is not None]
    if not images:
        return []
    decode = Decode(input_shape[0], input_shape[1:])
    batch = torch.stack([decode(torch.from_numpy(image.copy()).permute(2, 0, 1))
                         for image in images])
    augment = batch_augment(config, report.dataset, tuple(input_shape))
    out = augment(batch, torch.Generator().manual_seed(seed))
    mean, std = data_stats(report.dataset, input_shape[0])
    out = out * torch.tensor(std).view(-1, 1, 1) + torch.tensor(mean).view(-1, 1, 1)
    out = (out.clamp(0, 1) * 255).round().to(torch.uint8)
    return [image.permute(1, 2, 0).numpy() for image in out]
