"""Profiling overhead: the ticked module `designer profile` times node by node, against the plain
compiled module, end to end, in the same run.

For each design, alternates plain and ticked forward passes (torch.set_num_threads(1), warm-up,
then repeats) and prints the medians, their ratio (ticked / plain; 1.00 means no overhead), and
how the per-node sum compares with the plain end-to-end time (the residual `designer profile`
reports).

    python bench/profile_overhead.py [--designs resnet18,mobilenet_v2,reactor_digits]
                                     [--input 3x224x224] [--repeats 30]
"""

import argparse
import statistics
import time

import torch

from designer.arguments import parse_shape
from designer.core.compile import compile_graph
from designer.core.presets import load_design
from designer.speed.profile import _Clock, _with_input, measure, owner_map, ticked_module


def timed(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--designs", default="resnet18,mobilenet_v2,reactor_digits")
    parser.add_argument("--input", type=parse_shape, default=(3, 224, 224),
                        help="input for image designs (the digits design keeps 1×8×8)")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'design':<16} {'plain ms':>9} {'ticked ms':>10} {'ratio':>6} {'node sum ms':>12} "
          f"{'residual':>9}")
    for name in args.designs.split(","):
        graph = load_design(name)
        shape = tuple(graph.nodes_of_type("Input")[0].params["shape"])
        graph = _with_input(graph, args.input if len(shape) == 3 and shape[0] == 3 else None)
        module = compile_graph(graph, include_auxiliary=False).eval()
        order = graph.topological_order()[0]
        clock = _Clock(cuda=False)
        ticked = ticked_module(module, owner_map(graph, module), order, clock)
        x = torch.randn((1,) + tuple(graph.nodes_of_type("Input")[0].params["shape"]))
        plain, with_ticks = [], []
        with torch.inference_mode():
            for repeat in range(5 + args.repeats):
                a = timed(lambda: module(x))
                clock.marks = []
                b = timed(lambda: ticked(x))
                if repeat >= 5:
                    plain.append(a)
                    with_ticks.append(b)
        p, t = statistics.median(plain), statistics.median(with_ticks)
        timing = measure(graph, threads=1, repeats=args.repeats, warmup=5)
        print(f"{name:<16} {p:9.3f} {t:10.3f} {t / p:6.3f} {timing.sum_ms:12.3f} "
              f"{timing.residual_ms / timing.end_to_end_ms:+9.1%}")


if __name__ == "__main__":
    main()
