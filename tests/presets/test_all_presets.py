"""Every preset: generated from its builder, no node in error, compiles, scripts, and torch agrees
with the inferred output shape, parameter count and multiply-adds (at batch 2).

Models are built on the meta device, so even the 100M-parameter ones cost no memory or init time."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from designer.core import fileformat
from designer.core.compile import compile_graph, output_nodes
from designer.core.infer import Analyzer
from designer.core.presets import load_design, preset_names, preset_path
from designer.presetlib import BUILDERS, build, load_all

NAMES = preset_names()


def test_every_builder_has_a_file_and_every_file_a_builder():
    load_all()
    assert set(BUILDERS) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_preset(name):
    graph = load_design(name)
    # The committed file is exactly what the builder generates (run presets/generate.py).
    assert fileformat.dumps(build(name)) == preset_path(name).read_text(), \
        f"designer/presets/{name}.json is stale: run `python presets/generate.py {name}`"
    assert graph.description, "a preset says what it is"
    analyzer = Analyzer(graph)
    assert analyzer.errors() == []
    assert all(r.ok for r in analyzer.results.values())

    with torch.device("meta"):
        module = compile_graph(graph)
    torch.jit.script(module)

    (input_node,) = graph.nodes_of_type("Input")
    x = torch.empty((2,) + input_node.params["shape"], device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = module.eval()(x)
    outs = out if isinstance(out, tuple) else (out,)
    expected = [analyzer.results[n.id].output_shape for n in output_nodes(graph)]
    assert [tuple(o.shape) for o in outs] == [(2,) + s for s in expected]
    assert sum(p.numel() for p in module.parameters()) == analyzer.totals.params
    # The module compiled with every head runs the auxiliary ones too: what training runs.
    totals = analyzer.totals
    assert counter.get_total_flops() == 2 * 2 * (totals.macs + totals.train_only_macs)
