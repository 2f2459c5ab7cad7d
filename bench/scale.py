"""How load, analysis and compilation grow with the size of a design.

Writes chains of N ReLU layers (Input -> ReLU x N -> Output) as design files, then times, for each
size: loading the file (parse + resolve), a full analysis (`Analyzer` from scratch), compiling to a
`torch.fx.GraphModule`, and the layered layout. Each time is the median of --repeat runs. The
growth ratio between consecutive sizes is printed beside the time against the ratio of the sizes:
linear work grows by the same factor as the size (10x for 1k -> 10k), quadratic work by its square.
The baseline is `copy`, a plain linear pass over the graph measured in the same run: on a busy
machine even it grows faster than the size once the graph outgrows the CPU caches.

Then the same for importing ONNX chains of N ReLU nodes (`onnx_import_scaling`): reading the
file, mapping every node onto the catalogue, laying the design out (what `designer import`
does before it writes).

    python bench/scale.py [--sizes 1000 10000 100000] [--repeat 3] [--no-onnx]
"""

import argparse
import gc
from pathlib import Path
import statistics
import sys
import tempfile
import time

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designer.core import fileformat  # noqa: E402
from designer.core.compile import compile_graph  # noqa: E402
from designer.core.graph import Graph  # noqa: E402
from designer.core.infer import Analyzer  # noqa: E402
from designer.core.layout import layered_positions  # noqa: E402


def chain(n):
    graph = Graph(f"chain of {n}")
    with graph.batch():
        graph.add_node("Input", "input", {"shape": (1, 4, 4)})
        previous = "input"
        for i in range(n):
            graph.add_node("ReLU", f"relu{i}", pos=(0.0, 60.0 * i))
            graph.connect(previous, "out", f"relu{i}", "in")
            previous = f"relu{i}"
        graph.add_node("Output", "output")
        graph.connect(previous, "out", "output", "in")
    return graph


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()      # as timeit does: the collector's passes over a big heap are noise here
        try:
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(times), result


def onnx_import_scaling(sizes, repeat):
    """Time importing ONNX ReLU chains of each size; print each time and the growth ratios."""
    try:
        import onnx  # noqa: F401  (an optional extra)
    except ImportError:
        print("onnx is not installed (pip install .[interop]): ONNX import not timed")
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from import_scaling import relu_chain
    from designer.interop.onnx import import_onnx
    rows = []
    print()
    print("ONNX import of a chain of N ReLU nodes:")
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            path = relu_chain(n, folder)
            seconds, _ = timed(lambda: import_onnx(path), repeat)
            rows.append((n, seconds))
            print(f"{n:>8} nodes  import {seconds:8.3f} s", flush=True)
    for (n0, t0), (n1, t1) in zip(rows, rows[1:]):
        print(f"  {n0:>7} -> {n1:<7} size x{n1 / n0:.0f}:  import x{t1 / t0:6.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX import timings")
    args = parser.parse_args()
    torch.set_num_threads(1)
    stages = ("copy", "load", "analyse", "compile", "layout")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for n in args.sizes:
            path = Path(folder) / f"chain{n}.json"
            fileformat.save(chain(n), path)
            load_s, graph = timed(lambda: fileformat.load(path), args.repeat)
            copy_s, _ = timed(graph.copy, args.repeat)
            analyse_s, _ = timed(lambda: Analyzer(graph).detach(), args.repeat)
            compile_s, _ = timed(lambda: compile_graph(graph), args.repeat)
            layout_s, _ = timed(lambda: layered_positions(graph), args.repeat)
            rows.append((n, dict(zip(stages, (copy_s, load_s, analyse_s, compile_s, layout_s)))))
            print(f"{n:>8} nodes  " + "  ".join(f"{s} {rows[-1][1][s]:8.3f} s" for s in stages),
                  flush=True)
    print()
    print("growth between sizes (linear = the size ratio):")
    for (n0, t0), (n1, t1) in zip(rows, rows[1:]):
        ratios = "  ".join(f"{s} x{t1[s] / t0[s]:6.1f}" for s in stages)
        print(f"  {n0:>7} -> {n1:<7} size x{n1 / n0:.0f}:  {ratios}")
    if not args.no_onnx:
        onnx_import_scaling(args.sizes, args.repeat)


if __name__ == "__main__":
    main()
