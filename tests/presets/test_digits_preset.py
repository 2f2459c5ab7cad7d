"""reactor_digits: the small CNN for 1×8×8 digits is valid at that size, with the stage shapes
and parameter count its description states, and it classifies a batch into 10 scores."""

import torch

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.core.presets import load_design


def test_reactor_digits_shapes_and_parameters():
    graph = load_design("reactor_digits")
    analyzer = Analyzer(graph)
    assert analyzer.errors() == []
    shapes = {nid: r.output_shape for nid, r in analyzer.results.items()}
    assert [shapes[n] for n in ("conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "fc2")] == [
        (4, 8, 8), (4, 4, 4), (6, 4, 4), (6, 2, 2), (24,), (32,), (10,)]
    # 4·9+4 + 6·4·9+6 + 24·32+32 + 32·10+10
    assert analyzer.totals.params == 1_392
    model = compile_graph(graph).eval()
    assert model(torch.rand(5, 1, 8, 8)).shape == (5, 10)
