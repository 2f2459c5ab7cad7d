"""The training loop: a generator of events (`designer.train.events`) that a CLI prints and a GUI
worker plots.

`Trainer(graph, config).run()` yields, in order: one "start" event (sizes, device, and on resume
the history so curves continue), "step" events (loss, learning rate, images/s, progress, ETA),
one "epoch" event per epoch (train and validation loss and top-1/top-5 error, LR, throughput,
peak GPU memory), "paused"/"resumed" around a pause, "message" events for notes, and a final
"finished" event whose status is "completed", "stopped" or "failed" (NaN/inf loss naming the step,
CUDA out of memory suggesting a smaller batch). Settings and designs that cannot train raise
`TrainingError` (a design's errors are listed) before the first event.

`TrainControl` is the thread-safe handle a GUI uses to pause, resume and stop between steps.
Every epoch ends with an atomic `last.pt` (and `best.pt` when validation top-1 error improves)
holding the model state under "model", the optimiser, scheduler, scaler, RNG and history; they load
with `torch.load(weights_only=True)`. Each epoch reseeds the RNGs from (seed, epoch), so a resumed
run draws the same batches and augmentations as an uninterrupted one.

Data comes from the tensor-resident fast path (fastpath.py) when the dataset fits its memory
budget, else from DataLoaders; the first "message" event says which. Both give uint8 batches that
are augmented and normalised on the device (augment.py), drawn from a generator seeded per epoch.

Under `torchrun` (WORLD_SIZE > 1) the model is wrapped in DistributedDataParallel, samplers are
distributed, metrics are all-reduced and only rank 0 writes files (and downloads a dataset, the
others waiting at a barrier). Validation is sharded without padding, so its figures equal one
process's. A peer lost mid-run (its process killed, or silent past `dist_timeout` seconds) ends
the run "failed" with a sentence naming the rank, the checkpoint kept and the command resuming it.
"""

import logging
from contextlib import nullcontext
import csv
from datetime import timedelta
import json
import math
import os
from pathlib import Path
import shlex
import time
import warnings

import torch
from torch import fx, nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

from designer.core import atomic, fileformat
from designer.core.atomic import atomic_path
from designer.core.compile import compile_graph, output_nodes
from designer.core.errors import CompileError, DesignError
from designer.core.infer import Analyzer, input_state
from designer.core.memory import check_fits
from designer.core.registry import Role
from designer.home import new_run_dir
from designer.weights import (WeightsError, load_into, load_weights_only, published_source,
                              published_state_dict, read_state_dict)
from .config import DOWNLOADED, TrainConfig
from .control import TrainControl  # noqa: F401  (here too: its old home)
from . import fastpath, runs, threads, transfer
from .data import build_data, data_stats
from .events import METRIC_FIELDS, Epoch, Finished, Message, Paused, Resumed, Start, Step
from .losses import MARGIN, RECONSTRUCTION, margin_loss, output_losses, reconstruction_loss
from .runs import DESIGN_FILE, SETTINGS_FILE

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "cnn-designer-checkpoint"


class TrainingError(DesignError):
    """A design, dataset or setting that cannot start training; the sentence says why."""


def check_design(graph):
    """Raise TrainingError listing the design's errors; return its (C, H, W) input shape."""
    errors = Analyzer(graph).errors()
    if errors:
        listed = "\n".join(f"  {nid}: {text}" for nid, text in errors[:20])
        more = f"\n  (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        raise TrainingError(f"the design has {len(errors)} error(s) and cannot train:\n"
                            f"{listed}{more}")
    inputs = graph.nodes_of_role(Role.INPUT)
    if len(inputs) != 1:
        raise TrainingError(f"training needs exactly one Input node; the design has {len(inputs)}")
    if not output_nodes(graph):
        raise TrainingError("the design has no main Output node to train")
    return tuple(inputs[0].params["shape"])


def output_shapes(graph):
    """The shape arriving at each Output node, in the order the compiled model returns them."""
    results = Analyzer(graph).results
    return [input_state(graph, results, node.id, "in").shape for node in output_nodes(graph)]


def main_output_view(model):
    """A GraphModule returning only the first output of `model`, sharing its submodules, so
    evaluation skips auxiliary heads without a second copy of the weights."""
    out_node = next(n for n in model.graph.nodes if n.op == "output")
    if not isinstance(out_node.args[0], (tuple, list)):
        return model
    graph = fx.Graph()
    values = graph.graph_copy(model.graph, {})
    graph.output(values[0])
    view = fx.GraphModule(model, graph, class_name=type(model).__name__ + "Eval")
    view.graph.eliminate_dead_code()
    view.delete_all_unused_submodules()   # from the view's own containers; `model` keeps them
    view.recompile()
    return view


def to_memory_format(model, memory_format):
    """`model` with its 4-D parameters (convolution weights) in `memory_format`.
    `Module.to(memory_format=...)` refuses a model that also holds a 5-D tensor (CapsNet's
    routing weights), so the others stay as they are."""
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() == 4:
                param.data = param.data.contiguous(memory_format=memory_format)
    return model


def pick_device(name):
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainingError("--device cuda was asked for but PyTorch sees no CUDA GPU")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return torch.device(name)


def build_optimizer(model, config, factors=None):
    """The optimiser over the parameters that train (frozen ones have requires_grad off). Weight
    decay on convolution and linear weights only: biases and norm scales are not decayed. Each
    LR factor (`factors`: module path -> factor) gets groups of its own whose learning rate is
    the run's times it; without factors there are the two groups, decayed and not."""
    grouped = {}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            factor = transfer.factor_of(name, factors or {})
            grouped.setdefault((factor != 1.0, factor, parameter.ndim <= 1), []).append(parameter)
    groups = [{"params": params, "weight_decay": 0.0 if no_decay else config.weight_decay,
               "lr": config.lr * factor, "lr_factor": factor}
              for (_, factor, no_decay), params in sorted(grouped.items())]
    if not groups:
        raise TrainingError("the design has no trainable parameters (are all its nodes frozen?)")
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum,
                               nesterov=config.nesterov)
    cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return cls(groups, lr=config.lr)


class Schedule:
    """The learning-rate schedule, stepped after every batch (warm-up, step, cosine, one-cycle)
    and after every epoch (reduce-on-plateau). Its state is plain data for checkpoints.

    A run extended to more epochs (resumed with a larger total) continues on the schedule of a
    run planned for the new total from the start, as timm does: cosine and one-cycle, the two
    that depend on the length, jump to their value at the step reached and then decay to the new
    end; step, plateau and constant schedules carry on unchanged."""

    def __init__(self, optimizer, config, steps_per_epoch):
        self.config = config
        self.total = max(1, config.epochs * steps_per_epoch)
        self.steps_per_epoch = steps_per_epoch
        self.warmup = int(round(config.warmup_epochs * steps_per_epoch))
        self.plateau = None
        kind = config.schedule
        if kind == "onecycle":
            pct = config.warmup_epochs / config.epochs if config.warmup_epochs else 0.3
            self.per_step = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=[config.lr * g.get("lr_factor", 1.0)
                                   for g in optimizer.param_groups],
                total_steps=self.total, pct_start=min(pct, 0.99))
        else:
            self.per_step = torch.optim.lr_scheduler.LambdaLR(optimizer, self._factor)
            if kind == "plateau":
                self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                    optimizer, factor=config.gamma, patience=config.patience)
        self.steps_done = 0

    def _factor(self, step):
        warm = min(1.0, (step + 1) / self.warmup) if self.warmup else 1.0
        kind = self.config.schedule
        if kind == "step":
            return warm * self.config.gamma ** ((step // self.steps_per_epoch) // self.config.step_size)
        if kind == "cosine" and step >= self.warmup:
            progress = (step - self.warmup) / max(1, self.total - self.warmup)
            return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        return warm

    def step_batch(self):
        self.steps_done += 1
        # Under reduce-on-plateau the per-step schedule only warms up; afterwards the plateau
        # scheduler owns the learning rate.
        if self.plateau is None or self.steps_done <= self.warmup:
            if self.steps_done < self.total or self.config.schedule != "onecycle":
                self.per_step.step()

    def step_epoch(self, val_loss):
        if self.plateau is not None and self.steps_done >= self.warmup:
            self.plateau.step(val_loss)

    def state_dict(self):
        return {"per_step": self.per_step.state_dict(), "steps_done": self.steps_done,
                "total": self.total,
                "plateau": self.plateau.state_dict() if self.plateau else None}

    def load_state_dict(self, state):
        self.steps_done = state["steps_done"]
        if self.plateau is not None and state["plateau"] is not None:
            self.plateau.load_state_dict(state["plateau"])
        extended = state.get("total", self.total) != self.total
        if not extended or self.config.schedule not in ("cosine", "onecycle"):
            self.per_step.load_state_dict(state["per_step"])
            return
        # This schedule (built for the new total) at the step reached: one step from the one
        # before sets the learning rate (and one-cycle's momentum) as stepping there would.
        self.per_step.last_epoch = self.steps_done - 1
        with warnings.catch_warnings():   # "step() before optimizer.step()": meant, not a slip
            warnings.simplefilter("ignore", UserWarning)
            self.per_step.step()


def base_lr(optimizer):
    """The run's learning rate, whatever LR factor its first parameter group has."""
    group = optimizer.param_groups[0]
    return group["lr"] / group.get("lr_factor", 1.0)


def atomic_save(obj, path):
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_checkpoint(path):
    """A training checkpoint read with weights_only=True; a run folder means its last.pt."""
    path = Path(path)
    if path.is_dir():
        path = path / "last.pt"
    if not path.is_file():
        raise TrainingError(f"{path}: no such checkpoint")
    data = load_weights_only(path, TrainingError)
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise TrainingError(f"{path}: not a CNN Designer training checkpoint")
    return data


def lost_peer(error):
    """Whether `error`, raised inside a collective, means another process of the run is gone:
    gloo's transport errors (connection reset or closed, a read or write failed) and timeouts."""
    if isinstance(error, torch.distributed.DistError):
        return True
    text = str(error)
    return "gloo" in text or any(sign in text.lower() for sign in (
        "connection reset", "connection closed", "connection refused", "timed out"))


def _topk_correct(logits, labels, k):
    k = min(k, logits.shape[1])
    top = logits.topk(k, dim=1).indices
    return (top == labels[:, None]).any(dim=1).sum()


class Trainer:
    """Train `graph` (left untouched: a copy is compiled) with `config`.

    `weights` is a state_dict file or checkpoint to start from, `pretrained` True (or a
    torchvision:/timm: source) to start from the published weights of the model the design
    reproduces, from the hub cache (`design`, the preset name a verb was given, helps find it);
    `config.new_head`, `freeze` and `lr_factor` adapt the run (transfer.py). `resume` a
    checkpoint or run folder to continue (its history is replayed in the "start" event). `loss`, when given, is
    called as loss(outputs, images, labels) in place of the weighted cross-entropy (knowledge
    distillation uses it); `prepare`, when given, turns the compiled model (weights loaded) into
    the one to train (quantisation-aware training inserts fake quantisation with it).

    A resumed run must be of the same design (`designer.core.fileformat.design_hash`) and be
    asked for more epochs than it has trained (a finished run is extended so). A run folder
    (`config.out`) that already holds another run is refused unless `overwrite`, which clears
    it first. `name` is the new run's name (kept in its run.json; `runs.run_name` by default).
    `dist_timeout` (seconds) bounds each collective under torchrun (torch's default otherwise)."""

    # Every duration (throughput, epoch time, pauses, ETA) is read from this clock; a test can
    # give an instance a fake one to make step times exact.
    clock = staticmethod(time.perf_counter)

    def __init__(self, graph, config=None, control=None, weights=None, resume=None, loss=None,
                 prepare=None, name=None, overwrite=False, dist_timeout=None, pretrained=False,
                 design=None):
        self.graph = graph.copy()
        self.dist_timeout = dist_timeout
        self.pretrained = pretrained     # start from the published weights of the design's model
        self.design = design             # how the design was named (a preset name, a file)
        self.name = name
        self.overwrite = overwrite
        self.status_recorded = True     # until the run folder is set up there is none to record
        self.loss = loss
        self.prepare = prepare
        self.config = (config or TrainConfig()).validate()
        self.control = control or TrainControl()
        self.weights = weights
        self.resume = resume
        self.run_dir = None
        self.epoch = 0                 # completed epochs
        self.step = 0                  # completed optimiser steps
        self.history = []              # one METRIC_FIELDS dict per epoch
        self.step_log = []             # (loss, lr) per step
        self.best = None               # best validation top-1 error
        self.weights_report = None     # what loaded from `weights` (WeightsReport.to_dict)
        self.frozen_norms = []         # batch norms of frozen nodes, kept in eval mode
        self.train_loader = self.val_loader = self.tensorboard = None
        self.owns_process_group = False
        self.threads_before = None     # torch's thread count before the run set its own

    # -- setup -----------------------------------------------------------------------------
    def _setup(self):
        config = self.config
        input_shape = check_design(self.graph)
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        # Refusals that must change nothing come before anything is allocated or written.
        checkpoint = self._resume_checkpoint()
        self.run_dir = self._run_folder()
        self.device = pick_device(config.device)
        # Refuse before allocating: one batch holds at least every activation of the model.
        totals = Analyzer(self.graph).totals
        check_fits(totals.params, totals.memory, config.batch_size, "training", self.device)
        self.notes = []
        self._set_threads(totals.macs)
        if config.compile:
            note = threads.compile_note(totals.macs, self.device)
            if note:
                self.notes.append(note)
        if self.world > 1 and not torch.distributed.is_initialized():
            self._init_distributed()
        self.cuda = self.device.type == "cuda"
        if config.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        if self.cuda:
            torch.backends.cudnn.benchmark = not config.deterministic
            torch.backends.cudnn.deterministic = config.deterministic

        start_weights = self._read_start_weights()     # a missing file is refused before the data
        self.data = self._build_data(input_shape)
        head = None
        if config.new_head:
            head = transfer.new_head(self.graph, self.data.num_classes)
            self.notes.append(f"new head: {head.node_id} gives {self.data.num_classes} outputs "
                              f"(it gave {head.outputs}), with new weights")
        frozen, factors = transfer.resolve(self.graph, config)
        shapes = output_shapes(self.graph)
        self.output_losses = output_losses(self.graph, input_shape, shapes)
        self.pixel_stats = data_stats(config.dataset, input_shape[0])
        for node, shape, kind in zip(output_nodes(self.graph), shapes, self.output_losses):
            if kind != RECONSTRUCTION and tuple(shape) != (self.data.num_classes,):
                raise TrainingError(
                    f"the output {node.id!r} gives {'×'.join(map(str, shape))} values but "
                    f"{self.data.title} has {self.data.num_classes} classes; make the last layer "
                    f"produce {self.data.num_classes} outputs (e.g. Linear out_features="
                    f"{self.data.num_classes})")
        self.loss_weights = [float(n.params["loss_weight"]) for n in output_nodes(self.graph)]

        torch.manual_seed(config.seed)
        try:
            model = compile_graph(self.graph)
        except CompileError as error:
            raise TrainingError(str(error)) from None
        if start_weights is not None:
            self._load_start_weights(model, head, *start_weights)
        if self.prepare is not None:
            model = self.prepare(model)
        self.frozen_norms = transfer.freeze(model, frozen)
        trainable, frozen_count = transfer.parameter_counts(model)
        if frozen:
            self.notes.append(f"frozen: {', '.join(frozen)} ({frozen_count:,} parameters get no "
                              f"gradient; {trainable:,} train)")
        if factors:
            self.notes.append("learning-rate factors: " + ", ".join(
                f"{name} ×{factor:g}" for name, factor in factors.items()))
        # Channels-last on the CPU too: oneDNN's convolutions skip a reorder of every batch
        # (1.1-1.5x the contiguous format's steps on lenet5, resnet20_cifar, mobilenet_v2 here).
        self.memory_format = (torch.channels_last if config.channels_last
                              else torch.contiguous_format)
        self.model = to_memory_format(model.to(self.device), self.memory_format)
        self.eval_model = main_output_view(self.model)
        self.forward_train, self.forward_eval = self.model, self.eval_model
        if self.world > 1:
            self.forward_train = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.cuda else None)
        if config.compile:
            self.forward_train = torch.compile(self.forward_train)
            self.forward_eval = torch.compile(self.eval_model)

        self.train_loader, self.val_loader = self._loaders()
        # A step is one optimiser update: `accumulate_steps` batches' gradients summed (the
        # epoch's last step may sum fewer).
        self.batches_per_epoch = len(self.train_loader)
        self.steps_per_epoch = math.ceil(self.batches_per_epoch / config.accumulate_steps)
        if self.steps_per_epoch == 0:
            raise TrainingError("the training set is empty")
        self.optimizer = build_optimizer(self.model, config, factors)
        self.schedule = Schedule(self.optimizer, config, self.steps_per_epoch)
        self.amp_dtype = None
        if self.cuda and config.amp:
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)

        if checkpoint is not None:
            self._restore(checkpoint)
        if self.rank == 0:
            self._start_folder()
        self.tensorboard = self._tensorboard()

    def _init_distributed(self):
        """Join the process group (nccl on CUDA, gloo on the CPU), each collective bounded by
        `dist_timeout`; a run without --out takes rank 0's new run folder (each rank named its
        own from the clock, which may have ticked between them)."""
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        timeout = {} if self.dist_timeout is None else {
            "timeout": timedelta(seconds=self.dist_timeout)}
        torch.distributed.init_process_group("nccl" if self.device.type == "cuda" else "gloo",
                                             **timeout, **self._restart_store(timeout))
        self.owns_process_group = True
        if not self.config.out:
            folder = [str(self.run_dir)]
            torch.distributed.broadcast_object_list(folder, src=0)
            self.run_dir = Path(folder[0])

    def _restart_store(self, timeout):
        """After torchrun restarts the job (--max-restarts), the process group's store with
        this attempt's own key prefix: the agent's store still held the previous attempt's
        addresses, and the new processes connected to the killed one's ("Gloo connectFullMesh
        failed ... Connection refused") in 5 restarts of 6 tried here with torch 2.14. Empty (the
        default env:// rendezvous) outside torchrun."""
        attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT")
        if attempt is None:
            return {}
        store, rank, world = next(torch.distributed.rendezvous(
            "env://", timeout=timeout.get("timeout", torch.distributed.default_pg_timeout)))
        return {"store": torch.distributed.PrefixStore(f"designer/attempt_{attempt}", store),
                "rank": rank, "world_size": world}

    def _build_data(self, input_shape):
        """The dataset; under torchrun a dataset to download is fetched once, by rank 0, while
        the others wait at a barrier and then read its files (never downloading themselves, so
        two processes never write the same file). Every rank reaches the barrier, a failed
        download too: rank 0 then reports why, the others that the files are missing."""
        config = self.config
        if self.world == 1 or config.dataset not in DOWNLOADED or not config.download:
            return build_data(config, input_shape)
        data = failure = None
        if self.rank == 0:
            try:
                data = build_data(config, input_shape)
            except DesignError as error:
                failure = error
        torch.distributed.barrier()
        if failure is not None:
            raise failure
        if data is None:
            data = build_data(TrainConfig.from_dict({**config.to_dict(), "download": False}),
                              input_shape)
        return data

    def _read_start_weights(self):
        """(state_dict, where it came from) of the weights the run starts from: a file, or the
        published weights of the design's model; None when it starts from its own."""
        if self.weights and self.pretrained:
            raise TrainingError("start from a weights file or from the published weights, not "
                                "both")
        if self.pretrained:
            source = (self.pretrained if isinstance(self.pretrained, str)
                      else published_source(self.graph, self.design))
            if source is None:
                raise TrainingError(
                    "the design reproduces no model with published weights (presets named like "
                    "a torchvision model and designs imported from torchvision or timm do); "
                    "give a weights file instead")
            try:
                state, where = published_state_dict(source), f"the published weights of {source}"
            except WeightsError as error:
                raise TrainingError(str(error)) from None
        elif self.weights:
            state, where = read_state_dict(self.weights), f"weights from {self.weights}"
        else:
            return None
        return state, where

    def _load_start_weights(self, model, head, state, where):
        """Load every tensor of `state` whose name and shape match; the new head's are left
        new. What did not load is reported in a message, with names and shapes."""
        report = load_into(model, state, renew=[head.node_id] if head else ())
        self.weights_report = {"source": where, **report.to_dict()}
        details = report.details()
        self.notes.append(f"{where}: {report}" + (f"\n{details}" if details else ""))

    def _set_threads(self, macs):
        """torch's intra-op thread count for the run (`close` restores it: the Train panel
        trains in the app's process); the count and why go in the run's messages."""
        asked = self.config.threads
        count = asked or threads.auto_threads(macs, self.device)
        self.threads_before = torch.get_num_threads()
        torch.set_num_threads(count)
        self.notes.append(threads.thread_note(count, asked, macs, self.device))

    def _resume_checkpoint(self):
        """The checkpoint to resume (None for a new run), once it is known to be of this design
        and to have epochs left to train."""
        if not self.resume:
            return None
        checkpoint = load_checkpoint(self.resume)
        folder = runs.checkpoint_folder(self.resume)
        try:
            trained = fileformat.loads(checkpoint["design"])
        except (KeyError, TypeError, DesignError):
            trained = None    # unreadable here: the weights' fit is checked when they load
        if self.config.new_head and checkpoint.get("classes"):
            transfer.new_head(self.graph, len(checkpoint["classes"]))   # as the run trained it
        if trained is not None:
            refusal = runs.other_design(trained, self.graph, f"the run in {folder}")
            if refusal:
                raise TrainingError(refusal)
        done = checkpoint["epoch"]
        if done >= self.config.epochs:
            raise TrainingError(
                f"the run in {folder} has already trained {done} epoch{'s' if done != 1 else ''}; "
                f"to extend it, ask for more epochs in total (e.g. --epochs {2 * done})")
        return checkpoint

    def _run_folder(self):
        """Where this run writes: `config.out` or a new folder. A folder holding another run is
        refused (unless `overwrite`): only resuming a run continues it in its own folder."""
        config = self.config
        run_dir = Path(config.out) if config.out else new_run_dir(self.graph.name, config.dataset)
        self.resumes_here = (self.resume is not None and run_dir.resolve()
                             == runs.checkpoint_folder(self.resume).resolve())
        # Rank 0 alone asks: the other processes could see the files it has begun to write.
        if (self.rank == 0 and runs.holds_run(run_dir) and not self.resumes_here
                and not self.overwrite):
            raise TrainingError(f"{run_dir} already holds a training run; choose another run "
                                "folder, resume that run (--resume), or replace it (--force)")
        return run_dir

    def _start_folder(self):
        """The run folder's files before the first step: the curves so far, the settings as
        JSON (readable without torch), the design, and run.json (name, design, status)."""
        run_dir, config = self.run_dir, self.config
        if self.overwrite and not self.resumes_here:
            runs.clear_run(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        self._rewrite_csv()
        atomic.write_text(run_dir / SETTINGS_FILE, json.dumps(
            TrainConfig.SETTINGS.to_json(config.to_dict()), indent=1) + "\n")
        kept = runs.read_info(run_dir) if self.resumes_here else {}
        if not (self.resumes_here and (run_dir / DESIGN_FILE).is_file()):
            fileformat.save(self.graph, run_dir / DESIGN_FILE)
        runs.write_info(run_dir, name=kept.get("name") or self.name
                        or runs.run_name(self.graph.name, config.dataset),
                        design=kept.get("design") or self.graph.name,
                        design_hash=fileformat.design_hash(self.graph), dataset=config.dataset,
                        status="running", message="",
                        started=kept.get("started") or time.strftime("%Y-%m-%dT%H:%M:%S"))
        self.status_recorded = False

    def _record(self, status, message):
        """The run's outcome in its run.json, once, so a restarted editor lists it."""
        if not self.status_recorded:
            self.status_recorded = True
            runs.write_info(self.run_dir, status=status, message=message)

    def _loaders(self):
        """The fast path's loaders when the dataset fits its budget, else DataLoaders; both give
        uint8 batches that `self.data.augment` / `self.data.evaluate` finish on the device."""
        config = self.config
        self.loader_generator = torch.Generator()
        self.augment_generator = torch.Generator(self.device)
        self.fast_path, note = fastpath.choose(self.data, config, self.device)
        self.notes.insert(0, note)
        if self.fast_path:
            return fastpath.loaders(self.data, config, self.device, self.loader_generator,
                                    self.rank, self.world)
        train_sampler = val_sampler = None
        if self.world > 1:
            from torch.utils.data.distributed import DistributedSampler
            train_sampler = DistributedSampler(self.data.train, seed=config.seed, drop_last=True)
            # Every rank's share of the validation set, without DistributedSampler's padding
            # (which counted 360 images of 359): the all-reduced sums are exactly one process's.
            val_sampler = range(self.rank, len(self.data.val), self.world)
        # BatchNorm cannot train on a batch of one, so drop a short last batch when there is a
        # full one to train on.
        drop_last = len(self.data.train) // max(1, self.world) > config.batch_size
        common = dict(num_workers=config.workers, pin_memory=self.cuda,
                      persistent_workers=config.workers > 0)
        train = DataLoader(self.data.train, batch_size=config.batch_size,
                           shuffle=train_sampler is None, sampler=train_sampler,
                           generator=self.loader_generator, drop_last=drop_last, **common)
        val_batch = max(1, config.batch_size // self.data.eval_crops)
        val = DataLoader(self.data.val, batch_size=val_batch, sampler=val_sampler, **common)
        return train, val

    def _restore(self, checkpoint):
        try:
            self.model.load_state_dict(checkpoint["model"])
        except RuntimeError as error:
            raise TrainingError(f"the checkpoint does not fit this design: "
                                f"{str(error).splitlines()[0]}") from None
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.schedule.load_state_dict(checkpoint["scheduler"])
        if checkpoint.get("scaler"):
            self.scaler.load_state_dict(checkpoint["scaler"])
        self.epoch, self.step = checkpoint["epoch"], checkpoint["step"]
        self.history = list(checkpoint["history"])
        self.step_log = [tuple(row) for row in checkpoint["step_log"].tolist()]
        self.best = checkpoint["best_val_top1_error"]
        torch.set_rng_state(checkpoint["rng"]["torch"])
        if self.cuda and checkpoint["rng"].get("cuda"):
            torch.cuda.set_rng_state_all(checkpoint["rng"]["cuda"])

    def _tensorboard(self):
        if self.rank != 0:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:      # tensorboard is an optional extra
            log.info("tensorboard is not installed: no event files for this run")
            return None
        self.tensorboard_logged = len(self.step_log)
        return SummaryWriter(str(self.run_dir / "tensorboard"))

    def _tensorboard_steps(self):
        """The step losses since the last call. Written per epoch, not per step: each write
        wakes the writer's thread, which cost ~5 ms a step (10 % of a small model's step)."""
        for step in range(self.tensorboard_logged, len(self.step_log)):
            self.tensorboard.add_scalar("train/loss", self.step_log[step][0], step + 1)
        self.tensorboard_logged = len(self.step_log)

    # -- the run ---------------------------------------------------------------------------
    def run(self):
        """The event generator; see the module docstring."""
        try:
            yield from self._events()
        except Exception as error:
            self._record("failed", str(error) or type(error).__name__)
            raise
        except BaseException:     # the generator closed early, or Ctrl-C in the CLI
            self._record("stopped", f"interrupted after epoch {self.epoch}")
            raise
        finally:
            self.close()

    def close(self):
        """Release what the run holds, in order, on every exit path (finished, stopped, failed,
        refused in setup, or the generator dropped): data-loader worker processes first, then
        the process group (a gloo group still alive at interpreter exit aborts the process with
        "terminate called without an active exception"), then the TensorBoard writer."""
        for loader in (self.train_loader, self.val_loader):
            iterator = getattr(loader, "_iterator", None)     # persistent workers live here
            if iterator is not None and hasattr(iterator, "_shutdown_workers"):
                iterator._shutdown_workers()
                loader._iterator = None
        if self.owns_process_group and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        self.owns_process_group = False
        if self.threads_before is not None:
            torch.set_num_threads(self.threads_before)
            self.threads_before = None
        if self.tensorboard is not None:
            self._tensorboard_steps()
            self.tensorboard.close()
            self.tensorboard = None

    def _events(self):
        self._setup()
        total_steps = self.config.epochs * self.steps_per_epoch
        yield Start(run_dir=str(self.run_dir), device=str(self.device),
                    dataset=self.data.title, epochs=self.config.epochs,
                    steps_per_epoch=self.steps_per_epoch, total_steps=total_steps,
                    train_size=len(self.data.train), val_size=len(self.data.val),
                    classes=self.data.num_classes,
                    parameters=sum(p.numel() for p in self.model.parameters()),
                    trainable_parameters=sum(p.numel() for p in self.model.parameters()
                                             if p.requires_grad),
                    weights=self.weights_report,
                    resumed_epoch=self.epoch, history=list(self.history),
                    step_log=list(self.step_log), world_size=self.world,
                    amp=str(self.amp_dtype).replace("torch.", "") if self.amp_dtype else None)
        for note in self.notes:
            yield Message(note)
        self.started = self.clock()
        self.paused_for = 0.0
        self.session_steps = 0
        try:
            while self.epoch < self.config.epochs:
                outcome = yield from self._train_epoch()
                if outcome is not None:
                    yield outcome
                    return
                val = self._evaluate()
                yield self._end_epoch(val)
            yield self._finished("completed", f"finished {self.config.epochs} epochs; best "
                                 f"validation top-1 error {self.best:.2%}")
        except torch.OutOfMemoryError:
            yield self._out_of_memory()
        except RuntimeError as error:
            if not (self.world > 1 and lost_peer(error)):
                raise
            yield self._lost_peer(error)

    def _loss(self, kind, output, labels, images):
        if kind == MARGIN:
            return margin_loss(output, labels)
        if kind == RECONSTRUCTION:
            return reconstruction_loss(output, images.float(), *self.pixel_stats)
        return self.criterion(output, labels)

    def _seed_epoch(self, epoch):
        seed = self.config.seed * 100_003 + epoch
        torch.manual_seed(seed)
        self.loader_generator.manual_seed(seed)
        self.augment_generator.manual_seed(seed)
        sampler = getattr(self.train_loader, "sampler", None)    # none on the fast path
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)

    def _autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast("cuda", dtype=self.amp_dtype)

    def _train_epoch(self):
        """Yield step events for one epoch; return a "finished" event when the run must end."""
        config = self.config
        self._seed_epoch(self.epoch)
        self.model.train()
        transfer.keep_frozen_norms(self.frozen_norms)
        sync_every = config.log_every or (20 if self.cuda else 1)
        if self.cuda:
            torch.cuda.reset_peak_memory_stats(self.device)
        sums = torch.zeros(4, device=self.device)        # loss × n, top-1, top-5, n
        pending = []                                      # (loss tensor, lr) since the last sync
        epoch_start = last_sync = self.clock()
        images_since_sync = 0
        self.epoch_paused = 0.0
        accumulate = config.accumulate_steps
        for index, (images, labels) in enumerate(self.train_loader):
            first_of_step = index % accumulate == 0
            if first_of_step:      # pause and stop between optimiser steps, never inside one
                if self.control.paused:
                    yield from self._pause()
                if self.control.stopped:
                    return self._finished("stopped", f"stopped at step {self.step + 1}; "
                                          f"{self._kept_sentence()}")
                self.optimizer.zero_grad(set_to_none=True)
                # This step's batches: each one's loss counts 1/n, so the summed gradient is the
                # gradient of their mean, as one batch n times larger would give.
                in_step = min(accumulate, self.batches_per_epoch - index)
                step_loss = 0.0
            images = self.data.augment(images.to(self.device, non_blocking=True),
                                       self.augment_generator)
            images = images.contiguous(memory_format=self.memory_format)
            labels = labels.to(self.device, non_blocking=True)
            lr = base_lr(self.optimizer)
            last_of_step = (index + 1) % accumulate == 0 or index + 1 == self.batches_per_epoch
            # DistributedDataParallel averages gradients across processes on every backward;
            # the batches before a step's last only add to the local gradients.
            sync = (self.forward_train.no_sync() if self.world > 1 and not last_of_step
                    and hasattr(self.forward_train, "no_sync") else nullcontext())
            with sync:
                with self._autocast():
                    outputs = self.forward_train(images)
                    if not isinstance(outputs, (tuple, list)):
                        outputs = (outputs,)
                    if self.loss is not None:
                        loss = self.loss(outputs, images, labels)
                    else:
                        loss = sum(w * self._loss(kind, o.float(), labels, images)
                                   for w, o, kind in zip(self.loss_weights, outputs,
                                                         self.output_losses))
                self.scaler.scale(loss / in_step).backward()
            step_loss = step_loss + loss.detach().float() / in_step
            main = outputs[0].detach()
            count = labels.numel()
            sums += torch.stack([loss.detach().float() * count,
                                 _topk_correct(main, labels, 1).float(),
                                 _topk_correct(main, labels, 5).float(),
                                 torch.tensor(float(count), device=self.device)])
            images_since_sync += count
            if not last_of_step:
                continue
            if config.grad_clip > 0:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.schedule.step_batch()
            self.step += 1
            self.session_steps += 1
            if self.session_steps == 1:   # the ETA's clock starts after the first step
                self.timed_from = (self.clock(), self.paused_for)
            pending.append((step_loss, lr))
            last_in_epoch = index + 1 == self.batches_per_epoch
            if len(pending) >= sync_every or last_in_epoch:
                now = self.clock()
                rate = images_since_sync * self.world / max(1e-9, now - last_sync)
                failure = yield from self._flush(pending, rate)
                if failure is not None:
                    return failure
                pending, images_since_sync, last_sync = [], 0, self.clock()
        if self.world > 1:
            torch.distributed.all_reduce(sums)
        loss_sum, top1, top5, count = sums.tolist()
        self.epoch_train = {
            "train_loss": loss_sum / count, "train_top1_error": 1 - top1 / count,
            "train_top5_error": 1 - top5 / count,
            "images_per_s": count / max(1e-9, self.clock() - epoch_start - self.epoch_paused),
            "epoch_time_s": self.clock() - epoch_start - self.epoch_paused}
        return None

    def _flush(self, pending, rate):
        losses = torch.stack([loss for loss, _ in pending])
        if self.world > 1:
            torch.distributed.all_reduce(losses)
            losses /= self.world
        values = losses.tolist()
        first_step = self.step - len(pending) + 1
        for offset, (value, (_, lr)) in enumerate(zip(values, pending)):
            step = first_step + offset
            if not math.isfinite(value):
                return self._finished(
                    "failed", f"the loss became {value} at step {step} (epoch {self.epoch + 1}); "
                    f"try a lower learning rate (now {lr:g}), gradient clipping or warm-up. "
                    f"{self._kept_sentence()}")
            self.step_log.append((value, lr))
            yield Step(step=step, epoch=self.epoch + 1,
                       epoch_progress=self.epoch + (step - self.epoch * self.steps_per_epoch)
                       / self.steps_per_epoch,
                       loss=value, lr=lr, images_per_s=rate,
                       progress=step / (self.config.epochs * self.steps_per_epoch),
                       eta_s=self._eta())
        if self.rank == 0:
            with open(self.run_dir / "steps.csv", "a", newline="") as handle:
                writer = csv.writer(handle)
                for offset, (value, (_, lr)) in enumerate(zip(values, pending)):
                    writer.writerow([first_step + offset, f"{value:.6g}", f"{lr:.6g}"])
        return None

    def _eta(self):
        """Remaining steps times the time per step measured over the steps after the first: the
        first carries the warm-up (workers starting, caches filling, kernels chosen) and made the
        first estimates several times too long."""
        remaining = self.config.epochs * self.steps_per_epoch - self.step
        if self.session_steps < 2:
            elapsed, measured = self.clock() - self.started - self.paused_for, 1
        else:
            began, paused_before = self.timed_from
            elapsed = self.clock() - began - (self.paused_for - paused_before)
            measured = self.session_steps - 1
        return elapsed / measured * remaining

    def _pause(self):
        began = self.clock()
        yield Paused(self.step)
        self.control.wait_while_paused()
        waited = self.clock() - began
        self.paused_for += waited
        self.epoch_paused += waited
        yield Resumed(self.step)

    @torch.no_grad()
    def _evaluate(self):
        self.model.eval()
        sums = torch.zeros(4, device=self.device)
        crops = self.data.eval_crops
        for images, labels in self.val_loader:
            images = self.data.evaluate(images.to(self.device, non_blocking=True))
            labels = labels.to(self.device, non_blocking=True)
            if crops > 1:
                images = images.flatten(0, 1)
            images = images.contiguous(memory_format=self.memory_format)
            with self._autocast():
                logits = self.forward_eval(images).float()
            if self.output_losses[0] == MARGIN:
                # Capsule lengths: the margin loss, and the longest capsule is the prediction.
                count = labels.numel()
                sums += torch.stack([margin_loss(logits, labels) * count,
                                     _topk_correct(logits, labels, 1).float(),
                                     _topk_correct(logits, labels, 5).float(),
                                     torch.tensor(float(count), device=self.device)])
                continue
            if crops > 1:
                # 10-crop: average the crops' probabilities, as in AlexNet.
                probs = logits.softmax(1).view(-1, crops, logits.shape[1]).mean(1)
                log_probs = probs.clamp_min(1e-12).log()
            else:
                log_probs = F.log_softmax(logits, 1)
            count = labels.numel()
            sums += torch.stack([F.nll_loss(log_probs, labels, reduction="sum"),
                                 _topk_correct(log_probs, labels, 1).float(),
                                 _topk_correct(log_probs, labels, 5).float(),
                                 torch.tensor(float(count), device=self.device)])
        if self.world > 1:
            torch.distributed.all_reduce(sums)
        loss_sum, top1, top5, count = sums.tolist()
        return {"val_loss": loss_sum / count, "val_top1_error": 1 - top1 / count,
                "val_top5_error": 1 - top5 / count}

    def _end_epoch(self, val):
        self.epoch += 1
        row = {"epoch": self.epoch, **self.epoch_train, **val,
               "lr": base_lr(self.optimizer),
               "peak_memory_mb": (torch.cuda.max_memory_allocated(self.device) / 2 ** 20
                                  if self.cuda else None)}
        row = {name: row[name] for name in METRIC_FIELDS}
        self.schedule.step_epoch(val["val_loss"])
        improved = self.best is None or val["val_top1_error"] < self.best
        if improved:
            self.best = val["val_top1_error"]
        self.history.append(row)
        if self.rank == 0:
            checkpoint = self._checkpoint()
            atomic_save(checkpoint, self.run_dir / "last.pt")
            if improved:
                atomic_save(checkpoint, self.run_dir / "best.pt")
            self._rewrite_csv(steps=False)
            if self.tensorboard is not None:
                self._tensorboard_steps()
                for name in METRIC_FIELDS[1:]:
                    if row[name] is not None:
                        self.tensorboard.add_scalar(f"epoch/{name}", row[name], self.epoch)
        return Epoch(**row, best=improved, eta_s=self._eta(), progress=self.epoch / self.config.epochs)

    def _checkpoint(self):
        rng = {"torch": torch.get_rng_state()}
        if self.cuda:
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {"format": CHECKPOINT_FORMAT, "version": 1,
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.schedule.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
                "epoch": self.epoch, "step": self.step, "best_val_top1_error": self.best,
                "history": list(self.history),
                "step_log": torch.tensor(self.step_log, dtype=torch.float64).reshape(-1, 2),
                "rng": rng, "config": self.config.to_dict(),
                "design": fileformat.dumps(self.graph), "classes": self.data.classes}

    def _rewrite_csv(self, steps=True):
        """metrics.csv from the history (and steps.csv from the step log), so a resumed run's
        files hold exactly what its checkpoint holds."""
        with atomic_path(self.run_dir / "metrics.csv") as tmp, open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=METRIC_FIELDS)
            writer.writeheader()
            writer.writerows(self.history)
        if steps:
            with open(self.run_dir / "steps.csv", "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["step", "loss", "lr"])
                for step, (loss, lr) in enumerate(self.step_log, 1):
                    writer.writerow([step, f"{loss:.6g}", f"{lr:.6g}"])

    def _kept_sentence(self):
        if self.epoch == 0:
            return "No epoch had finished, so there is no checkpoint."
        return f"The checkpoint of epoch {self.epoch} is kept in {self.run_dir / 'last.pt'}."

    def _lost_peer(self, error):
        """The "failed" event when another process of the run is gone: which one (with two
        processes it can only be the other), the checkpoint kept and the command resuming it."""
        timed_out = "timed out" in str(error).lower() or "timeout" in str(error).lower()
        who = (f"rank {1 - self.rank} of 2" if self.world == 2
               else f"a peer of rank {self.rank} (one of {self.world} processes)")
        what = (f"{who} stopped answering for {self._timeout_words()}" if timed_out
                else f"{who} was lost (its process ended or its connection broke)")
        return self._finished("failed", f"distributed training stopped at step {self.step + 1} "
                              f"(epoch {self.epoch + 1}): {what}. {self._kept_sentence()} "
                              f"{self._resume_sentence()}")

    def _timeout_words(self):
        if self.dist_timeout is None:
            return "torch's default timeout (--dist-timeout S sets it)"
        return f"{self.dist_timeout:g} s (--dist-timeout)"

    def _resume_sentence(self):
        """The command that continues this run with as many processes, from its last
        checkpoint (or starts it again in its folder when it has none)."""
        local = int(os.environ.get("LOCAL_WORLD_SIZE", self.world))
        nodes = max(1, self.world // max(1, local))
        launch = f"torchrun --nproc_per_node={local}"
        if nodes > 1:
            launch += f" --nnodes={nodes}"
        folder = shlex.quote(str(self.run_dir))
        design = shlex.quote(str(self.run_dir / DESIGN_FILE))
        where = f" (on each of the {nodes} nodes, with the same rendezvous)" if nodes > 1 else ""
        if self.epoch == 0:
            command = f"{launch} -m designer train {design} --out {folder} --resume auto"
            return f"Start it again with: {command}{where}"
        command = f"{launch} -m designer train {design} --resume {folder}"
        return f"Continue it with: {command}{where}"

    def _out_of_memory(self):
        if self.cuda:
            torch.cuda.empty_cache()
        batch = self.config.batch_size
        return self._finished(
            "failed", f"the GPU ran out of memory at step {self.step + 1} with batch size {batch}; "
            f"try a smaller batch (e.g. {max(1, batch // 2)}), mixed precision or a smaller input. "
            f"{self._kept_sentence()}")

    def _finished(self, status, message):
        self._record(status, message)
        return Finished(status, message, epoch=self.epoch, step=self.step,
                        best_val_top1_error=self.best,
                        run_dir=str(self.run_dir) if self.run_dir else None)


def train(graph, config=None, **kwargs):
    """Run to the end; the list of `Epoch` events and the final `Finished` event."""
    epochs, finished = [], None
    for event in Trainer(graph, config, **kwargs).run():
        if isinstance(event, Epoch):
            epochs.append(event)
        elif isinstance(event, Finished):
            finished = event
    return epochs, finished
