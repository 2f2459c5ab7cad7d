"""Datasets fitted to the design: the bundled digits, torchvision's on-disk formats read from a
folder (never downloaded in tests), ImageFolder trees, channel and size matching, augmentation."""

import struct

import pytest
import torch

from designer.train.config import TrainConfig
from designer.train.data import DatasetError, build_data, load_digits, split_indices


def test_bundled_digits_are_the_uci_set():
    images, labels = load_digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == torch.uint8
    assert torch.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert images.max() == 255 and images.min() == 0


def test_digits_resized_normalised_and_split():
    bundle = build_data(TrainConfig(), (1, 32, 32))
    assert bundle.num_classes == 10 and bundle.eval_crops == 1
    assert len(bundle.train) + len(bundle.val) == 1797 and len(bundle.val) == 359
    train_idx, val_idx = split_indices(1797, 0.2)
    assert not set(train_idx) & set(val_idx)
    image, label = bundle.train[0]
    assert image.shape == (1, 32, 32) and image.dtype == torch.uint8
    all_images = torch.stack([bundle.train[i][0] for i in range(len(bundle.train))])
    normalised = bundle.augment(all_images, torch.Generator())
    assert normalised.dtype == torch.float32 and normalised.shape == all_images.shape
    assert abs(normalised.mean().item()) < 0.1 and abs(normalised.std().item() - 1) < 0.15


def test_grey_to_rgb_and_ten_crop():
    config = TrainConfig(eval_crop="ten", crop="pad", flip=True, scale_jitter=0.25,
                         pca_lighting=0.1)
    bundle = build_data(config, (3, 20, 24))
    image, _ = bundle.train[5]
    assert image.shape == (3, 20, 24)
    assert bundle.augment(image[None], torch.Generator()).shape == (1, 3, 20, 24)
    val_image, _ = bundle.val[0]
    assert val_image.shape == (3, 23, 28)        # decoded at 1/0.875 of the input for the crops
    crops = bundle.evaluate(val_image[None])[0]
    assert crops.shape == (10, 3, 20, 24) and bundle.eval_crops == 10
    # The crops are mirrored in the second half (TenCrop order: 5 crops, then their flips).
    assert torch.allclose(crops[4], crops[9].flip(-1), atol=1e-5)


def test_augmentation_is_random_but_seeded():
    bundle = build_data(TrainConfig(crop="pad", flip=True, crop_padding=2), (1, 16, 16))
    images = torch.stack([bundle.train[i][0] for i in range(8)])
    generator = torch.Generator().manual_seed(1)
    first = bundle.augment(images, generator)
    assert torch.equal(bundle.augment(images, generator.manual_seed(1)), first)
    assert not all(torch.equal(bundle.augment(images, generator), first) for _ in range(10))


def test_missing_torchvision_dataset_says_where_to_put_files(tmp_path):
    for dataset, where in (("cifar10", "cifar-10-batches-py"), ("mnist", "MNIST/raw"),
                           ("cifar100", "cifar-100-python")):
        config = TrainConfig(dataset=dataset, data_dir=str(tmp_path), download=False)
        with pytest.raises(DatasetError) as info:
            build_data(config, (1, 28, 28))
        text = str(info.value)
        assert str(tmp_path) in text and where in text and "--data-dir" in text


def _write_idx(path, array, magic):
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    path.write_bytes(header + array.numpy().tobytes())


def test_reads_mnist_from_a_folder_in_its_real_format(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    generator = torch.Generator().manual_seed(0)
    for prefix, count in (("train", 30), ("t10k", 10)):
        images = torch.randint(0, 256, (count, 28, 28), dtype=torch.uint8, generator=generator)
        labels = torch.arange(count, dtype=torch.uint8) % 10
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images, 0x0803)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels, 0x0801)
    bundle = build_data(TrainConfig(dataset="mnist", data_dir=str(tmp_path), download=False),
                        (3, 32, 32))
    assert len(bundle.train) == 30 and len(bundle.val) == 10 and bundle.num_classes == 10
    image, label = bundle.val[3]
    assert image.shape == (3, 32, 32) and label == 3
    assert torch.equal(image[0], image[2])                    # grey repeated into RGB


def _image_tree(root, classes, per_class):
    from PIL import Image
    for split in ("train", "val"):
        for index, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                Image.new("RGB", (40 + i, 30), (index * 80, 20 * i, 100)).save(folder / f"{i}.png")


def test_image_folder_with_train_and_val(tmp_path):
    _image_tree(tmp_path, ["cat", "dog", "fox"], 3)
    bundle = build_data(TrainConfig(dataset="imagefolder", data_dir=str(tmp_path)), (3, 24, 24))
    assert bundle.classes == ["cat", "dog", "fox"] and len(bundle.train) == 9
    image, label = bundle.train[4]
    assert image.shape == (3, 24, 24) and image.dtype == torch.uint8 and label == 1
    assert bundle.val[0][0].shape == (3, 28, 28)                  # centre crop from 1/0.875
    assert bundle.evaluate(bundle.val[0][0][None]).shape == (1, 3, 24, 24)


def test_image_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        build_data(TrainConfig(dataset="imagefolder", data_dir=str(tmp_path / "nope")), (3, 8, 8))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="not an image folder"):
        build_data(TrainConfig(dataset="imagefolder", data_dir=str(tmp_path / "empty")), (3, 8, 8))
