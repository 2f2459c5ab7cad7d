"""How load, analysis, compilation, hints and the window grow with the size of a design.

Writes chains of N ReLU layers (Input -> ReLU x N -> Output) as design files, then times, for each
size: loading the file (parse + resolve), a full analysis (`Analyzer` from scratch), compiling to a
`torch.fx.GraphModule`, and the layered layout; then the speed hints (the Issues list's
ShuffleNet V2 guidelines, `design_hints` on an analysed graph) and the editor window offscreen:
opening the file (`MainWindow.open_design`: load, analysis, scene, panels) and its first draw
(`grab`), as wall time and as this process's CPU time (on a shared machine the wall clock also
counts the others' load). Each time is the median of --repeat runs (the window: one run a size).
The growth ratio between consecutive sizes is printed beside the time against the ratio of the
sizes: linear work grows by the same factor as the size (10x for 1k -> 10k), quadratic work by its
square. The baseline is `copy`, a plain linear pass over the graph measured in the same run: on a
busy machine even it grows faster than the size once the graph outgrows the CPU caches.

Then the same for importing ONNX chains of N ReLU nodes (`onnx_import_scaling`): reading the
file, mapping every node onto the catalogue, laying the design out (what `designer import`
does before it writes).

    python bench/scale.py [--sizes 1000 10000 100000] [--repeat 3] [--no-window] [--no-onnx]
"""

import argparse
import gc
import os
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


def hint_times(sizes, repeat):
    """(size, seconds of `design_hints` on the analysed chain) per size."""
    from designer.speed.hints import design_hints
    rows = []
    for n in sizes:
        graph = chain(n)
        results = Analyzer(graph).results
        seconds, hints = timed(lambda: design_hints(graph, results), repeat)
        longest = max((len(text) for texts in hints.values() for text in texts), default=0)
        rows.append((n, {"hints": seconds}))
        print(f"{n:>8} nodes  hints {seconds:8.3f} s  ({len(hints)} hinted node(s), the longest "
              f"sentence {longest} characters)", flush=True)
    return rows


def window_times(sizes, folder):
    """(size, {open, draw, open cpu, draw cpu}) per size: the editor window, offscreen, opening
    each chain's file and drawing it the first time, as `designer open FILE` does."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication
    from designer.ui.app import collect_in_gui_thread
    from designer.ui.window import MainWindow
    app = QApplication.instance() or QApplication([])
    collect_in_gui_thread(app)     # the app's own garbage-collection policy
    window = MainWindow(home=Path(folder) / "home")
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    rows = []
    for n in sizes:
        path = Path(folder) / f"window-chain{n}.json"
        fileformat.save(chain(n), path)
        wall, cpu = time.perf_counter(), time.process_time()
        if not window.open_design(path, ask=False):
            raise SystemExit(f"the window could not open {path}")
        opened = time.perf_counter(), time.process_time()
        for _ in range(3):            # as grab_window: layout and the first fit, then the paint
            app.processEvents()
        window.grab()
        drawn = time.perf_counter(), time.process_time()
        times = {"open": opened[0] - wall, "draw": drawn[0] - opened[0],
                 "open cpu": opened[1] - cpu, "draw cpu": drawn[1] - opened[1]}
        rows.append((n, times))
        print(f"{n:>8} nodes  " + "  ".join(f"{k} {v:8.3f} s" for k, v in times.items()),
              flush=True)
        window.close_design()         # untimed: the next size opens in an empty window
        app.processEvents()
    window.close()
    return rows


def print_growth(rows):
    print("growth between sizes (linear = the size ratio):")
    for (n0, t0), (n1, t1) in zip(rows, rows[1:]):
        ratios = "  ".join(f"{s} x{t1[s] / max(t0[s], 1e-9):6.1f}" for s in t0)
        print(f"  {n0:>7} -> {n1:<7} size x{n1 / n0:.0f}:  {ratios}")


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
    parser.add_argument("--no-window", action="store_true",
                        help="skip the editor window (no PySide6 needed)")
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
    print_growth(rows)
    print()
    print_growth(hint_times(args.sizes, args.repeat))
    if not args.no_window:
        print()
        with tempfile.TemporaryDirectory() as folder:
            print_growth(window_times(args.sizes, folder))
    if not args.no_onnx:
        onnx_import_scaling(args.sizes, args.repeat)


if __name__ == "__main__":
    main()
