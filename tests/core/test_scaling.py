"""Every whole-graph operation grows linearly with the graph (issue 10, fix 1).

Times are never asserted in absolute terms: each operation is timed on a chain of n layers and
on one of 4n, and the ratio must stay well below the 16x a quadratic operation would show.
`bench/scale.py` prints the same growth up to 100,000 nodes.
"""

import functools
import gc
import time

import pytest

from designer.core import fileformat
from designer.core.commands import delete_nodes
from designer.core.compile import compile_graph
from designer.core.graph import Graph
from designer.core.infer import Analyzer
from designer.core.layout import layered_positions

SMALL, LARGE = 1000, 4000
LINEAR_BOUND = 10.0      # 4x the work; a quadratic operation gives 16x


@functools.lru_cache(maxsize=None)
def chain(n):
    graph = Graph(f"chain of {n}")
    with graph.batch():
        graph.add_node("Input", "input", {"shape": (1, 2, 2)})
        previous = "input"
        for i in range(n):
            graph.add_node("ReLU", f"relu{i}")
            graph.connect(previous, "out", f"relu{i}", "in")
            previous = f"relu{i}"
        graph.add_node("Output", "output")
        graph.connect(previous, "out", "output", "in")
    return graph


def _best_time(operation, make_argument, repeat=3, at_least_s=0.02):
    """The fastest of `repeat` measurements; a measurement repeats a cheap operation until it has
    run `at_least_s`, so millisecond operations are not swamped by timer and scheduler noise."""
    best = float("inf")
    for _ in range(repeat):
        gc.disable()
        try:
            calls, spent = 0, 0.0
            while spent < at_least_s:
                argument = make_argument()
                start = time.perf_counter()
                operation(argument)
                spent += time.perf_counter() - start
                calls += 1
            best = min(best, spent / calls)
        finally:
            gc.enable()
    return best


def _delete_every_other(graph):
    delete_nodes(graph, list(graph.nodes)[1::2]).redo()


OPERATIONS = {
    "build": lambda n: chain.__wrapped__(n),
    "load": lambda text: fileformat.loads(text),
    "save": lambda graph: fileformat.dumps(graph),
    "topological_order": lambda graph: graph.topological_order(),
    "cycle_nodes": lambda graph: graph.cycle_nodes(),
    "analyse": lambda graph: Analyzer(graph).detach(),
    "layout": layered_positions,
    "copy": lambda graph: graph.copy(),
    "delete_half": _delete_every_other,
    "compile": compile_graph,
}


def _argument(name, n):
    if name == "build":
        return lambda: n
    if name == "load":
        text = fileformat.dumps(chain(n))
        return lambda: text
    if name == "delete_half":
        graph = chain(n)
        return graph.copy
    graph = chain(n)
    return lambda: graph


@pytest.mark.parametrize("name", OPERATIONS)
def test_operation_grows_linearly(name):
    operation = OPERATIONS[name]
    small = _best_time(operation, _argument(name, SMALL))
    large = _best_time(operation, _argument(name, LARGE))
    ratio = large / max(small, 1e-6)
    assert ratio < LINEAR_BOUND, f"{name}: {SMALL} -> {LARGE} nodes took x{ratio:.1f} ({small:.4f} s -> {large:.4f} s)"
