"""The data engine on small image folders made here: the listing and split training uses, the
problems each with its files, grey PNGs read as stored, and training's refusal of unreadable
files before the first epoch."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from designer.cli import main
from designer.data.report import TINY_CLASS, augment_preview, describe, sample_image
from designer.train.config import TrainConfig
from designer.train.data import build_data
from designer.train.images import DatasetError, list_images, stratified_split


def _save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode).save(path)


def _noise(seed, shape=(12, 12, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape)


def _problem_tree(root):
    """train/ and val/ of three classes: a corrupt file, a val image copied from train, a tiny
    class, a wide image among square ones."""
    for i in range(12):
        _save(root / "train" / "cat" / f"{i}.png", _noise(i))
        _save(root / "train" / "dog" / f"{i}.png", _noise(100 + i))
    _save(root / "train" / "fox" / "0.png", _noise(200))
    _save(root / "train" / "dog" / "wide.png", _noise(300, (12, 30, 3)))
    (root / "train" / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    for i in range(3):
        _save(root / "val" / "cat" / f"v{i}.png", _noise(400 + i))
        _save(root / "val" / "fox" / f"v{i}.png", _noise(500 + i))
    (root / "val" / "dog").mkdir(parents=True)
    (root / "val" / "dog" / "copy.png").write_bytes((root / "train" / "cat" / "3.png").read_bytes())


def _by_kind(report):
    found = {}
    for problem in report.problems:
        found.setdefault(problem.kind, []).append(problem)
    return found


def test_problems_each_name_their_files(tmp_path):
    _problem_tree(tmp_path)
    report = describe("imagefolder", tmp_path, input_shape=(1, 12, 12))
    assert report.layout == "folders" and report.classes == ["cat", "dog", "fox"]
    counts = report.counts()
    assert counts["train"] == {"cat": 13, "dog": 13, "fox": 1}
    assert counts["val"] == {"cat": 3, "dog": 1, "fox": 3}
    found = _by_kind(report)
    assert [p.path for p in found["unreadable"]] == [str(tmp_path / "train/cat/broken.png")]
    [duplicate] = found["duplicate"]
    assert duplicate.path == str(tmp_path / "val/dog/copy.png")
    assert str(tmp_path / "train/cat/3.png") in duplicate.files
    [tiny] = found["tiny_class"]
    assert tiny.path == str(tmp_path / "train/fox") and tiny.files == [
        str(tmp_path / "train/fox/0.png")]
    [imbalance] = found["imbalance"]
    assert "13.0 times class fox's 1" in imbalance.detail
    [channels] = found["channels"]          # every readable image is RGB, the input grey
    assert "3 channel(s)" in channels.detail and len(channels.files) == 20
    [sizes] = found["mixed_sizes"]
    assert sizes.files == [str(tmp_path / "train/dog/wide.png")]
    assert report.sizes()["train"] == {"12x12": 25, "30x12": 1}
    assert "empty_class" not in found


def test_empty_class_and_no_design(tmp_path):
    for i in range(TINY_CLASS):
        _save(tmp_path / "train" / "a" / f"{i}.png", _noise(i, (8, 8)), "L")
        _save(tmp_path / "val" / "a" / f"{i}.png", _noise(50 + i, (8, 8)), "L")
    (tmp_path / "train" / "b").mkdir()
    (tmp_path / "val" / "b").mkdir()
    found = _by_kind(describe("imagefolder", tmp_path))
    assert [p.detail for p in found["empty_class"]] == ["class b has no train images",
                                                        "class b has no val images"]
    assert set(found) == {"empty_class"}        # one size, one channel count: nothing else


def test_one_folder_gets_a_seeded_stratified_split(tmp_path):
    for name, count in (("big", 30), ("small", 10)):
        for i in range(count):
            _save(tmp_path / name / f"{i}.png", _noise(i, (6, 6)), "L")
    listing = list_images(tmp_path, 0.2)
    assert listing.layout == "split"
    val_labels = [label for _, label in listing.val]
    assert val_labels.count(0) == 6 and val_labels.count(1) == 2      # 20 % of each class
    assert listing.val == list_images(tmp_path, 0.2).val               # the same every time
    assert not {p for p, _ in listing.val} & {p for p, _ in listing.train}
    train, val = stratified_split([0, 0, 1], 0.2)
    assert len(val) == 1 and val[0] in (0, 1) and 2 in train   # a class of one stays in train


def test_csv_of_path_and_label(tmp_path):
    rows = ["path,label"]
    for i in range(4):
        _save(tmp_path / "img" / f"{i}.png", _noise(i, (5, 5)), "L")
        rows.append(f"img/{i}.png,{'odd' if i % 2 else 'even'}" + (",val" if i >= 2 else ",train"))
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    report = describe("imagefolder", tmp_path / "labels.csv")
    assert report.layout == "csv" and report.classes == ["even", "odd"]
    assert report.counts() == {"train": {"even": 1, "odd": 1}, "val": {"even": 1, "odd": 1}}
    bundle = build_data(TrainConfig(dataset="imagefolder",
                                    data_dir=str(tmp_path / "labels.csv")), (1, 5, 5))
    assert len(bundle.train) == 2 and bundle.classes == ["even", "odd"]
    (tmp_path / "bad.csv").write_text("only-one-column\n")
    with pytest.raises(DatasetError, match="row 1 has one column"):
        describe("imagefolder", tmp_path / "bad.csv")


def test_grey_png_reaches_a_grey_design_exactly(tmp_path):
    """Through RGB and rgb_to_grayscale a grey pixel came out 1 lower; read as stored it is
    the file's value."""
    pixels = _noise(7, (16, 16))
    for split in ("train", "val"):
        _save(tmp_path / split / "a" / "0.png", pixels, "L")
    bundle = build_data(TrainConfig(dataset="imagefolder", data_dir=str(tmp_path)), (1, 16, 16))
    image, _ = bundle.train[0]
    assert image.shape == (1, 16, 16)
    assert torch.equal(image[0], torch.from_numpy(pixels.astype(np.uint8)))


def test_training_refuses_unreadable_files_naming_them(tmp_path):
    _problem_tree(tmp_path)
    with pytest.raises(DatasetError) as info:
        build_data(TrainConfig(dataset="imagefolder", data_dir=str(tmp_path)), (3, 12, 12))
    assert str(tmp_path / "train/cat/broken.png") in str(info.value)
    assert str(info.value).startswith("1 image file(s) cannot be read")


def test_builtin_digits_and_samples():
    report = describe("digits", input_shape=(1, 8, 8))
    assert report.classes == [str(d) for d in range(10)]
    assert sum(report.counts()["train"].values()) == 1438
    item = report.of("val", 3)[0]
    assert sample_image(report, item).shape == (8, 8, 1) and item.name.startswith("val #")


def test_augment_preview_is_the_engines_seeded_augmentation(tmp_path):
    for i in range(3):
        _save(tmp_path / "a" / f"{i}.png", _noise(i, (16, 16, 3)))
    report = describe("imagefolder", tmp_path, val_fraction=0.34)
    items = report.of("train")
    plain = augment_preview(report, items, TrainConfig(crop="none", flip=False), (3, 16, 16))
    assert all(np.array_equal(p, sample_image(report, i)) for p, i in zip(plain, items))
    flipped = TrainConfig(crop="none", flip=True)
    first = augment_preview(report, items, flipped, (3, 16, 16), seed=1)
    assert all(np.array_equal(a, b) for a, b in
               zip(first, augment_preview(report, items, flipped, (3, 16, 16), seed=1)))
    # each image is itself or its mirror, and with seed 1 not all of them are themselves
    mirrored = [np.array_equal(a, sample_image(report, i)[:, ::-1]) for a, i in zip(first, items)]
    same = [np.array_equal(a, sample_image(report, i)) for a, i in zip(first, items)]
    assert all(m or s for m, s in zip(mirrored, same)) and any(mirrored)


def test_cli_json_contract(tmp_path, capsys):
    _problem_tree(tmp_path)
    assert main(["data", "--dataset", "imagefolder", "--data-dir", str(tmp_path),
                 "--input", "3x12x12", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["classes"] == ["cat", "dog", "fox"]
    assert result["counts"]["train"]["cat"] == 13 and result["counts"]["val"]["dog"] == 1
    assert result["sizes"]["train"]["12x12"] == 25
    kinds = {p["kind"] for p in result["problems"]}
    assert {"unreadable", "duplicate", "tiny_class", "imbalance", "mixed_sizes"} <= kinds
    assert "channels" not in kinds            # RGB images, an RGB input
    assert all(set(p) >= {"kind", "path", "detail"} for p in result["problems"])


def test_cli_wrong_folder_is_a_sentence(tmp_path, capsys):
    assert main(["data", "--dataset", "imagefolder", "--data-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("designer: ") and "no such folder" in err and "Traceback" not in err
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "x.txt").write_text("x")
    assert main(["data", "--dataset", "imagefolder", "--data-dir", str(tmp_path / "flat")]) == 2
    assert "not an image folder" in capsys.readouterr().err
    assert main(["data", "--dataset", "imagefolder"]) == 2
    assert "needs its folder" in capsys.readouterr().err


def test_write_digits_as_a_folder_reads_back_the_same(tmp_path, capsys):
    out = tmp_path / "digits_png"
    assert main(["data", "--dataset", "digits", "--write", str(out)]) == 0
    assert "wrote 1,797 PNG files" in capsys.readouterr().out
    builtin, folder = describe("digits"), describe("imagefolder", out)
    assert folder.layout == "folders" and folder.counts() == builtin.counts()
    item = folder.of("val", 4)[0]
    expected = builtin.tensors["val"][int(item.path.stem)].permute(1, 2, 0).numpy()
    assert np.array_equal(sample_image(folder, item), expected)       # grey, pixel for pixel
    assert main(["data", "--dataset", "digits", "--write", str(out)]) == 2   # not over files
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize("workers", [0, 1])
def test_a_file_broken_past_its_header_is_a_sentence_mid_epoch(tmp_path, workers):
    """A PNG cut short passes the header check; decoding it in a loader (its worker process
    too) raises the sentence naming it, not a decoder's traceback."""
    from torch.utils.data import DataLoader
    for split in ("train", "val"):
        for i in range(2):
            _save(tmp_path / split / "a" / f"{i}.png", _noise(i, (32, 32)), "L")
    cut = tmp_path / "train" / "a" / "1.png"
    cut.write_bytes(cut.read_bytes()[:80])
    bundle = build_data(TrainConfig(dataset="imagefolder", data_dir=str(tmp_path)), (1, 32, 32))
    with pytest.raises(DatasetError) as info:
        list(DataLoader(bundle.train, batch_size=2, num_workers=workers))
    assert str(info.value).startswith(f"{cut}: not an image that can be read")
    assert "Traceback" not in str(info.value)


def test_sixteen_bit_and_palette_grey_stay_one_channel(tmp_path):
    from designer.train.images import read_image
    deep = np.arange(0, 65536, 256, dtype=np.uint16).reshape(16, 16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    image = read_image(tmp_path / "deep.png")
    assert image.mode == "L"
    assert np.array_equal(np.asarray(image), np.round(deep * (255 / 65535)).astype(np.uint8))
    grey = Image.fromarray(_noise(3, (8, 8)).astype(np.uint8), "L")
    grey.convert("P").save(tmp_path / "palette.png")
    assert read_image(tmp_path / "palette.png").mode == "L"
    Image.fromarray(_noise(4, (8, 8, 3)).astype(np.uint8)).convert("P").save(tmp_path / "c.png")
    assert read_image(tmp_path / "c.png").mode == "RGB"
