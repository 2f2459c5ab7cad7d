"""The issue's compression bars on the bundled digits, measured in one run (CPU, offline).

Trains LeNet-5 (the teacher, 1×32×32 in) and reports validation top-1 error and weight bytes for
  int8 static quantisation (bar: ≤ 1 point, weights ≥ 3.5× smaller),
  L1 pruning of half the filters + 3 fine-tune epochs (bar: ≤ 2 points),
  SVD of the fully connected layers at 90 % energy (bar: fewer FC parameters, ≤ 2 points),
and knowledge distillation: the small `reactor_digits` CNN (1,392 parameters, 8×8 in) trained
alone and distilled from the teacher (T = 2, α = 0.5) with the same epochs, learning rate and
seeds 0, 1, 2.

    python bench/compress_digits.py [--teacher-epochs 8] [--student-epochs 6]
"""

import argparse
import statistics
import tempfile
import warnings
from pathlib import Path

import torch

from designer.compress.distill import DistillationLoss
from designer.compress.factorize import factorize
from designer.compress.measure import (calibration_batches, load_model, model_bytes, save_state,
                                       top1_error, validation_data)
from designer.compress.prune import prune_structured
from designer.compress.quantize import quantize_static
from designer.core.presets import load_design
from designer.train.config import TrainConfig
from designer.train.loop import Trainer

warnings.filterwarnings("ignore")


def fit(graph, folder, epochs, seed=0, weights=None, loss=None, lr=0.05):
    config = TrainConfig(epochs=epochs, batch_size=32, lr=lr, seed=seed, out=str(folder))
    trainer = Trainer(graph, config, weights=weights, loss=loss)
    for event in trainer.run():
        if event.kind == "finished" and event.status != "completed":
            raise SystemExit(event.message)
    return {k: v.detach().cpu() for k, v in trainer.model.state_dict().items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher-epochs", type=int, default=8)
    parser.add_argument("--student-epochs", type=int, default=6)
    args = parser.parse_args()
    torch.set_num_threads(1)
    root = Path(tempfile.mkdtemp(prefix="compress-digits-"))
    lenet = load_design("lenet5")
    teacher_state = fit(lenet, root / "teacher", args.teacher_epochs)
    teacher = load_model(lenet, teacher_state)
    loader = validation_data("digits", lenet)
    base = top1_error(teacher, loader)
    print(f"LeNet-5 on digits, {args.teacher_epochs} epochs: val top-1 error {base:.2%}, "
          f"{model_bytes(teacher):,} bytes")

    int8 = quantize_static(teacher, calibration_batches("digits", lenet, 10))
    print(f"int8 static:        error {top1_error(int8, loader):.2%} "
          f"({(top1_error(int8, loader) - base) * 100:+.2f} points), bytes ×"
          f"{model_bytes(teacher) / model_bytes(int8):.2f} smaller")

    pruned = prune_structured(lenet, teacher_state, "l1", 0.5)
    save_state(pruned.state_dict, root / "pruned.pt")
    no_tune = top1_error(load_model(pruned.graph, pruned.state_dict), loader)
    tuned_state = fit(pruned.graph, root / "finetune", 3, weights=str(root / "pruned.pt"), lr=0.01)
    tuned = top1_error(load_model(pruned.graph, tuned_state), loader)
    params = sum(p.numel() for p in load_model(pruned.graph, tuned_state).parameters())
    print(f"L1 prune 50 %:      error {no_tune:.2%} before fine-tuning, {tuned:.2%} after 3 "
          f"epochs ({(tuned - base) * 100:+.2f} points); {params:,} parameters")

    svd = factorize(lenet, teacher_state, energy=0.9, layers=["f6", "f7"])
    svd_error = top1_error(load_model(svd.graph, svd.state_dict), loader)
    before = sum(r["params_before"] for r in svd.layers)
    after = sum(r["params_after"] for r in svd.layers)
    ranks = ", ".join(f"{r['layer']} rank {r['rank']}/{r['full_rank']}" for r in svd.layers)
    print(f"SVD FC 90 % energy: error {svd_error:.2%} ({(svd_error - base) * 100:+.2f} points); "
          f"FC weights {before:,} → {after:,} ({ranks})")

    student = load_design("reactor_digits")
    alone, distilled = [], []
    for seed in (0, 1, 2):
        state = fit(student, root / f"alone{seed}", args.student_epochs, seed)
        alone.append(top1_error(load_model(student, state), validation_data("digits", student)))
        loss = DistillationLoss(teacher, 2.0, 0.5, teacher_shape=(1, 32, 32))
        state = fit(student, root / f"distil{seed}", args.student_epochs, seed, loss=loss)
        distilled.append(top1_error(load_model(student, state), validation_data("digits", student)))
    print(f"distillation ({args.student_epochs} epochs, seeds 0-2): student alone "
          f"{', '.join(f'{e:.2%}' for e in alone)} (mean {statistics.mean(alone):.2%}); "
          f"distilled {', '.join(f'{e:.2%}' for e in distilled)} (mean "
          f"{statistics.mean(distilled):.2%})")


if __name__ == "__main__":
    main()
