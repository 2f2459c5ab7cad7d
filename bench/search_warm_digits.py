"""What `designer sweep --warm-start` saves, measured on the bundled digits: the same grid search
run twice, from scratch and with warm starts, the figures README quotes.

The search: reactor_digits with conv1's filters 2/4/8 and fc1's width 16/32/64 (a 3×3 grid, the
points in the same seeded order both times), EPOCHS epochs a trial, no pruning, one thread. With
warm starts a trial whose design widens an earlier complete trial's starts from that parent's
best weights grown keeping their function (designer.search.warm); its twin is the trial of the
same number (the same design and settings) in the search from scratch. For each warm trial the
script prints its validation error before training (its parent's, if the function was kept), its
errors per epoch beside its twin's, and the epochs each needs to reach the twin's best error and
the error the warm trial starts at.

    python bench/search_warm_digits.py [OUT]    # OUT keeps both sweep folders (default: temp)
"""

import csv
import sys
import tempfile
from pathlib import Path

import torch

from designer.compress.measure import load_model, top1_error, validation_data
from designer.core import fileformat
from designer.search.study import make_sweep
from designer.search.warm import WARM_WEIGHTS
from designer.speed.sweep import parse_param
from designer.weights import read_state_dict

EPOCHS = 8
PARAMS = ("conv1.out_channels=2,4,8", "fc1.out_features=16,32,64")


def search(out, warm):
    sweep = make_sweep("reactor_digits", params=[parse_param(p) for p in PARAMS],
                       warm_start=warm, pruner="none", dataset="digits", epochs=EPOCHS,
                       threads=1, latency=False, out=out, train_settings={"batch_size": 64})
    list(sweep.run())
    return {t["number"]: t for t in sweep.result()["trials"]}


def errors_per_epoch(run_dir):
    with open(Path(run_dir) / "metrics.csv", newline="") as handle:
        return [float(row["val_top1_error"]) for row in csv.DictReader(handle)]


def first_epoch_within(errors, target, start=None):
    """The first epoch whose error is within `target` (0: the start already is), or None."""
    if start is not None and start <= target + 1e-12:
        return 0
    return next((i + 1 for i, e in enumerate(errors) if e <= target + 1e-12), None)


def percent(errors):
    return " ".join(f"{e:.2%}" for e in errors)


def main(root):
    cold = search(root / "scratch", warm=False)
    warm = search(root / "warm", warm=True)
    loader = None
    reached, compared, cold_sum, warm_sum = 0, 0, 0, 0
    print(f"grid {', '.join(PARAMS)}; {EPOCHS} epochs a trial, batch 64, one thread")
    for number in sorted(warm):
        t, twin = warm[number], cold[number]
        assert t["settings"] == twin["settings"], "the two searches sampled different points"
        settings = ", ".join(f"{k.split('.')[0]} {v}" for k, v in t["settings"].items())
        if t["parent"] is None:
            print(f"trial {number} ({settings}): no parent, from scratch: best "
                  f"{t['val_top1_error']:.2%} (its twin {twin['val_top1_error']:.2%})")
            continue
        graph = fileformat.load(t["design"])
        loader = loader or validation_data("digits", graph)
        start = top1_error(load_model(graph, read_state_dict(Path(t["run_dir"]) / WARM_WEIGHTS)),
                           loader)
        parent = warm[t["parent"]]
        warm_errors, cold_errors = errors_per_epoch(t["run_dir"]), errors_per_epoch(twin["run_dir"])
        goal = min(cold_errors)
        cold_epochs = first_epoch_within(cold_errors, goal)
        warm_epochs = first_epoch_within(warm_errors, goal, start)
        print(f"trial {number} ({settings}) {t['warm_start']}; before training "
              f"{start:.2%} (the parent's best: {parent['val_top1_error']:.2%})")
        print(f"  warm:         {percent(warm_errors)}")
        print(f"  from scratch: {percent(cold_errors)}")
        shown = f"not within {EPOCHS}" if warm_epochs is None else str(warm_epochs)
        print(f"  epochs to {goal:.2%} (the scratch twin's best): from scratch {cold_epochs}, "
              f"warm {shown}")
        to_start = first_epoch_within(cold_errors, start)
        print(f"  epochs to {start:.2%} (where the warm trial starts): from scratch "
              f"{f'not within {EPOCHS}' if to_start is None else to_start}, warm 0")
        compared += 1
        if warm_epochs is not None:
            reached += 1
            cold_sum += cold_epochs
            warm_sum += warm_epochs
    best = {name: min(t["val_top1_error"] for t in trials.values())
            for name, trials in (("scratch", cold), ("warm", warm))}
    print(f"{compared} warm trial(s), {reached} reached their twin's best within {EPOCHS} "
          f"epochs; epochs to get there, summed over those: from scratch {cold_sum}, warm "
          f"{warm_sum}")
    print(f"best trial error: from scratch {best['scratch']:.2%}, with warm starts "
          f"{best['warm']:.2%}")


if __name__ == "__main__":
    given = sys.argv[1:]
    root = Path(given[0]) if given else Path(tempfile.mkdtemp())
    root.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    main(root)
