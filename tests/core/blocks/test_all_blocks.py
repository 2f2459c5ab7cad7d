"""Every block in the catalogue, at its default parameters: expands without error for some
ordinary input, compiles, scripts, and torch agrees with the inferred shapes, parameters and
multiply-adds. Parametrised over the registry, so a new block is tested the day it lands."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from designer.core.builder import GraphBuilder
from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.core.registry import REGISTRY, Role

BLOCKS = sorted(s.type for s in REGISTRY.specs() if s.is_block and s.role is not Role.GROUP)
# Ordinary inputs to try, smallest first; a block's defaults must fit at least one.
CANDIDATES = [(64, 16, 16), (32, 32, 32), (256, 14, 14), (3, 64, 64), (96, 35, 35), (384, 35, 35),
              (768, 17, 17), (1280, 8, 8), (3, 299, 299), (3, 224, 224), (1024, 17, 17), (2048, 8, 8)]


def block_graph(type_name, shape):
    spec = REGISTRY.get(type_name)
    b = GraphBuilder(type_name)
    ports = spec.input_ports(spec.defaults())
    inputs = [b.input(shape, f"input{i}" if i else "input") for i in range(len(ports))]
    outs = b.add(type_name, "block", *inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    for i, ref in enumerate(outs):
        b.output(ref, f"output{i}" if i else "output")
    return b.finish(layout=False)


@pytest.mark.parametrize("type_name", BLOCKS)
def test_block(type_name):
    spec = REGISTRY.get(type_name)
    assert len(spec.help) > 80, "a block's help says what it does and why"
    for shape in CANDIDATES:
        graph = block_graph(type_name, shape)
        analyzer = Analyzer(graph)
        if not analyzer.errors():
            break
    else:
        pytest.fail(f"{type_name} at its defaults fits none of {CANDIDATES}: {analyzer.errors()}")
    module = compile_graph(graph).eval()
    torch.jit.script(module)
    inputs = [torch.randn((2,) + n.params["shape"]) for n in graph.nodes_of_type("Input")]
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = module(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    expected = [analyzer.results[n.id].output_shape for n in graph.nodes_of_type("Output")]
    assert [tuple(o.shape[1:]) for o in outs] == expected
    assert sum(p.numel() for p in module.parameters()) == analyzer.totals.params
    assert counter.get_total_flops() == 4 * analyzer.totals.macs
