"""Deploy targets against eager PyTorch, measured in one run (CPU, one thread, batch 1).

mobilenet_v2 and resnet18 at 3×224×224 with their initial (random) weights: each is deployed as
an ExecuTorch fp32 program, an ExecuTorch int8 program and an int8 ONNX file (calibrated on
random inputs: latency and size only), each loaded in its own runtime; then eager fp32 and the
three files are timed alternately, round after round (median of the rounds' medians), and the
ratios are printed against the issue's bars:
  ExecuTorch fp32 ≤ 1.0× eager fp32; int8 (ExecuTorch, ONNX) ≤ 0.5× eager fp32;
  int8 files ≤ 0.3× the fp32 program's bytes.
Then LeNet-5 trained on the bundled digits: validation top-1 error of each int8 file in its
runtime against the fp32 design (bar: within 1 point).

    python bench/deploy.py [--models mobilenet_v2,resnet18] [--rounds 5] [--repeat 10]
"""

import argparse
import statistics
import tempfile
import warnings
from pathlib import Path

import torch

from designer.compress.measure import load_model, save_state
from designer.core.presets import load_design
from designer.deploy.engine import deploy, load_executorch, load_onnx, median_ms, one_thread
from designer.train.config import TrainConfig
from designer.train.loop import Trainer

warnings.filterwarnings("ignore")
FILES = (("executorch", ".pte", load_executorch), ("executorch-int8", ".pte", load_executorch),
         ("onnx-int8", ".onnx", load_onnx))


def verdict(ok):
    return "met" if ok else "NOT met"


def time_alternately(subjects, x, rounds, repeat):
    """{name: median over rounds of the median ms of `repeat` calls}, subjects interleaved."""
    results = {name: [] for name in subjects}
    with one_thread(), torch.inference_mode():
        for _ in range(rounds):
            for name, run in subjects.items():
                results[name].append(median_ms(lambda: run(x), repeat, warmup=3))
    return {name: statistics.median(times) for name, times in results.items()}


def bench_model(name, folder, rounds, repeat):
    graph = load_design(name)
    torch.manual_seed(0)
    model = load_model(graph)
    state = folder / f"{name}.pt"
    save_state(model.state_dict(), state)
    subjects, sizes = {"eager fp32": model}, {}
    for target, suffix, loader in FILES:
        path = folder / f"{name}_{target}{suffix}"
        report = deploy(graph, state, target, path, latency=False, force=True)
        sizes[target] = report["bytes"]
        subjects[target] = loader(path)
    x = torch.randn(1, 3, 224, 224)
    ms = time_alternately(subjects, x, rounds, repeat)
    eager = ms["eager fp32"]
    print(f"\n{name} 3×224×224, batch 1, one thread ({rounds} rounds × {repeat} runs, medians)")
    print(f"  {'':<18}{'latency ms':>11}{'× eager':>9}{'bytes':>13}{'× fp32 .pte':>13}")
    print(f"  {'eager fp32':<18}{eager:>11.2f}{1:>9.2f}{'':>13}{'':>13}")
    fp32_bytes = sizes["executorch"]
    for target, _, _ in FILES:
        print(f"  {target:<18}{ms[target]:>11.2f}{ms[target] / eager:>9.2f}"
              f"{sizes[target]:>13,}{sizes[target] / fp32_bytes:>13.2f}")
    print(f"  bar ExecuTorch fp32 ≤ 1.0× eager: {ms['executorch'] / eager:.2f}× "
          f"{verdict(ms['executorch'] <= eager)}")
    for target in ("executorch-int8", "onnx-int8"):
        ratio, bytes_ratio = ms[target] / eager, sizes[target] / fp32_bytes
        print(f"  bar {target} ≤ 0.5× eager: {ratio:.2f}× {verdict(ratio <= 0.5)}; "
              f"bytes ≤ 0.3× fp32 .pte: {bytes_ratio:.2f}× {verdict(bytes_ratio <= 0.3)}")


def bench_digits(folder, epochs):
    graph = load_design("lenet5")
    config = TrainConfig(epochs=epochs, batch_size=32, lr=0.05, seed=0, out=str(folder / "run"))
    trainer = Trainer(graph, config)
    for event in trainer.run():
        if event.kind == "finished" and event.status != "completed":
            raise SystemExit(event.message)
    weights = folder / "lenet5.pt"
    save_state(trainer.model.cpu().state_dict(), weights)
    print(f"\nLeNet-5 trained {epochs} epochs on digits: validation top-1 error in each runtime")
    for target, suffix, _ in FILES:
        report = deploy(graph, weights, target, folder / f"lenet5_{target}{suffix}",
                        dataset="digits", calibration_batches_count=4, force=True)
        error, fp32 = report["val_top1_error"], report["val_top1_error_reference"]
        line = (f"  {target:<18}error {error:.2%} (fp32 design {fp32:.2%}), "
                f"{report['bytes']:,} bytes, {report['latency_ms']:.3f} ms "
                f"(eager {report['latency_ms_reference']:.3f} ms)")
        if target != "executorch":
            line += f"; bar within 1 point: {verdict(error <= fp32 + 0.01)}"
        print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mobilenet_v2,resnet18")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--digits-epochs", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    folder = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    for name in filter(None, args.models.split(",")):
        bench_model(name, folder, args.rounds, args.repeat)
    if args.digits_epochs:
        bench_digits(folder, args.digits_epochs)


if __name__ == "__main__":
    main()
