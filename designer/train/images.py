"""Image files as datasets, without torch: the listing of a folder tree or a CSV, its seeded
stratified split, and the one way an image file is read.

A dataset of files is one of
- a folder with `train/` and `val/` (or `validation/`) holding one sub-folder per class;
- one folder of class sub-folders, split here: a seeded stratified split, the same share of
  every class held out for validation;
- a CSV file of `path,label` rows (a header row is optional; paths relative to the CSV's folder;
  an optional third column `split` says train or val, else the rows are split as above).
`list_images` gives its classes and the (path, label) items of each split, in a fixed order.
`read_image` decodes a file as it is stored: a grey image stays one channel (no trip through RGB,
whose luminance conversion truncates and comes out 1 lower), 16-bit samples become 8-bit, alpha
is dropped, a palette becomes RGB (or grey when it holds one).
"""

import csv
import random
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from designer.core.errors import DesignError

# torchvision's IMG_EXTENSIONS: the files an ImageFolder tree lists.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
VAL_FOLDERS = ("val", "validation")
SPLITS = ("train", "val")


class DatasetError(DesignError):
    """A dataset that cannot be read or does not fit the design."""


class UnreadableImage(DatasetError):
    """One image file that cannot be decoded; `path` names it, `reason` says why."""

    def __init__(self, path, reason=None):
        if reason is None:
            # Re-raised from a DataLoader worker, which passes its traceback text as the one
            # argument: keep the sentence, the text after the last line's class name.
            sentence = str(path).rstrip().splitlines()[-1].partition(": ")[2] or str(path)
            super().__init__(sentence)
            self.path, self.reason = None, sentence
            return
        super().__init__(f"{path}: not an image that can be read ({reason})")
        self.path, self.reason = Path(path), reason


@dataclass
class ImageList:
    """The files of a dataset: its classes and each split's (path, label index) items."""
    root: Path
    layout: str                     # "folders" (train/ + val/), "split" (one folder), "csv"
    classes: list
    train: list = field(default_factory=list)
    val: list = field(default_factory=list)

    def split(self, name):
        return self.train if name == "train" else self.val


def _class_folders(folder):
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _files_of(folder):
    """The image files under one class folder, sorted as torchvision's make_dataset walks."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
            found.append(path)
    return found


def _tree(folder, classes):
    return [(path, index) for index, name in enumerate(classes)
            for path in _files_of(folder / name)]


def stratified_split(labels, val_fraction, seed=0):
    """(train indices, val indices): in each class a seeded shuffle, `val_fraction` of it (at
    least one image when the class has two or more) held out. The same for every run."""
    rng = random.Random(seed)
    by_class = {}
    for index, label in enumerate(labels):
        by_class.setdefault(label, []).append(index)
    train, val = [], []
    for label in sorted(by_class):
        indices = by_class[label]
        rng.shuffle(indices)
        n_val = round(len(indices) * val_fraction)
        if len(indices) >= 2:
            n_val = min(max(1, n_val), len(indices) - 1)
        else:
            n_val = 0
        val += indices[:n_val]
        train += indices[n_val:]
    return sorted(train), sorted(val)


def _split_here(items, val_fraction, seed):
    train_idx, val_idx = stratified_split([label for _, label in items], val_fraction, seed)
    return [items[i] for i in train_idx], [items[i] for i in val_idx]


def list_images(data_dir, val_fraction=0.2, seed=0):
    """The `ImageList` of a folder tree or a CSV file (see the module docstring)."""
    root = Path(data_dir).expanduser()
    if root.is_file() and root.suffix.lower() == ".csv":
        return _csv_list(root, val_fraction, seed)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; an image folder has one sub-folder per "
                           "class (optionally under train/ and val/), or give a CSV file of "
                           "path,label rows")
    val_dir = next((root / n for n in VAL_FOLDERS if (root / n).is_dir()), None)
    if (root / "train").is_dir() and val_dir is not None:
        classes = _class_folders(root / "train")
        if _class_folders(val_dir) != classes:
            raise DatasetError(f"{root}: train/ and {val_dir.name}/ hold different class "
                               "folders; they must list the same classes")
        listing = ImageList(root, "folders", classes, _tree(root / "train", classes),
                            _tree(val_dir, classes))
    else:
        classes = _class_folders(root)
        items = _tree(root, classes)
        listing = ImageList(root, "split", classes, *_split_here(items, val_fraction, seed))
    if not classes or not (listing.train or listing.val):
        raise DatasetError(f"{root}: not an image folder (no class sub-folders holding "
                           f"{', '.join(IMAGE_EXTENSIONS[:3])} … files); an image folder has "
                           "one sub-folder per class, optionally under train/ and val/")
    return listing


def _csv_list(path, val_fraction, seed):
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"{path}: cannot be read as a CSV file ({error})") from None
    if rows and [cell.strip().lower() for cell in rows[0][:2]] == ["path", "label"]:
        rows = rows[1:]
    bad = next((n for n, row in enumerate(rows, 1) if len(row) < 2), None)
    if not rows or bad is not None:
        raise DatasetError(f"{path}: expected rows of path,label[,split]"
                           + (f"; row {bad} has one column" if bad else "; it has none"))
    classes = sorted({row[1].strip() for row in rows})
    index = {name: i for i, name in enumerate(classes)}
    items, splits = [], []
    for row in rows:
        file = Path(row[0].strip()).expanduser()
        items.append((file if file.is_absolute() else path.parent / file, index[row[1].strip()]))
        splits.append(row[2].strip().lower() if len(row) > 2 else "")
    if any(splits):
        unknown = sorted(set(splits) - {"train", "val", "validation"})
        if unknown:
            raise DatasetError(f"{path}: the split column says {unknown[0]!r}; it must be train "
                               "or val")
        train = [item for item, s in zip(items, splits) if s == "train"]
        val = [item for item, s in zip(items, splits) if s != "train"]
    else:
        train, val = _split_here(items, val_fraction, seed)
    return ImageList(path, "csv", classes, train, val)


def read_image(path, header_only=False):
    """The PIL image at `path` decoded as stored (mode L or RGB; see the module docstring), or
    with `header_only` the opened file's (width, height, mode) without decoding the pixels.
    Raises `UnreadableImage` naming the file."""
    from PIL import Image, UnidentifiedImageError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                if header_only:
                    return opened.size[0], opened.size[1], opened.mode
                opened.load()
                return _as_stored(opened)
    except FileNotFoundError:
        raise UnreadableImage(path, "no such file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError) as error:
        # PIL's message names the file again ("cannot identify image file '…'"): once is enough
        reason = str(error).replace(f"'{path}'", "").replace(str(path), "").strip(" :")
        raise UnreadableImage(path, reason or type(error).__name__) from None


def _as_stored(image):
    """L or RGB, keeping the channels the file holds."""
    import numpy as np
    from PIL import Image
    mode = image.mode
    if mode in ("L", "RGB"):
        return image.copy()
    if mode.startswith("I;16") or mode == "I":
        array = np.asarray(image, dtype=np.float64) * (255 / 65535)
        return Image.fromarray(np.clip(array.round(), 0, 255).astype(np.uint8), "L")
    if mode == "F":
        array = np.nan_to_num(np.asarray(image, dtype=np.float64))
        top = array.max() if array.size else 0.0
        array = array / top * 255 if top > 1.0 else array * 255
        return Image.fromarray(np.clip(array.round(), 0, 255).astype(np.uint8), "L")
    if mode in ("1", "LA", "La"):
        return image.convert("L")
    if mode == "P" and not _palette_in_colour(image):
        return image.convert("L")
    return image.convert("RGB")     # RGBA, palette, CMYK, YCbCr, LAB ...


def image_channels(mode):
    """How many channels `read_image` gives for a file of this PIL mode (a palette: 3)."""
    return 1 if mode in ("1", "L", "LA", "La", "I", "F") or mode.startswith("I;16") else 3


def _palette_in_colour(image):
    rgb = image.convert("RGB")
    red, green, blue = rgb.split()
    return red.tobytes() != green.tobytes() or green.tobytes() != blue.tobytes()


def check_readable(paths, limit=5):
    """Refuse a dataset with files that cannot be opened: one sentence naming them (the first
    `limit`, and how many more), before any training. Reads each file's header only."""
    bad = []
    for path in paths:
        try:
            read_image(path, header_only=True)
        except UnreadableImage as error:
            bad.append(error)
    if bad:
        names = "; ".join(f"{error.path} ({error.reason})" for error in bad[:limit])
        more = f" and {len(bad) - limit} more" if len(bad) > limit else ""
        raise DatasetError(f"{len(bad)} image file(s) cannot be read: {names}{more}. Remove or "
                           "replace them (`designer data` lists every problem)")
