"""How ONNX import time grows with the model: a chain of N ReLUs imported at N, 2N and 4N nodes.

Prints the median time at each size and the ratio of each to the one before it: 2 when the import
is linear (what it should be), 4 when it is quadratic (what it was while every new node's name was
checked against every other with `startswith`, and numbered from 1 each time).

    python bench/import_scaling.py [--nodes 2000] [--repeat 3]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import onnx
from onnx import TensorProto, helper

from designer.interop.onnx import import_onnx


def relu_chain(count, folder):
    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name=f"relu_{i}")
             for i in range(count)]
    graph = helper.make_graph(
        nodes, "chain", [helper.make_tensor_value_info("t0", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info(f"t{count}", TensorProto.FLOAT, [1, 4, 8, 8])])
    path = Path(folder) / f"chain{count}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    previous = None
    with tempfile.TemporaryDirectory() as folder:
        for count in (args.nodes, 2 * args.nodes, 4 * args.nodes):
            path = relu_chain(count, folder)
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                import_onnx(path)
                times.append(time.perf_counter() - started)
            median = statistics.median(times)
            ratio = f"  ×{median / previous:.2f} for ×2 nodes" if previous else ""
            print(f"{count:>7,} nodes  {median:7.3f} s{ratio}")
            previous = median


if __name__ == "__main__":
    main()
