"""Every CUDA path of the engine in one run: a table of ok / FAILED rows with figures.

Rows (each one a function; an exception in one is recorded as FAILED with its first line and the
next row runs):
- training resnet20_cifar and resnet18 (set to 3×32×32, 10 classes) on synthetic uint8 images
  (random pixels written as a CIFAR-sized ImageFolder tree; nothing is downloaded) on the fast
  path and the DataLoader path, with AMP in bf16 and fp16 and channels_last, with and without
  `compile`; the figure is the training images/s (median of the epochs after the first);
- the engine's fast path against a plain PyTorch loop on the same uint8 tensors (ratio);
- `designer profile resnet18 --device cuda` (CUDA events): the per-node sum against end to end;
- insight (activations and Grad-CAM) and a compress job (prune, fine-tuned) on the device;
- a 2-trial sweep (needs optuna, the `sweep` extra; skipped without it);
- DistributedDataParallel in a one-process group (nccl on CUDA, gloo on the CPU);
- out of memory: a batch the check refuses before allocating, and (CUDA) a batch that passes
  the check but exhausts a capped allocator, each ending in the engine's sentence.
Rows that cannot apply on the CPU (bf16/fp16 AMP, channels_last, the capped allocator) print
"skipped (cpu)"; `--quick` (tiny sizes, what CI runs on the CPU) skips the compile rows and
trains and profiles only the small model.

    PYTHONPATH=. python3 bench/gpu_check.py [--device cuda|cpu] [--quick] [--json FILE]

Needs only the engine's dependencies (torch, torchvision, numpy; no PySide6). Exits 2 when CUDA
is asked for and absent, 1 when a row FAILED.
"""

import argparse
from contextlib import contextmanager, redirect_stdout
import io
import json
import os
from pathlib import Path
import shutil
import socket
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designer.core.compile import compile_graph, output_nodes  # noqa: E402
from designer.core.presets import load_design  # noqa: E402
from designer.train.config import TrainConfig  # noqa: E402
from designer.train.loop import Trainer  # noqa: E402

CLASSES = 10
MODELS = ("resnet20_cifar", "resnet18")


class Skip(Exception):
    """A row that cannot apply here; its text is the reason."""


def preset_graph(name):
    """The preset at 3×32×32 with 10 outputs on every head."""
    graph = load_design(name)
    graph.set_params(graph.nodes_of_type("Input")[0].id, shape=(3, 32, 32))
    for node in output_nodes(graph):
        head = graph.nodes[graph.in_edge(node.id, "in").src]
        graph.set_params(head.id, out_features=CLASSES)
    return graph


def synthetic_images(count, seed=0):
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=generator)
    return images, torch.arange(count) % CLASSES


def write_image_folder(root, images, labels):
    from PIL import Image
    val = max(CLASSES * 2, len(images) // 10)
    for split, part in (("train", slice(val, None)), ("val", slice(0, val))):
        for k, (pixels, label) in enumerate(zip(images[part], labels[part])):
            folder = root / split / f"class{int(label)}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels.permute(1, 2, 0).numpy()).save(folder / f"{k}.png")


@contextmanager
def forced_fp16(on):
    """The engine picks bf16 where the GPU supports it; this makes it pick fp16 (GradScaler)."""
    if not on:
        yield
        return
    saved = torch.cuda.is_bf16_supported
    torch.cuda.is_bf16_supported = lambda *args, **kwargs: False
    try:
        yield
    finally:
        torch.cuda.is_bf16_supported = saved


class Check:
    def __init__(self, args):
        self.args = args
        self.device = args.device
        self.cuda = args.device == "cuda"
        self.quick = args.quick
        self.profiled = MODELS[0] if self.quick else "resnet18"   # CI's time: the small one
        self.rows = []
        self.folder = Path(tempfile.mkdtemp(prefix="gpu-check-"))
        self.data = self.folder / "data"
        count = 48 if self.quick else 10000
        self.images, self.labels = synthetic_images(count)
        write_image_folder(self.data, self.images, self.labels)
        self.batch = 16 if self.quick else (256 if self.cuda else 64)
        self.epochs = 1 if self.quick else 3
        self.rates = {}            # (model, fast_path) -> images/s of the bf16 run (plain ratio)
        self.checkpoint = None     # the resnet20_cifar fast-path run's last.pt (insight, compress)

    def row(self, name, function):
        began = time.perf_counter()
        try:
            status, figure = "ok", function()
        except Skip as skip:
            status, figure = f"skipped ({skip})", ""
        except Exception as error:   # every failure becomes a row; the next one still runs
            text = str(error).strip().splitlines()
            status, figure = "FAILED", f"{type(error).__name__}: {text[0] if text else ''}"
        finally:
            if self.cuda:
                torch.cuda.set_per_process_memory_fraction(1.0)
                torch.cuda.empty_cache()
        row = {"check": name, "status": status, "figure": figure or "",
               "seconds": round(time.perf_counter() - began, 1)}
        self.rows.append(row)
        print(f"{name:44} {status:18} {row['seconds']:7.1f}s  {row['figure']}", flush=True)

    # -- training ----------------------------------------------------------------------------
    def config(self, **values):
        settings = dict(dataset="imagefolder", data_dir=str(self.data), epochs=self.epochs,
                        batch_size=self.batch, lr=0.05, schedule="constant", crop="pad",
                        flip=True, device=self.device,
                        out=str(self.folder / "runs" / f"run{len(self.rows)}"))
        settings.update(values)
        return TrainConfig(**settings)

    def engine(self, graph, config, fp16=False):
        """(Start event, images/s of the epochs after the first, Finished event)."""
        start, rates, finished, data_note = None, [], None, ""
        with forced_fp16(fp16):
            for event in Trainer(graph, config).run():
                if event.kind == "start":
                    start = event
                elif event.kind == "message" and event.text.startswith("data:"):
                    data_note = event.text
                elif event.kind == "epoch":
                    rates.append(event.images_per_s)
                elif event.kind == "finished":
                    finished = event
        if finished is None or finished.status != "completed":
            raise RuntimeError(finished.message if finished else "no finished event")
        if data_note.startswith("data: fast path") != config.fast_path:
            raise RuntimeError(f"asked for fast_path={config.fast_path} but got: {data_note}")
        return start, rates[1:] or rates, finished

    def train_row(self, model, fast_path, amp, compile_=False, channels_last=True):
        def run():
            if amp and not self.cuda:
                raise Skip("cpu")
            if self.quick and (compile_ or model != MODELS[0]):
                raise Skip("quick")
            config = self.config(fast_path=fast_path, amp=bool(amp), compile=compile_,
                                 channels_last=channels_last)
            start, rates, finished = self.engine(preset_graph(model), config, amp == "fp16")
            got = start.amp or "fp32"
            if amp and got != {"bf16": "bfloat16", "fp16": "float16"}[amp]:
                raise RuntimeError(f"asked for {amp} autocast, the engine used {got}")
            rate = statistics.median(rates)
            if amp == ("bf16" if self.cuda else None) and not compile_ and channels_last:
                self.rates[model, fast_path] = rate
            if model == MODELS[0] and fast_path and self.checkpoint is None:
                self.checkpoint = Path(finished.run_dir) / "last.pt"
            return f"{rate:,.0f} images/s ({got}, top-1 err {finished.best_val_top1_error:.2f})"
        return run

    def plain_row(self, model):
        def run():
            if self.quick and model != MODELS[0]:
                raise Skip("quick")
            amp = "bf16" if self.cuda else None
            engine = self.rates.get((model, True))
            if engine is None:
                raise RuntimeError("the fast-path row of this model did not finish")
            plain = self.plain_rate(model, amp)
            return f"engine {engine:,.0f} / plain {plain:,.0f} images/s = {engine / plain:.2f}"
        return run

    def plain_rate(self, model, amp):
        """A plain PyTorch loop on the same uint8 tensors held on the device: flip, normalise,
        autocast, SGD; the median images/s of the epochs after the first."""
        device = torch.device(self.device)
        memory_format = torch.channels_last if self.cuda else torch.contiguous_format
        torch.manual_seed(0)
        net = compile_graph(preset_graph(model)).to(device, memory_format=memory_format)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
        criterion = nn.CrossEntropyLoss()
        val = max(CLASSES * 2, len(self.images) // 10)
        images, labels = self.images[val:].to(device), self.labels[val:].to(device)
        mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1) * 255
        std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1) * 255
        rates = []
        net.train()
        for _ in range(self.epochs):
            order = torch.randperm(len(images), device=device)
            count, began = 0, time.perf_counter()
            for first in range(0, len(images) - self.batch + 1, self.batch):
                pick = order[first:first + self.batch]
                batch = images[pick].float()
                flip = torch.rand(len(pick), device=device) < 0.5
                batch = torch.where(flip.view(-1, 1, 1, 1), batch.flip(3), batch)
                batch = ((batch - mean) / std).contiguous(memory_format=memory_format)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp == "bf16"):
                    loss = criterion(net(batch).float(), labels[pick])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                count += len(pick)
            if self.cuda:
                torch.cuda.synchronize()
            rates.append(count / (time.perf_counter() - began))
        return statistics.median(rates[1:] or rates)

    # -- the other engines ---------------------------------------------------------------------
    def profile_row(self):
        from designer.cli import main
        out = io.StringIO()
        repeats = ["--repeats", "5", "--warmup", "2"] if self.quick else []
        with redirect_stdout(out):
            code = main(["profile", self.profiled, "--input", "3x32x32", "--device", self.device,
                         "--json", *repeats])
        if code:
            raise RuntimeError(f"designer profile exited with {code}")
        report = json.loads(out.getvalue())
        total, whole = report["sum_ms"], report["end_to_end_ms"]
        clock = "CUDA events" if self.cuda else "perf_counter"
        return f"sum {total:.3f} ms vs end to end {whole:.3f} ms ({total / whole:.0%}, {clock})"

    def need_checkpoint(self):
        if self.checkpoint is None or not self.checkpoint.exists():
            raise RuntimeError(f"no checkpoint: the {MODELS[0]} fast-path row did not finish")
        return self.checkpoint

    def insight_row(self):
        from designer.insight.activations import capture
        from designer.insight.attribution import gradcam
        from designer.insight.subject import load_subject
        graph = preset_graph(MODELS[0])
        subject = load_subject(graph, weights=self.need_checkpoint())
        device = torch.device(self.device)
        model = subject.model.to(device)
        image, label = subject.sample(0)
        image = image.to(device)
        found, logits = capture(model, image, [subject.tap("conv1"), subject.tap("layer3.2")])
        heat = gradcam(model, image, int(logits.argmax()), subject.tap("layer3.2"))
        if not np.isfinite(np.asarray(heat)).all():
            raise RuntimeError("Grad-CAM is not finite")
        return (f"{len(found)} taps on {logits.device.type}, Grad-CAM "
                f"{'×'.join(map(str, heat.shape))}")

    def compress_row(self):
        from designer.compress import jobs
        options = dict(amount=0.3, finetune_epochs=1, dataset="imagefolder",
                       data_dir=str(self.data), batch_size=self.batch, latency=False)
        seen = {}

        def on_event(event):
            if event.kind == "start":
                seen["device"] = event.device
        outcome = jobs.run("prune", preset_graph(MODELS[0]), str(self.need_checkpoint()),
                           options, on_event=on_event)
        report = outcome.report
        where = seen.get("device", "?")
        if self.cuda and not where.startswith("cuda"):
            raise RuntimeError(f"the fine-tuning ran on {where}, not cuda")
        return (f"prune 0.3 + 1 fine-tune epoch on {where}: params {report['params_before']:,}"
                f" → {report['params_after']:,}")

    def sweep_row(self):
        try:
            import optuna  # noqa: F401
        except ImportError:
            raise Skip("no optuna") from None
        from designer.speed.sweep import Sweep, parse_param
        sweep = Sweep(MODELS[0], "imagefolder", [parse_param("lr=0.02,0.05")],
                      self.folder / "sweep", epochs=1, trials=2, latency=False,
                      train_settings={"device": self.device, "data_dir": str(self.data),
                                      "batch_size": self.batch, "crop": "pad"})
        for _ in sweep.run():
            pass
        records = sweep.records()
        done = [r for r in records if r.get("state") == "complete"]
        if len(done) != 2:
            states = "; ".join(f"{r.get('state')}: {r.get('message')}" for r in records)
            raise RuntimeError(f"{len(done)} of 2 trials completed ({states})")
        errors = ", ".join(f"{r['val_top1_error']:.2f}" for r in done)
        return f"2 trials completed, val top-1 errors {errors}"

    def ddp_row(self):
        """DistributedDataParallel around the compiled design in a one-process group: the
        engine wraps a model so only under torchrun with WORLD_SIZE > 1, which one GPU cannot
        give nccl (one rank per GPU), so this checks the backend and the wrapped steps."""
        import torch.distributed as dist
        backend = "nccl" if self.cuda else "gloo"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        store = dist.TCPStore("127.0.0.1", port, 1, is_master=True)
        dist.init_process_group(backend, store=store, rank=0, world_size=1)
        try:
            device = torch.device("cuda", 0) if self.cuda else torch.device("cpu")
            memory_format = torch.channels_last if self.cuda else torch.contiguous_format
            net = compile_graph(preset_graph(MODELS[0])).to(device, memory_format=memory_format)
            wrapped = nn.parallel.DistributedDataParallel(
                net, device_ids=[0] if self.cuda else None)
            optimizer = torch.optim.SGD(wrapped.parameters(), lr=0.05, momentum=0.9)
            images = (self.images[:self.batch].to(device).float() / 255).contiguous(
                memory_format=memory_format)
            labels = self.labels[:self.batch].to(device)
            losses = []
            for _ in range(3):
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.cuda):
                    loss = nn.functional.cross_entropy(wrapped(images).float(), labels)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                reduced = loss.detach().clone()
                dist.all_reduce(reduced)
                losses.append(float(reduced))
            if not all(np.isfinite(losses)):
                raise RuntimeError(f"losses {losses}")
            return f"{backend}, world 1, 3 steps, loss {losses[0]:.3f} → {losses[-1]:.3f}"
        finally:
            dist.destroy_process_group()

    def refused_row(self):
        from designer.core.memory import MemoryLimitError
        config = self.config(batch_size=10 ** 9, epochs=1)
        try:
            for _ in Trainer(preset_graph("resnet18"), config).run():
                pass
        except MemoryLimitError as error:
            sentence = str(error)
            if "needs at least" not in sentence:
                raise RuntimeError(f"unexpected sentence: {sentence}") from None
            return sentence[:90] + ("…" if len(sentence) > 90 else "")
        raise RuntimeError("a batch of 10⁹ was not refused")

    def oom_row(self):
        if not self.cuda:
            raise Skip("cpu")
        # The check before allocating reads the GPU's free memory, so a capped allocator lets a
        # batch through that then runs out: the engine must end the run with its sentence.
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.empty_cache()
        torch.cuda.set_per_process_memory_fraction(
            (torch.cuda.memory_allocated() + 400 * 2 ** 20) / total)
        config = self.config(batch_size=4096, epochs=1, fast_path=False)
        finished = None
        for event in Trainer(preset_graph("resnet18"), config).run():
            if event.kind == "finished":
                finished = event
        if finished is None or finished.status != "failed" or \
                not finished.message.startswith("the GPU ran out of memory"):
            raise RuntimeError(f"expected the out-of-memory sentence, got: "
                               f"{finished.message if finished else 'no finished event'}")
        return finished.message[:90] + "…"

    def run(self):
        for model in MODELS:
            for fast_path in (True, False):
                path = "fast path" if fast_path else "DataLoader"
                if not self.cuda:
                    self.row(f"train {model} {path} fp32", self.train_row(model, fast_path, None))
                for amp in ("bf16", "fp16"):
                    self.row(f"train {model} {path} {amp} cl",
                             self.train_row(model, fast_path, amp))
                self.row(f"train {model} {path} {'bf16 ' if self.cuda else ''}compile",
                         self.train_row(model, fast_path, "bf16" if self.cuda else None, True))
            self.row(f"ratio {model} fast path / plain loop", self.plain_row(model))
        if self.cuda:
            self.row(f"train {MODELS[0]} fast path fp32 contiguous",
                     self.train_row(MODELS[0], True, None, channels_last=False))
        self.row(f"profile {self.profiled} --device {self.device}", self.profile_row)
        self.row(f"insight {MODELS[0]} on {self.device}", self.insight_row)
        self.row(f"compress prune {MODELS[0]} on {self.device}", self.compress_row)
        self.row(f"sweep 2 trials on {self.device}", self.sweep_row)
        self.row(f"DDP one process ({'nccl' if self.cuda else 'gloo'})", self.ddp_row)
        self.row("memory: a batch that cannot fit is refused", self.refused_row)
        self.row("memory: out of memory mid-run (capped GPU)", self.oom_row)
        return self.rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, no compile rows, the small model only (CI)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: CUDA is not available here (torch.cuda.is_available() is False); run "
              "it on a GPU machine, or pass --device cpu for the CPU smoke test")
        return 2
    if args.device == "cuda":
        props = torch.cuda.get_device_properties(0)
        where = f"{props.name}, {props.total_memory / 2 ** 30:.0f} GiB"
    else:
        where = f"cpu, {torch.get_num_threads()} threads"
    print(f"gpu_check: torch {torch.__version__}, Python {sys.version.split()[0]}, {where}"
          f"{', quick' if args.quick else ''}")
    os.environ.setdefault("OMP_NUM_THREADS", str(torch.get_num_threads()))
    began = time.perf_counter()
    check = Check(args)
    try:
        rows = check.run()
    finally:
        shutil.rmtree(check.folder, ignore_errors=True)
    failed = [row["check"] for row in rows if row["status"] == "FAILED"]
    print(f"{len(rows)} rows, {len(failed)} FAILED, "
          f"{time.perf_counter() - began:.0f} s in all")
    if args.json:
        Path(args.json).write_text(json.dumps({"torch": torch.__version__, "device": where,
                                               "rows": rows}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
