"""The `designer train` verb: train a design or preset headless, with a progress bar on a terminal
or one JSON object per epoch (`--json`). Under `torchrun --nproc_per_node=N -m designer train ...`
every process trains its share (DistributedDataParallel); rank 0 prints and writes the run folder.
`--resume RUN_DIR` continues a run with its saved settings (options given again override them);
with `--epochs N` above the epochs it has trained it extends a finished run to N in total;
`--resume auto` continues the run folder's last checkpoint when there is one and starts fresh
otherwise (what `torchrun --max-restarts=N` needs). `--out` naming a folder that holds another run
is refused unless `--force`. `--dist-timeout S` bounds each collective under torchrun.
"""

import json
import os
import sys
import time


AUTO = "auto"


def _resume_target(args, graph):
    """What `--resume` continues: the run folder or checkpoint given; for `auto` the run folder
    when it holds a last.pt (the --out folder, or without --out the newest unfinished run of this
    design and dataset in the runs folder), else None: a fresh run."""
    from pathlib import Path
    from designer.core.fileformat import design_hash
    from designer.home import runs_root
    from designer.train.config import TrainConfig
    from designer.train.runs import latest_unfinished
    if args.resume != AUTO:
        return args.resume
    if getattr(args, "out", None) is not None:
        return args.out if (Path(args.out) / "last.pt").is_file() else None
    dataset = TrainConfig.SETTINGS.given(args).get("dataset", TrainConfig().dataset)
    found = latest_unfinished(runs_root(), design_hash(graph), dataset)
    return str(found) if found else None


def _config(args, resume):
    """The run's TrainConfig: a resumed run's saved settings (or the defaults), then every
    setting given on the command line."""
    from designer.train.config import TrainConfig
    from designer.train.loop import load_checkpoint
    from designer.train.runs import checkpoint_folder
    values = {}
    if resume:
        checkpoint = load_checkpoint(resume)
        values = dict(checkpoint["config"])
        if getattr(args, "out", None) is None:
            values["out"] = str(checkpoint_folder(resume))
    values.update(TrainConfig.SETTINGS.given(args))
    return TrainConfig.from_dict(values).validate()


class ProgressBar:
    """One line on stderr, redrawn at most 10 times a second; silent when stderr is not a tty."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.last = 0.0

    def update(self, event, force=False):
        now = time.monotonic()
        if not self.enabled or (not force and now - self.last < 0.1):
            return
        self.last = now
        width = 30
        done = int(event.progress * width)
        bar = "█" * done + "·" * (width - done)
        self.stream.write(f"\r[{bar}] {event.progress:6.1%}  epoch {event.epoch}  step "
                          f"{event.step}  loss {event.loss:.4f}  {event.images_per_s:,.0f} "
                          f"img/s  ETA {_duration(event.eta_s)}  ")
        self.stream.flush()

    def clear(self):
        if self.enabled:
            self.stream.write("\r" + " " * 110 + "\r")
            self.stream.flush()


def _duration(seconds):
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _run(args):
    # torch is imported here, not at module import, so `designer --help` stays quick.
    from designer.arguments import load_for_cli
    from designer.train.events import Epoch, Finished, Message, Start, Step
    from designer.train.config import TrainConfig
    from designer.train.loop import Trainer
    graph = load_for_cli(args.design, args.input)
    resume = _resume_target(args, graph)
    config = _config(args, resume)
    given = TrainConfig.SETTINGS.given(args)
    rank = int(os.environ.get("RANK", "0"))
    # `--resume auto` with nothing to resume starts afresh, over a run that died before its
    # first checkpoint (its curves and settings only) when --out holds one.
    overwrite = args.force or (args.resume == AUTO and resume is None)
    from designer.compress.distill import distillation_from
    from designer.train.config import START_SETTINGS
    start = START_SETTINGS.check(START_SETTINGS.given(args))
    trainer = Trainer(graph, config, weights=start.weights, resume=resume,
                      loss=distillation_from(graph, start), overwrite=overwrite,
                      dist_timeout=args.dist_timeout, pretrained=start.pretrained,
                      design=args.design)
    bar = ProgressBar()
    finished = None
    try:
        for event in trainer.run():
            if rank != 0:      # rank 0 prints; another rank only why it failed (rank 0 lost)
                if isinstance(event, Finished):
                    finished = event
                    if event.status == "failed":
                        print(f"rank {rank}: {event.message}", file=sys.stderr, flush=True)
                continue
            if isinstance(event, Start):
                # A design named for MNIST still trains on digits unless told otherwise.
                default = (" (the default; --dataset picks another)"
                           if resume is None and "dataset" not in given else "")
                if args.json and default:
                    print(f"dataset: {event.dataset}{default}", file=sys.stderr, flush=True)
                elif not args.json:
                    resumed = (f", resuming after epoch {event.resumed_epoch}"
                               if event.resumed_epoch else "")
                    print(f"training {graph.name} on {event.dataset}{default} "
                          f"({event.train_size:,} train / {event.val_size:,} val images, "
                          f"{event.classes} classes) on {event.device}"
                          f"{' ×' + str(event.world_size) if event.world_size > 1 else ''}"
                          f"{resumed}; run folder {event.run_dir}", flush=True)
            elif isinstance(event, Message):
                bar.clear()
                print(event.text, file=sys.stderr if args.json else sys.stdout, flush=True)
            elif isinstance(event, Step) and not args.json:
                bar.update(event)
            elif isinstance(event, Epoch):
                bar.clear()
                if args.json:
                    print(json.dumps(event.metrics()), flush=True)
                else:
                    print(f"epoch {event.epoch:>3}/{config.epochs}  train loss "
                          f"{event.train_loss:.4f}  val loss {event.val_loss:.4f}  top-1 "
                          f"error {event.val_top1_error:.2%}  top-5 error "
                          f"{event.val_top5_error:.2%}  {event.images_per_s:,.0f} img/s"
                          f"{'  (best)' if event.best else ''}", flush=True)
            elif isinstance(event, Finished):
                bar.clear()
                finished = event
                print(event.message, file=sys.stderr if args.json else sys.stdout, flush=True)
    except KeyboardInterrupt:
        bar.clear()
        print(f"interrupted; {trainer._kept_sentence() if trainer.run_dir else ''}",
              file=sys.stderr)
        return 130
    return 0 if finished and finished.status == "completed" else 1


# The arguments of `designer train` that are not settings (the Train panel has none of them:
# the design is the open one, its input is edited on the canvas, a run resumes from the runs
# list and the panel plots what --json prints).
RUN_ARGUMENTS = ("design", "--input", "--resume", "--force", "--json", "--dist-timeout")


def _seconds(text):
    import argparse
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def add_parser(subparsers):
    from designer.arguments import parse_shape
    from designer.train.config import TRAIN_SETTINGS
    p = subparsers.add_parser(
        "train", help="train a design on a dataset (headless)",
        description="Train a design or preset. Writes last.pt/best.pt checkpoints, metrics.csv and "
                    "steps.csv into the run folder. Multi-GPU: torchrun --nproc_per_node=N -m "
                    "designer train ... (the batch size is per process). Every setting below is "
                    "also a row of the Train panel's form.",
        argument_default=None)
    p.add_argument("design", help="a design file (.json) or a preset name")
    p.add_argument("--input", type=parse_shape, metavar="CxHxW",
                   help="override the design's input shape")
    p.add_argument("--resume", metavar="RUN_DIR_OR_CHECKPOINT",
                   help="continue a run of this design with its saved settings (settings given "
                        "here override them); with --epochs N above the epochs it has trained, "
                        "extend it (a finished run too) to N epochs in total, its metrics.csv "
                        "and steps.csv continuing. An extended cosine or one-cycle schedule "
                        "follows a run planned for N epochs: the learning rate jumps to that "
                        "schedule's value at the epoch reached and decays to the new end. "
                        "'auto': continue the run folder (--out, or the newest unfinished run "
                        "of this design and dataset) from its last.pt when it has one, else "
                        "start afresh (what a job torchrun restarts needs)")
    p.add_argument("--force", action="store_true",
                   help="when --out names a folder that holds another run, replace that run "
                        "(its checkpoints, curves and settings are removed first) instead of "
                        "refusing")
    p.add_argument("--json", action="store_true", help="print one JSON object per epoch")
    p.add_argument("--dist-timeout", type=_seconds, metavar="S",
                   help="under torchrun: seconds a process waits for the others in each "
                        "collective before the run fails with a sentence naming the lost rank "
                        "(torch's default: 30 minutes on gloo, 10 on nccl)")
    TRAIN_SETTINGS.add_arguments(p)
    p.set_defaults(run=_run)
    return p
