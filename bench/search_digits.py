"""A worked structure search on the bundled digits, the figures README quotes.

1. The search: reactor_digits with a search space (conv1's filters 2..16, fc1's width 8..64,
   conv2's kernel 3/5/9: a 9×9 kernel does not fit, so those samples are skipped unrun), NSGA-II
   on validation error and latency (measured at batch 1, one thread), under a latency bound.
   Prints each trial and the front.
2. What a warm start saves: reactor_digits trained, then widened (conv1 4→8, conv2 6→12,
   fc1 32→64) keeping its function (designer.search.grow), fine-tuned; against the same wide
   design trained from scratch: epochs until each reaches the error the scratch run ends with.

    python bench/search_digits.py [OUT]      # OUT keeps the sweep folder (default: a temp dir)
"""

import json
import sys
import tempfile
from pathlib import Path

import torch

from designer.core import fileformat, space
from designer.core.presets import load_design
from designer.search.grow import widen
from designer.search.study import make_sweep
from designer.train.config import TrainConfig
from designer.train.events import Epoch
from designer.train.loop import Trainer

EPOCHS = 8
WARM_LR = 0.02
BOUND = "latency<=0.1ms"


def spaced_design(path):
    graph = load_design("reactor_digits")
    space.SetSearchable(graph, "conv1", "out_channels", space.parse("2:16:2")).redo()
    space.SetSearchable(graph, "fc1", "out_features", space.parse("8,16,32,64")).redo()
    space.SetSearchable(graph, "conv2", "kernel", space.parse("3,5,9")).redo()
    fileformat.save(graph, path)
    return path


def search(out):
    sweep = make_sweep(spaced_design(out / "space.json"), space="design",
                       objective=["error", "latency"], constraint=[BOUND], trials=12,
                       dataset="digits", epochs=EPOCHS, threads=1, out=out / "search",
                       train_settings={"batch_size": 64})
    for event in sweep.run():
        if event["kind"] == "trial":
            t = event["trial"]
            latency = "" if t["latency_ms"] is None else f"{t['latency_ms']:.4f} ms"
            error = "" if t["val_top1_error"] is None else f"{t['val_top1_error']:.2%}"
            print(f"trial {t['number']:2d} {t['state']:8s} {json.dumps(t['settings'])} "
                  f"params {t['total_params'] or '':>5} latency {latency:>10} error {error:>6} "
                  f"{t['message'] or ''}")
    result = sweep.result()
    print(f"front (error vs latency, within {BOUND}): trials {result['front']}")
    (out / "search_result.json").write_text(json.dumps(result, indent=1))
    return result


def errors_per_epoch(graph, out, weights=None, epochs=EPOCHS, lr=0.05):
    config = TrainConfig.from_dict({"dataset": "digits", "epochs": epochs, "seed": 0, "lr": lr,
                                    "batch_size": 64, "threads": 1, "out": str(out)})
    return [e.val_top1_error for e in Trainer(graph, config, weights=weights).run()
            if isinstance(e, Epoch)]


def first_epoch_within(errors, target, start=None):
    """The first epoch whose error is within `target` (0: the start already is), or None."""
    if start is not None and start <= target + 1e-12:
        return 0
    return next((i + 1 for i, e in enumerate(errors) if e <= target + 1e-12), None)


def warm_start(out):
    base = load_design("reactor_digits")
    base_errors = errors_per_epoch(base, out / "base")
    state = torch.load(out / "base" / "last.pt", weights_only=True)["model"]
    grown, grown_state = base.copy(), state
    for node, width in (("conv1", 8), ("conv2", 12), ("fc1", 64)):
        growth = widen(grown, grown_state, node, width, noise=0.05)
        growth.command.redo()
        grown_state = growth.state
    torch.save(grown_state, out / "grown.pt")
    from designer.compress.measure import load_model, top1_error, validation_data
    loader = validation_data("digits", base)
    start = [top1_error(load_model(base, state), loader),
             top1_error(load_model(grown, grown_state), loader)]
    scratch = errors_per_epoch(grown, out / "scratch")
    # fine-tuning goes on at a lower learning rate than a fresh start's (0.05), as Net2Net
    # fine-tunes: the full rate throws away what the parent learnt in the first steps
    warm = errors_per_epoch(grown, out / "warm", weights=out / "grown.pt", lr=WARM_LR)
    print(f"base (reactor_digits) after {EPOCHS} epochs: {base_errors[-1]:.2%} val top-1 error")
    print(f"validation error before any fine-tuning: trained base {start[0]:.2%}, grown wide "
          f"design {start[1]:.2%}")
    print(f"wide design from scratch: {' '.join(f'{e:.2%}' for e in scratch)}")
    print(f"wide design warm-started from the trained base (function kept, lr {WARM_LR}): "
          f"{' '.join(f'{e:.2%}' for e in warm)}")
    def shown(epochs):
        return f"not within {EPOCHS}" if epochs is None else str(epochs)
    for name, goal in (("the scratch run's best", min(scratch)), ("the base's", base_errors[-1])):
        print(f"epochs to {goal:.2%} ({name} error): from scratch "
              f"{shown(first_epoch_within(scratch, goal))}, warm start "
              f"{shown(first_epoch_within(warm, goal, start[1]))}")


if __name__ == "__main__":
    given = [a for a in sys.argv[1:] if not a.startswith("--")]
    root = Path(given[0]) if given else Path(tempfile.mkdtemp())
    root.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    if "--warm-only" not in sys.argv:
        search(root)
    warm_start(root)
