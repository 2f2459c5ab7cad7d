"""The whole training pipeline against plain PyTorch: data loading, augmentation, the step.

Writes a CIFAR-sized ImageFolder tree (32×32 PNGs, 10 classes; random pixels, since only speed is
measured and nothing may be downloaded), then, for each model `--model` names, trains on it four
ways, interleaved round by round (the order rotating, so drift in machine speed hits all alike):
- a plain script: torchvision `ImageFolder` + `DataLoader` with v1 transforms (pad-and-crop, flip,
  ToTensor, Normalize), SGD, the engine's AMP and memory format (channels-last unless
  `--contiguous`), and the network `--model` names
  (torchvision's own model when it has one of that name, else the preset compiled to a module);
- the engine (`designer.train.Trainer`, the preset set to 3×32×32 and 10 classes, pad-and-crop and
  flip) on its DataLoader path (`fast_path=False`);
- the engine on its tensor-resident fast path (the dataset decoded once onto the device);
- a plain PyTorch loop on the same uint8 tensors the fast path holds: a permutation, pad-and-crop
  and flip by indexing, normalise, the same compiled module, memory format and AMP, SGD.
Prints the training images/s of each (median over rounds of the median of the epochs after the
first) and the ratios (median over rounds of each round's ratio): `ratio engine/plain`,
`ratio fast-path/plain` (the DataLoader script) and `ratio fast-path/plain-loop` with "met" or
"NOT met" (target ≥ 0.98: the engine's own work costs no more than 2 % of a plain loop's step).

`--clock cpu` counts this process's CPU seconds instead of wall seconds (one thread and
`--workers 0` only): on a machine shared with other jobs the wall clock measures their load too.

    python bench/train_pipeline.py [--model lenet5 resnet20_cifar] [--device cuda]
        [--images 2000] [--epochs 3] [--rounds 2] [--workers 8] [--threads 1] [--clock cpu]
        [--contiguous]
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
import torch.nn.functional as F
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designer.core.compile import compile_graph, output_nodes  # noqa: E402
from designer.core.presets import load_design  # noqa: E402
from designer.train.config import TrainConfig  # noqa: E402
from designer.train.data import STATS, build_data  # noqa: E402
from designer.train.fastpath import decode_all  # noqa: E402
from designer.train.loop import Trainer  # noqa: E402

CLASSES = 10
IMAGENET_MEAN, IMAGENET_STD = STATS["imagefolder"]    # what the engine normalises an ImageFolder by
TARGET = 0.98                                         # fast path / plain loop
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


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


def engine_rates(root, args, device, fast_path, model):
    config = TrainConfig(dataset="imagefolder", data_dir=str(root), epochs=args.epochs,
                         batch_size=args.batch_size, lr=0.05, schedule="constant", crop="pad",
                         flip=True, device=device, workers=args.workers, fast_path=fast_path,
                         threads=args.threads, channels_last=not args.contiguous,
                         out=str(root / "runs" / time.strftime("%H%M%S%f")))
    rates = []
    trainer = Trainer(preset_graph(model), config)
    trainer.clock = CLOCKS[args.clock]
    for event in trainer.run():
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


def plain_rates(root, args, device, model):
    cuda = device == "cuda"
    augment = transforms.Compose([
        transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
        transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))])
    data = torchvision.datasets.ImageFolder(root / "train", transform=augment)
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch_size, shuffle=True,
                                         num_workers=args.workers, pin_memory=cuda, drop_last=True,
                                         persistent_workers=args.workers > 0)
    memory_format = memory_format_of(args)
    net = plain_model(model).to(device, memory_format=memory_format)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    criterion = nn.CrossEntropyLoss()
    clock = CLOCKS[args.clock]
    rates = []
    for _ in range(args.epochs):
        net.train()
        count, start = 0, clock()
        for images, labels in loader:
            images = images.to(device, non_blocking=True, memory_format=memory_format)
            labels = labels.to(device, non_blocking=True)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
                outputs = net(images)
                main = outputs[0] if isinstance(outputs, (tuple, list)) else outputs
                loss = criterion(main.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            count += len(labels)
        if cuda:
            torch.cuda.synchronize()
        rates.append(count / (clock() - start))
    return rates


def memory_format_of(args):
    """The engine's memory format (its channels_last setting), for the plain runs too."""
    return torch.contiguous_format if args.contiguous else torch.channels_last


def decoded_tensors(root):
    """The training images as the fast path holds them: uint8 (N, 3, 32, 32) and labels."""
    config = TrainConfig(dataset="imagefolder", data_dir=str(root))
    return decode_all(build_data(config, (3, 32, 32)).train)


def plain_loop_rates(tensors, args, device, model):
    """A plain PyTorch loop on the fast path's uint8 tensors, on the device: each epoch a
    permutation; per batch pad-and-crop (4 pixels) and flip by indexing, ToDtype and Normalize's
    arithmetic, then forward, cross-entropy, backward and SGD, in the engine's memory format."""
    cuda = device == "cuda"
    memory_format = memory_format_of(args)
    images, labels = (t.to(device) for t in tensors)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    net = compile_graph(preset_graph(model)).to(device, memory_format=memory_format)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    criterion = nn.CrossEntropyLoss()
    clock, batch, pad = CLOCKS[args.clock], args.batch_size, 4
    steps = torch.arange(32, device=device)
    rates = []
    for _ in range(args.epochs):
        net.train()
        order = torch.randperm(len(labels), device=device)
        count, start = 0, clock()
        for first in range(0, len(labels) - batch + 1, batch):
            pick = order[first:first + batch]
            padded = F.pad(images[pick], (pad, pad, pad, pad))
            shift = torch.randint(0, 2 * pad + 1, (2, batch, 1), device=device)
            rows, cols = steps + shift[0], steps + shift[1]
            cols = torch.where(torch.rand(batch, 1, device=device) < 0.5, cols.flip(1), cols)
            every = torch.arange(batch, device=device)[:, None, None]
            crops = padded.permute(0, 2, 3, 1)[every, rows[:, :, None], cols[:, None, :]]
            x = ((crops.float() / 255 - mean.view(1, 1, 1, 3)) / std.view(1, 1, 1, 3))
            x = x.permute(0, 3, 1, 2).contiguous(memory_format=memory_format)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
                loss = criterion(net(x).float(), labels[pick])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            count += batch
        if cuda:
            torch.cuda.synchronize()
        rates.append(count / (clock() - start))
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", default=["lenet5", "resnet20_cifar"],
                        help="preset names (default lenet5 resnet20_cifar)")
    parser.add_argument("--device", choices=("cpu", "cuda"),
                        default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch's intra-op threads, for all (default 1)")
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="wall",
                        help="wall seconds, or this process's CPU seconds (one thread, no "
                             "loader workers)")
    parser.add_argument("--contiguous", action="store_true",
                        help="every run in the contiguous memory format (the engine with "
                             "channels_last off); default channels-last, the engine's default")
    args = parser.parse_args()
    if args.clock == "cpu" and (args.threads != 1 or args.workers or args.device != "cpu"):
        parser.error("--clock cpu counts one process's CPU time: it needs --threads 1, "
                     "--workers 0 and --device cpu")
    torch.set_num_threads(args.threads)
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_image_folder(root, args.images)
        tensors = decoded_tensors(root)
        results = {model: measure(root, tensors, args, model) for model in args.model}
    print(f"device {args.device}, {args.threads} thread(s), {args.images} images 3×32×32, batch "
          f"{args.batch_size}, {args.workers} loader workers, {args.epochs} epochs × {args.rounds} "
          f"interleaved rounds, {args.clock} clock, "
          f"{'contiguous' if args.contiguous else 'channels-last'} (medians; the first epoch "
          "of each run untimed)")
    for model, rates in results.items():
        report(model, rates)


def measure(root, tensors, args, model):
    """{run name: the median images/s of its timed epochs, one per round}."""
    runs = {"plain": lambda: plain_rates(root, args, args.device, model),
            "engine": lambda: engine_rates(root, args, args.device, False, model),
            "fast-path": lambda: engine_rates(root, args, args.device, True, model),
            "plain-loop": lambda: plain_loop_rates(tensors, args, args.device, model)}
    rates = {name: [] for name in runs}
    names = list(runs)
    for round_index in range(args.rounds):
        turn = round_index % len(names)
        for name in names[turn:] + names[:turn]:
            rates[name].append(statistics.median(runs[name]()[1:]))
    return rates


def report(model, rates):
    median = {name: statistics.median(values) for name, values in rates.items()}

    def ratio(name, against):
        """The median over rounds of the round's ratio: paired, so slow drift in the machine's
        load (other processes) cancels out."""
        return statistics.median(a / b for a, b in zip(rates[name], rates[against]))

    print(f"model {model}")
    print(f"  plain script (torchvision DataLoader)  {median['plain']:8.1f} images/s")
    print(f"  engine, DataLoader path                {median['engine']:8.1f} images/s")
    print(f"  engine, fast path                      {median['fast-path']:8.1f} images/s")
    print(f"  plain loop on the same uint8 tensors   {median['plain-loop']:8.1f} images/s")
    for name, values in rates.items():
        print(f"    {name:10s} per round: " + "  ".join(f"{rate:7.1f}" for rate in values))
    print(f"  ratio engine/plain {ratio('engine', 'plain'):.3f}")
    print(f"  ratio fast-path/plain {ratio('fast-path', 'plain'):.3f}")
    loop = ratio("fast-path", "plain-loop")
    print(f"  ratio fast-path/plain-loop {loop:.3f} (target ≥ {TARGET}: "
          f"{'met' if loop >= TARGET else 'NOT met'})")

if __name__ == "__main__":
    main()
