"""The whole training pipeline against a plain PyTorch script: data loading, augmentation, the step.

Writes a CIFAR-sized ImageFolder tree (32×32 PNGs, 10 classes; random pixels, since only speed is
measured and nothing may be downloaded), then trains on it three ways, interleaved round by round
(the order rotating, so drift in machine speed hits all three alike):
- a plain script: torchvision `ImageFolder` + `DataLoader` with v1 transforms (pad-and-crop, flip,
  ToTensor, Normalize), SGD, the same AMP and memory format, and the network `--model` names
  (torchvision's own model when it has one of that name, else the preset compiled to a module);
- the engine (`designer.train.Trainer`, the preset set to 3×32×32 and 10 classes, pad-and-crop and
  flip) on its DataLoader path (`fast_path=False`);
- the engine on its tensor-resident fast path (the dataset decoded once onto the device).
Prints the training images/s of each (median over rounds of the median of the epochs after the
first) and ends with the ratios (median over rounds of each round's ratio), `ratio engine/plain 0.000` and `ratio fast-path/plain 0.000` (targets on one
CPU thread: ≥ 0.98 with resnet18, fast path ≥ 1.5 with lenet5).

    python bench/train_pipeline.py [--model lenet5] [--device cuda] [--images 2000] [--epochs 3]
        [--rounds 2] [--workers 8] [--threads 1]
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

from designer.core.compile import compile_graph, output_nodes  # noqa: E402
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


def preset_graph(name):
    """The preset at 3×32×32 with 10 outputs on every head."""
    graph = load_design(name)
    graph.set_params(graph.nodes_of_type("Input")[0].id, shape=(3, 32, 32))
    for node in output_nodes(graph):
        head = graph.nodes[graph.in_edge(node.id, "in").src]
        if head.type != "Linear":
            raise SystemExit(f"{name}: the layer before {node.id!r} is a {head.type}, not a "
                             "Linear layer this script can set to 10 classes")
        graph.set_params(head.id, out_features=CLASSES)
    return graph


def engine_rates(root, args, device, fast_path):
    config = TrainConfig(dataset="imagefolder", data_dir=str(root), epochs=args.epochs,
                         batch_size=args.batch_size, lr=0.05, schedule="constant", crop="pad",
                         flip=True, device=device, workers=args.workers, fast_path=fast_path,
                         threads=args.threads,
                         out=str(root / "runs" / time.strftime("%H%M%S%f")))
    rates = []
    for event in Trainer(preset_graph(args.model), config).run():
        if event.kind == "message" and event.text.startswith("data:"):
            if event.text.startswith("data: fast path") != fast_path:
                raise SystemExit(f"asked for fast_path={fast_path} but got: {event.text}")
        elif event.kind == "epoch":
            rates.append(event.images_per_s)
        elif event.kind == "finished" and event.status != "completed":
            raise SystemExit(f"engine run failed: {event}")
    return rates


def plain_model(name):
    if name in torchvision.models.list_models(module=torchvision.models):
        return torchvision.models.get_model(name, num_classes=CLASSES)
    return compile_graph(preset_graph(name))


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
    model = plain_model(args.model).to(device, memory_format=memory_format)
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
                outputs = model(images)
                main = outputs[0] if isinstance(outputs, (tuple, list)) else outputs
                loss = criterion(main.float(), labels)
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
    parser.add_argument("--model", default="resnet18", help="a preset name (default resnet18)")
    parser.add_argument("--device", choices=("cpu", "cuda"),
                        default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch's intra-op threads, for all three (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True
    runs = {"plain": lambda root: plain_rates(root, args, args.device),
            "engine": lambda root: engine_rates(root, args, args.device, fast_path=False),
            "fast-path": lambda root: engine_rates(root, args, args.device, fast_path=True)}
    rates = {name: [] for name in runs}          # per round: the median of its timed epochs
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_image_folder(root, args.images)
        names = list(runs)
        for round_index in range(args.rounds):
            for name in names[round_index % 3:] + names[:round_index % 3]:
                rates[name].append(statistics.median(runs[name](root)[1:]))
    median = {name: statistics.median(values) for name, values in rates.items()}

    def ratio(name):
        """The median over rounds of the round's ratio: paired, so slow drift in the machine's
        load (other processes) cancels out."""
        return statistics.median(a / b for a, b in zip(rates[name], rates["plain"]))

    print(f"device {args.device}, {args.threads} thread(s), model {args.model}, {args.images} "
          f"images 3×32×32, batch "
          f"{args.batch_size}, {args.workers} loader workers, {args.epochs} epochs × {args.rounds} "
          "interleaved rounds (medians; the first epoch of each run untimed)")
    print(f"plain script (torchvision DataLoader)  {median['plain']:8.1f} images/s")
    print(f"engine, DataLoader path                {median['engine']:8.1f} images/s")
    print(f"engine, fast path                      {median['fast-path']:8.1f} images/s")
    for name in names:
        print(f"  {name:10s} per round: " + "  ".join(f"{rate:7.1f}" for rate in rates[name]))
    print(f"ratio engine/plain {ratio('engine'):.3f}")
    print(f"ratio fast-path/plain {ratio('fast-path'):.3f}")


if __name__ == "__main__":
    main()
