"""Build a one-block design and compare it with a reference module (weights copied by name)."""

import torch
from torch import nn

from designer.core.builder import GraphBuilder
from designer.core.compile import compile_graph
from designer.core.infer import Analyzer


def single(type_name, shape, node_id="block", **params):
    b = GraphBuilder(type_name)
    x = b.input(shape)
    b.output(b.add(type_name, node_id, x, **params))
    return b.finish(layout=False)


class Holder(nn.Module):
    """Puts a reference block at the path `block`, as the one-block design has it."""

    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, x):
        return self.block(x)


def randomise(module):
    generator = torch.Generator().manual_seed(1)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=generator) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=generator) - 0.5)


def assert_matches(graph, reference_block, shape, atol=1e-5):
    """The reference's weights load strictly; same outputs in eval mode; same parameter count."""
    torch.manual_seed(0)
    reference = Holder(reference_block)
    randomise(reference)
    compiled = compile_graph(graph)
    compiled.load_state_dict(reference.state_dict(), strict=True)
    compiled.eval()
    reference.eval()
    x = torch.randn((2,) + tuple(shape))
    with torch.no_grad():
        expected, got = reference(x), compiled(x)
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() <= atol
    assert Analyzer(graph).totals.params == sum(p.numel() for p in reference.parameters())
