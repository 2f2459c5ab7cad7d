"""Random valid graphs (chains and branches merged by Concat/Add): what inference predicts is what
the compiled module really does, and every compiled module scripts with TorchScript."""

import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from designer.core.builder import GraphBuilder
from designer.core.compile import compile_graph
from designer.core.infer import Analyzer, analyze


@st.composite
def random_graphs(draw):
    """A graph grown step by step from an image input: each step appends a layer to a random
    existing tensor, or merges two same-shaped tensors (Add) or same-sized ones (Concat).
    Windows are drawn so they always fit (the rules for misfits are tested elsewhere)."""
    b = GraphBuilder("random")
    c, h, w = draw(st.integers(1, 6)), draw(st.integers(6, 14)), draw(st.integers(6, 14))
    tensors = [(b.input((c, h, w)), (c, h, w))]
    for i in range(draw(st.integers(1, 9))):
        kind = draw(st.sampled_from(["conv", "conv", "dw", "pool", "bn", "act", "add", "concat", "shuffle"]))
        ref, (c, h, w) = draw(st.sampled_from(tensors))
        name = f"n{i}"
        if kind == "conv":
            k = draw(st.integers(1, min(3, h, w)))
            groups = draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))
            out = groups * draw(st.integers(1, 4))
            padding = draw(st.sampled_from(["same", "valid", (k // 2, k // 2)]))
            stride = 1 if padding == "same" and k % 2 == 0 else draw(st.integers(1, 2))
            ref = b.add("Conv2d", name, ref, out_channels=out, kernel=k, stride=stride,
                        padding=padding, groups=groups, bias=draw(st.booleans()))
        elif kind == "dw":
            ref = b.add("DepthwiseConv2d", name, ref, kernel=3, padding="same",
                        multiplier=draw(st.integers(1, 2)))
        elif kind == "pool":
            if min(h, w) < 2:
                continue
            ref = b.add(draw(st.sampled_from(["MaxPool2d", "AvgPool2d"])), name, ref, kernel=2,
                        stride=2, ceil_mode=draw(st.booleans()))
        elif kind == "bn":
            ref = b.add("BatchNorm", name, ref)
        elif kind == "act":
            ref = b.add(draw(st.sampled_from(["ReLU", "ReLU6", "SiLU", "Hardswish", "PReLU"])), name, ref)
        elif kind == "shuffle":
            if c % 2:
                continue
            ref = b.add("ChannelShuffle", name, ref, groups=2)
        else:
            partners = [t for t in tensors if t[0] != ref and
                        (t[1] == (c, h, w) if kind == "add" else t[1][1:] == (h, w))]
            if not partners:
                continue
            other = draw(st.sampled_from(partners))[0]
            if kind == "add":
                ref = b.add("Add", name, ref, other, scale=draw(st.sampled_from([1.0, 0.2])))
            else:
                ref = b.add("Concat", name, ref, other)
        tensors.append((ref, analyze(b.graph)[ref.node].output_shape))
    head = tensors[-1][0]
    b.output(head)
    return b.finish(layout=False)



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
