"""CPU inference latency of compressed resnet18 against the fp32 original, in one run.

Compiles the resnet18 preset (random weights, BatchNorm statistics made non-trivial), then builds
  int8 static   fx-graph-mode post-training quantisation (per-channel weights, per-tensor
                activations, calibrated on random batches: calibration data decides accuracy,
                not speed);
  pruned 50 %   L1 filter pruning of half the filters of every prunable group, as a new design;
and times batch-1 forward passes of all three on one CPU thread, interleaved round by round, and
prints the median milliseconds and the ratios to fp32 (targets: int8 ≤ 0.5, pruned ≤ 0.6).

    python bench/compress.py [--size 224] [--repeats 20] [--rounds 5]
"""

import argparse
import statistics
import warnings

import torch
from torch import nn

from designer.compress.measure import load_model, median_ms, model_bytes
from designer.compress.prune import prune_structured
from designer.compress.quantize import quantize_static
from designer.core.compile import compile_graph
from designer.core.presets import load_design

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=UserWarning)


def resnet18(size):
    graph = load_design("resnet18")
    graph.set_params(graph.nodes_of_type("Input")[0].id, shape=(3, size, size))
    torch.manual_seed(0)
    model = compile_graph(graph).eval()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.weight.data.uniform_(0.2, 1.5)
            module.running_var.uniform_(0.5, 1.5)
    return graph, model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    graph, fp32 = resnet18(args.size)
    calibration = [torch.randn(4, 3, args.size, args.size) for _ in range(4)]
    int8 = quantize_static(fp32, calibration)
    pruned_result = prune_structured(graph, fp32.state_dict(), "l1", 0.5)
    pruned = load_model(pruned_result.graph, pruned_result.state_dict)
    models = {"fp32": fp32, "int8 static": int8, "pruned 50%": pruned}
    x = torch.randn(1, 3, args.size, args.size)
    with torch.inference_mode():
        for model in models.values():       # warm-up
            for _ in range(3):
                model(x)
    samples = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            samples[name].append(median_ms(model, x, args.repeats))
    base = statistics.median(samples["fp32"])
    targets = {"int8 static": 0.5, "pruned 50%": 0.6}
    print(f"resnet18 at 3×{args.size}×{args.size}, batch 1, one CPU thread, torch "
          f"{torch.__version__}, quantized engine {torch.backends.quantized.engine}")
    print(f"{'model':<14}{'median ms':>11}{'ratio':>8}{'target':>8}{'MB':>8}")
    for name, model in models.items():
        ms = statistics.median(samples[name])
        target = f"≤{targets[name]}" if name in targets else ""
        print(f"{name:<14}{ms:>11.2f}{ms / base:>8.2f}{target:>8}{model_bytes(model) / 1e6:>8.1f}")


if __name__ == "__main__":
    main()
