"""Batch augmentation against a per-image reference written with torchvision's functional ops, the
tensor-resident fast path's batches, and its memory budget."""

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from designer.train import fastpath
from designer.train.augment import EIGVAL, EIGVEC, BatchAugment, BatchEval
from designer.train.config import TrainConfig
from designer.train.data import build_data
from designer.train.loop import Trainer

from ..helpers import tiny_digits_net

MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)


def reference(image, params, index, augment):
    """One image augmented by hand, in torchvision's order, with the batch's drawn parameters."""
    height, width = augment.height, augment.width
    x = TF.to_dtype(image, torch.float32, scale=True)
    if "box" in params:
        top, left, h, w = params["box"][index].tolist()
        x = TF.resized_crop(x, top, left, h, w, [height, width], antialias=True)
    if "jitter" in params:
        top, left, new_h, new_w = params["jitter"][index].tolist()
        x = TF.crop(TF.resize(x, [new_h, new_w], antialias=True), top, left, height, width)
    if "shift" in params:
        dy, dx = params["shift"][index].tolist()
        x = TF.crop(TF.pad(x, [augment.padding] * 4, fill=0), dy, dx, height, width)
    if "flip" in params and params["flip"][index]:
        x = TF.horizontal_flip(x)
    if "alpha" in params:
        x = x + (EIGVEC @ (params["alpha"][index] * EIGVAL)).view(3, 1, 1)
    return TF.normalize(x, list(MEAN), list(STD))


def random_images(count=24, shape=(3, 13, 11), seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (count, *shape), dtype=torch.uint8, generator=generator)


def test_pad_crop_and_flip_equal_the_per_image_reference_exactly():
    images = random_images()
    augment = BatchAugment((3, 13, 11), MEAN, STD, crop="pad", padding=3, flip=True)
    params = augment.draw(len(images), torch.Generator().manual_seed(5))
    assert params["flip"].any() and not params["flip"].all()
    assert set(params["shift"].flatten().tolist()) >= {0, 6}       # both edges of the padding
    batch = augment.apply(images, params)
    expected = torch.stack([reference(im, params, i, augment) for i, im in enumerate(images)])
    assert torch.equal(batch, expected)


@pytest.mark.parametrize("options", [dict(crop="resized", flip=True),
                                     dict(crop="pad", padding=2, jitter=0.5, lighting=0.1),
                                     dict(crop="none", jitter=0.3, flip=True)])
def test_resampling_crops_and_lighting_match_the_per_image_reference(options):
    images = random_images(seed=1)
    augment = BatchAugment((3, 13, 11), MEAN, STD, **options)
    params = augment.draw(len(images), torch.Generator().manual_seed(2))
    batch = augment.apply(images, params)
    expected = torch.stack([reference(im, params, i, augment) for i, im in enumerate(images)])
    # Resampling is one matmul here and torch's interpolate kernel there: equal to rounding.
    assert torch.allclose(batch, expected, atol=2e-5), (batch - expected).abs().max()
    if "box" in params:     # crops of many sizes, down- and up-sampled
        areas = params["box"][:, 2] * params["box"][:, 3]
        assert areas.min() < 13 * 11 / 2 and areas.max() > 13 * 11 / 2


def test_centre_and_ten_crop_evaluation_match_torchvision():
    images = random_images(count=4, shape=(3, 15, 14))
    ten = BatchEval((12, 10), MEAN, STD, crops=10)(images)
    centre = BatchEval((12, 10), MEAN, STD)(images)
    for i, image in enumerate(images):
        x = TF.to_dtype(image, torch.float32, scale=True)
        crops = torch.stack(TF.ten_crop(x, [12, 10]))
        assert torch.equal(ten[i], TF.normalize(crops, list(MEAN), list(STD)))
        assert torch.equal(centre[i], TF.normalize(TF.center_crop(x, [12, 10]), list(MEAN),
                                                   list(STD)))


def _image_tree(root, per_class=5):
    from PIL import Image
    generator = torch.Generator().manual_seed(0)
    for split in ("train", "val"):
        for label in range(3):
            folder = root / split / f"c{label}"
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = torch.randint(0, 256, (18 + i, 20, 3), dtype=torch.uint8,
                                       generator=generator)
                Image.fromarray(pixels.numpy()).save(folder / f"{i}.png")


def test_fast_path_batches_equal_per_image_decoding_and_augmentation(tmp_path):
    """The fast path's batch k for a seed: the DataLoader path's per-item decoding of the images
    that a seeded permutation picks, each augmented by the per-image reference."""
    _image_tree(tmp_path)
    config = TrainConfig(dataset="imagefolder", data_dir=str(tmp_path), crop="pad",
                         crop_padding=2, flip=True, batch_size=4).validate()
    bundle = build_data(config, (3, 16, 16))
    bundle.augment.normalize.mean, bundle.augment.normalize.std = MEAN, STD
    train, _ = fastpath.loaders(bundle, config, torch.device("cpu"), torch.Generator())
    assert len(train) == 15 // 4
    train.generator.manual_seed(7)
    augment_generator = torch.Generator().manual_seed(8)
    batches = [(images, labels, bundle.augment.draw(len(images), augment_generator))
               for images, labels in train]
    order = torch.randperm(15, generator=torch.Generator().manual_seed(7))
    reference_generator = torch.Generator().manual_seed(8)
    for k, (images, labels, params) in enumerate(batches):
        picked = order[k * 4:(k + 1) * 4].tolist()
        items = [bundle.train[i] for i in picked]
        assert labels.tolist() == [label for _, label in items]
        reference_params = bundle.augment.draw(4, reference_generator)
        assert all(torch.equal(params[n], reference_params[n]) for n in params)
        expected = torch.stack([reference(image, params, i, bundle.augment)
                                for i, (image, _) in enumerate(items)])
        assert torch.equal(bundle.augment.apply(images, params), expected)


def test_over_budget_falls_back_to_the_dataloader_with_a_message(tmp_path):
    config = TrainConfig(epochs=1, fast_path_budget_mb=0.05, out=str(tmp_path))
    trainer = Trainer(tiny_digits_net(), config)
    events = list(trainer.run())
    messages = [e.text for e in events if e.kind == "message"]
    assert messages[0].startswith("data: DataLoader path") and "over the fast path's budget" in \
        messages[0] and "0.05 MB" in messages[0]
    assert not trainer.fast_path and isinstance(trainer.train_loader,
                                                torch.utils.data.DataLoader)
    assert events[-1].status == "completed"
    within = Trainer(tiny_digits_net(), TrainConfig(epochs=1, fast_path_budget_mb=2,
                                              out=str(tmp_path / "b")))
    first = next(e for e in within.run() if e.kind == "message")
    assert first.text.startswith("data: fast path") and within.fast_path
    assert isinstance(within.train_loader, fastpath.TensorLoader)
    off = Trainer(tiny_digits_net(), TrainConfig(epochs=1, fast_path=False,
                                                 out=str(tmp_path / "c")))
    assert "turned off" in next(e for e in off.run() if e.kind == "message").text

