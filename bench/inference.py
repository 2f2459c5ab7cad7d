"""Inference speed on a large chain-and-branch graph.

Builds a graph of more than 1,000 primitive layers (residual units with Inception-style
concatenating branches), then prints:
  - the full inference pass (Analyzer from scratch), against torch's own meta-device forward of the
    compiled model with FlopCounterMode (the baseline the fast rules replace), as a ratio;
  - the re-inference after editing one node near the input (everything downstream changes shape)
    and one near the output.
Targets: a single edit within 16 ms, a full pass within 200 ms on the 2-core machine.

    python bench/inference.py [--units 100] [--repeat 5]
"""

import argparse
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from designer.core.builder import GraphBuilder
from designer.core.compile import compile_graph
from designer.core.infer import Analyzer


def build(units):
    b = GraphBuilder("bench")
    x = b.add("Conv2d", "stem", b.input((3, 64, 64)), out_channels=32, bias=False)
    for u in range(units):
        y = b.add("Conv2d", f"u{u}_conv1", x, out_channels=32, bias=False)
        y = b.add("BatchNorm", f"u{u}_bn1", y)
        y = b.add("ReLU", f"u{u}_relu1", y)
        if u % 3 == 0:  # an Inception-style pair of branches, concatenated
            left = b.add("Conv2d", f"u{u}_b1", y, out_channels=16, kernel=1, bias=False)
            right = b.add("Conv2d", f"u{u}_b3", y, out_channels=16, kernel=3, bias=False)
            y = b.add("Concat", f"u{u}_cat", left, right)
        y = b.add("Conv2d", f"u{u}_conv2", y, out_channels=32, bias=False)
        y = b.add("BatchNorm", f"u{u}_bn2", y)
        y = b.add("Add", f"u{u}_add", y, x)
        x = b.add("ReLU", f"u{u}_relu2", y)
    x = b.add("GlobalAvgPool2d", "pool", x, flatten=True)
    b.output(b.add("Linear", "fc", x, out_features=10))
    return b.finish(layout=False)


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=130)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    graph = build(args.units)
    print(f"graph: {len(graph.nodes)} nodes, {len(graph.edges)} edges")

    full = timed(lambda: Analyzer(graph).detach(), args.repeat)
    module = compile_graph(graph).to("meta")
    x = torch.empty(1, 3, 64, 64, device="meta")

    def meta_forward():
        with FlopCounterMode(display=False), torch.no_grad():
            module(x)
    meta_forward()
    meta = timed(meta_forward, args.repeat)
    print(f"full inference:            {full:8.1f} ms   (target 200 ms)")
    print(f"torch meta forward+FLOPs:  {meta:8.1f} ms   ratio fast rules / meta = {full / meta:.3f}")

    analyzer = Analyzer(graph)
    # Near the input: resize the input, which re-flows every shape in the graph.
    for label, node, values in (("near the input ", "input", ({"shape": (3, 56, 56)}, {"shape": (3, 64, 64)})),
                                ("near the output", f"u{args.units - 1}_conv1",
                                 ({"kernel": 5}, {"kernel": 3}))):
        counts = []

        def edit():
            graph.set_params(node, **values[len(counts) % 2])
            counts.append(1)
        ms = timed(edit, args.repeat * 2)
        print(f"edit {label}:      {ms:8.2f} ms   (target 16 ms)")
    assert not analyzer.errors()


if __name__ == "__main__":
    main()
