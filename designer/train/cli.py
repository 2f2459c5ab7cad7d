"""The `designer train` verb: train a design or preset headless, with a progress bar on a terminal
or one JSON object per epoch (`--json`). Under `torchrun --nproc_per_node=N -m designer train ...`
every process trains its share (DistributedDataParallel) and rank 0 prints and writes the run folder.
`--resume RUN_DIR` continues a run with its saved settings (options given again override them).
"""

import argparse
import json
import os
import sys
import time

# CLI option -> TrainConfig field, for the options that map one to one.
_FIELDS = ("dataset", "data_dir", "epochs", "batch_size", "lr", "optimizer", "momentum",
           "nesterov", "weight_decay", "schedule", "warmup_epochs", "step_size", "gamma",
           "patience", "grad_clip", "label_smoothing", "crop", "crop_padding", "flip",
           "scale_jitter", "pca_lighting", "eval_crop", "device", "amp", "channels_last",
           "compile", "seed", "deterministic", "workers", "log_every", "out", "val_fraction",
           "download", "fast_path", "fast_path_budget_mb")


def _config(args):
    from designer.train.config import TrainConfig
    from designer.train.loop import load_checkpoint
    values = {}
    if args.resume:
        checkpoint = load_checkpoint(args.resume)
        values = dict(checkpoint["config"])
        if getattr(args, "out", None) is None:
            values["out"] = str(args.resume if os.path.isdir(args.resume)
                                else os.path.dirname(os.path.abspath(args.resume)))
    for name in _FIELDS:
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
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
    from designer.train.loop import Trainer
    graph = load_for_cli(args.design, args.input)
    config = _config(args)
    rank0 = int(os.environ.get("RANK", "0")) == 0
    from designer.compress.cli import distillation_loss_from_args
    trainer = Trainer(graph, config, weights=args.weights, resume=args.resume,
                      loss=distillation_loss_from_args(args, graph))
    bar = ProgressBar()
    finished = None
    try:
        for event in trainer.run():
            if not rank0:
                finished = event if isinstance(event, Finished) else finished
                continue
            if isinstance(event, Start):
                if not args.json:
                    resumed = (f", resuming after epoch {event.resumed_epoch}"
                               if event.resumed_epoch else "")
                    print(f"training {graph.name} on {event.dataset} ({event.train_size:,} "
                          f"train / {event.val_size:,} val images, {event.classes} classes) "
                          f"on {event.device}"
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


def add_parser(subparsers):
    from designer.arguments import parse_shape
    from designer.train.config import CROPS, DATASETS, DEVICES, EVAL_CROPS, OPTIMIZERS, SCHEDULES
    p = subparsers.add_parser(
        "train", help="train a design on a dataset (headless)",
        description="Train a design or preset. Writes last.pt/best.pt checkpoints, metrics.csv and "
                    "steps.csv into the run folder. Multi-GPU: torchrun --nproc_per_node=N -m "
                    "designer train ... (the batch size is per process).",
        argument_default=None)
    p.add_argument("design", help="a design file (.json) or a preset name")
    p.add_argument("--dataset", choices=DATASETS, help="digits (built in, offline; default), "
                   "mnist, fashion_mnist, cifar10, cifar100 or imagefolder")
    p.add_argument("--data-dir", metavar="DIR", help="where the dataset files are (or go)")
    p.add_argument("--no-download", dest="download", action="store_false", default=None,
                   help="never download; read the dataset from --data-dir only")
    p.add_argument("--val-fraction", type=float, help="held-out share for digits and ImageFolder "
                   "trees without val/ (default 0.2)")
    p.add_argument("--input", type=parse_shape, metavar="CxHxW",
                   help="override the design's input shape")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="(peak) learning rate")
    p.add_argument("--optimizer", choices=OPTIMIZERS)
    p.add_argument("--momentum", type=float)
    p.add_argument("--nesterov", action="store_true", default=None)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--schedule", choices=SCHEDULES)
    p.add_argument("--warmup-epochs", type=float)
    p.add_argument("--step-size", type=int, help="step schedule: epochs between decays")
    p.add_argument("--gamma", type=float, help="step and plateau schedules: decay factor")
    p.add_argument("--patience", type=int, help="plateau schedule: epochs without improvement")
    p.add_argument("--grad-clip", type=float, metavar="NORM", help="clip the gradient norm")
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--crop", choices=CROPS, help="training crop: pad (pad-and-crop), resized "
                   "(random-resized crop), none, or auto (by dataset)")
    p.add_argument("--crop-padding", type=int)
    p.add_argument("--flip", dest="flip", action="store_true", default=None)
    p.add_argument("--no-flip", dest="flip", action="store_false")
    p.add_argument("--scale-jitter", type=float, metavar="X", help="resize by a random factor "
                   "in [1, 1+X] before cropping")
    p.add_argument("--pca-lighting", type=float, metavar="STD", help="AlexNet colour lighting")
    p.add_argument("--eval-crop", choices=EVAL_CROPS, help="centre crop or 10-crop evaluation")
    p.add_argument("--device", choices=DEVICES)
    p.add_argument("--no-amp", dest="amp", action="store_false", default=None)
    p.add_argument("--no-channels-last", dest="channels_last", action="store_false", default=None)
    p.add_argument("--compile", action="store_true", default=None, help="use torch.compile")
    p.add_argument("--seed", type=int)
    p.add_argument("--deterministic", action="store_true", default=None)
    p.add_argument("--workers", type=int, help="data loader processes")
    p.add_argument("--no-fast-path", dest="fast_path", action="store_false", default=None,
                   help="always read data through a DataLoader, even when the dataset fits in "
                   "memory (by default it is held on the device as one uint8 tensor)")
    p.add_argument("--fast-path-budget", dest="fast_path_budget_mb", type=float, metavar="MB",
                   help="memory the fast path may use (default: a quarter of the device's free "
                   "memory)")
    p.add_argument("--log-every", type=int, help="steps between loss readings on the GPU")
    p.add_argument("--out", metavar="RUN_DIR", help="the run folder (default: NAME_DATASET_TIME in $CNN_DESIGNER_RUNS, else in the runs folder of the user data folder, as the editor does)")
    p.add_argument("--weights", metavar="PATH", help="start from these weights (a state_dict or "
                   "a checkpoint)")
    p.add_argument("--resume", metavar="RUN_DIR_OR_CHECKPOINT", help="continue a run")
    p.add_argument("--json", action="store_true", help="print one JSON object per epoch")
    from designer.compress.cli import add_distillation_arguments
    add_distillation_arguments(p)
    p.set_defaults(run=_run)
    return p
