"""The whole training pipeline against a plain PyTorch script: data loading, augmentation, the step.

Writes a CIFAR-sized ImageFolder tree (32×32 PNGs, 10 classes; random pixels, since only speed is
measured and nothing may be downloaded), then trains on it twice, interleaved:
- the engine: `designer.train.Trainer` on the resnet18 preset set to 3×32×32 and 10 classes
  (pad-and-crop and flip augmentation, mixed precision and channels_last on CUDA);
- a plain script: torchvision `ImageFolder` + `DataLoader` with the same augmentation and
  `torchvision.models.resnet18(num_classes=10)`, SGD, the same AMP and memory format.
Prints the training images/s of each (median over the epochs after the first) and the ratio
engine / plain (target ≥ 0.98). Run it on a GPU for the figure that matters:

    python bench/train_pipeline.py [--device cuda] [--images 5000] [--epochs 3] [--workers 8]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designer.core.presets import load_design  # noqa: E402
from designer.train.config import TrainConfig  # noqa: E402
from designer.train.loop import Trainer  # noqa: E402

CLASSES = 10


def write_image_folder(root, images):
    rng = np.random.default_rng(0)
    for split, count in (("train", images), ("val", max(CLASSES, images // 10))):
        for k in range(count):
            folder = root / split / f"class{k % CLASSES}"
            folder.mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{k}.png")


def engine_rates(root, args, device):
    graph = load_design("resnet18")
    graph.set_params(graph.nodes_of_type("Input")[0].id, shape=(3, 32, 32))
    graph.set_params("fc", out_features=CLASSES)
    config = TrainConfig(dataset="imagefolder", data_dir=str(root), epochs=args.epochs,
                         batch_size=args.batch_size, lr=0.05, schedule="constant", crop="pad",
                         flip=True, device=device, workers=args.workers,
                         out=str(root / "runs" / time.strftime("%H%M%S%f")))
    rates = []
    for event in Trainer(graph, config).run():
        if event.kind == "epoch":
            rates.append(event.images_per_s)
        elif event.kind == "finished" and event.status != "completed":
            raise SystemExit(f"engine run failed: {event}")
    return rates


def plain_rates(root, args, device):
    cuda = device == "cuda"
    augment = transforms.Compose([
        transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))])
    data = torchvision.datasets.ImageFolder(root / "train", transform=augment)
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch_size, shuffle=True,
                                         num_workers=args.workers, pin_memory=cuda, drop_last=True,
                                         persistent_workers=args.workers > 0)
    memory_format = torch.channels_last if cuda else torch.contiguous_format
    model = torchvision.models.resnet18(num_classes=CLASSES).to(device, memory_format=memory_format)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    criterion = nn.CrossEntropyLoss()
    rates = []
    for _ in range(args.epochs):
        model.train()
        count, start = 0, time.perf_counter()
        for images, labels in loader:
            images = images.to(device, non_blocking=True, memory_format=memory_format)
            labels = labels.to(device, non_blocking=True)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
                loss = criterion(model(images).float(), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            count += len(labels)
        if cuda:
            torch.cuda.synchronize()
        rates.append(count / (time.perf_counter() - start))
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"),
                        default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.device == "cpu":
        torch.set_num_threads(1)
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_image_folder(root, args.images)
        engine, plain = [], []
        for _ in range(args.rounds):  # interleaved, so drift in machine speed hits both
            engine += engine_rates(root, args, args.device)[1:]
            plain += plain_rates(root, args, args.device)[1:]
    e, p = statistics.median(engine), statistics.median(plain)
    print(f"device {args.device}, {args.images} images 3×32×32, batch {args.batch_size}, "
          f"{args.workers} loader workers, {args.epochs} epochs × {args.rounds} rounds "
          "(medians of the epochs after the first)")
    print(f"engine (resnet18 preset)        {e:8.1f} images/s")
    print(f"plain script (torchvision)      {p:8.1f} images/s")
    print(f"ratio engine/plain              {e / p:.3f}  (target ≥ 0.98)")


if __name__ == "__main__":
    main()
