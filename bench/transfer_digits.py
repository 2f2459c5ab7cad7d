"""Transfer learning on the bundled digits, measured (CPU, offline, a minute or two).

Pretrains a design on the digits 0–4, then trains it on the digits 5–9 three ways, each with a new
head (`--new-head`: the classifier gets the 5 new classes and fresh weights) and the same epochs,
learning rate and seeds:
  from scratch      no pretrained weights;
  frozen features   the pretrained weights, the convolutions frozen (`--freeze`);
  full fine-tune    the pretrained weights, every layer training.
Prints the validation top-1 error on 5–9 after the last epoch, the mean over the seeds (and each
seed's), as the Markdown table README quotes. Every run goes through the training engine, as
`designer train DESIGN --classes 5-9 --new-head --weights PRETRAINED [--freeze ...]` would.

    python bench/transfer_digits.py [--design lenet5] [--pretrain-epochs 15] [--epochs 6]
                                    [--seeds 0 1 2] [--train-share 1.0]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from designer.core.presets import load_design
from designer.train.config import TrainConfig
from designer.train.loop import train


def convolutions(graph):
    """The node ids of the design's convolutions (the features a fine-tune keeps)."""
    return tuple(nid for nid, node in graph.nodes.items()
                 if "out_channels" in node.spec.param_map and "kernel" in node.spec.param_map)


def last_error(graph, config, weights=None):
    epochs, finished = train(graph, config, weights=weights)
    if finished.status != "completed":
        raise SystemExit(f"a run failed: {finished.message}")
    return epochs[-1].val_top1_error


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--design", default="lenet5")
    parser.add_argument("--pretrain-epochs", type=int, default=15)
    parser.add_argument("--epochs", type=int, default=6, help="fine-tune epochs")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)
    began = time.perf_counter()
    graph = load_design(args.design)
    frozen = convolutions(graph)
    common = dict(batch_size=64, lr=args.lr, device="cpu", threads=1, new_head=True)
    rows = {"from scratch": [], "frozen features": [], "full fine-tune": []}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for seed in args.seeds:
            pretrained = folder / f"pre{seed}"
            pre_error = last_error(graph, TrainConfig(**common, epochs=args.pretrain_epochs,
                                                      classes="0-4", seed=seed,
                                                      out=str(pretrained)))
            print(f"seed {seed}: pretrained on 0–4 for {args.pretrain_epochs} epochs, "
                  f"validation error on 0–4 {pre_error:.2%}", flush=True)
            fine = dict(common, epochs=args.epochs, classes="5-9", seed=seed)
            rows["from scratch"].append(last_error(
                graph, TrainConfig(**fine, out=str(folder / f"scratch{seed}"))))
            rows["frozen features"].append(last_error(
                graph, TrainConfig(**fine, freeze=frozen, out=str(folder / f"frozen{seed}")),
                weights=pretrained))
            rows["full fine-tune"].append(last_error(
                graph, TrainConfig(**fine, out=str(folder / f"full{seed}")), weights=pretrained))
    print(f"\n{args.design} on the digits 5–9 after {args.epochs} epochs (lr {args.lr}, batch 64, "
          f"new head; frozen: {', '.join(frozen)}); validation top-1 error, mean of seeds "
          f"{', '.join(map(str, args.seeds))}:\n")
    print("| start | trained | top-1 error (mean) | per seed |")
    print("|---|---|---|---|")
    trained = {"from scratch": "every layer", "frozen features": "the new head and the "
               "fully connected layers", "full fine-tune": "every layer"}
    for name, errors in rows.items():
        start = "random weights" if name == "from scratch" else "pretrained on 0–4"
        print(f"| {name} ({start}) | {trained[name]} | {statistics.mean(errors):.2%} | "
              + ", ".join(f"{e:.2%}" for e in errors) + " |")
    print(f"\n({time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
