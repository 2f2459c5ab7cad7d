"""Random valid graphs (chains and branches merged by Concat/Add): what inference predicts is what
the compiled module really does, and every compiled module scripts with TorchScript."""

import torch
from hypothesis import HealthCheck, given, settings

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer

from .strategies import random_graphs


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=random_graphs())
def test_inferred_equals_compiled(graph):
    analyzer = Analyzer(graph)
    assert not analyzer.errors(), analyzer.errors()
    module = compile_graph(graph).eval()
    # Shapes of every node, by running the real module with hooks on each submodule.
    shapes = {}
    hooks = [m.register_forward_hook(lambda mod, args, out, name=name: shapes.__setitem__(name, tuple(out.shape[1:])))
             for name, m in module.named_modules() if name]
    x = torch.randn((2,) + graph.nodes["input"].params["shape"])
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        y = module(x)
    for h in hooks:
        h.remove()
    for nid, result in analyzer.results.items():
        if nid in shapes:
            assert shapes[nid] == result.output_shape, nid
    assert tuple(y.shape[1:]) == analyzer.results["output"].output_shape
    # Branches that reach no output are left out of the compiled model; compare the live part.
    live, stack = {"output"}, ["output"]
    while stack:
        for parent in graph.predecessors(stack.pop()):
            if parent not in live:
                live.add(parent)
                stack.append(parent)
    results = [analyzer.results[nid] for nid in live]
    assert sum(r.params for r in results) == sum(p.numel() for p in module.parameters())
    assert sum(r.macs for r in results) == counter.get_total_flops() // 4  # 2 FLOPs per MAC, batch 2
    scripted = torch.jit.script(module)
    assert torch.allclose(scripted(x), y, atol=1e-5)
