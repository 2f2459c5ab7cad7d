"""Shared checks for the efficient/mobile presets: a reference model's state_dict loads strictly
into the compiled preset and, in eval mode, both give the same outputs on random input."""

import torch
from torch import nn

from designer.core.compile import compile_graph


def param_count(module):
    return sum(p.numel() for p in module.parameters())


def randomise_batch_norms(model):
    """Non-trivial BN statistics and affine terms (references initialise every BN alike), so two
    same-sized norms swapped by name would show in the outputs."""
    generator = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=generator) * 0.2 - 0.1)
            m.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=generator) * 0.2 - 0.1)


def compiled_with_reference_weights(graph, state_dict):
    compiled = compile_graph(graph)
    compiled.load_state_dict(state_dict, strict=True)
    return compiled.eval()


def max_output_difference(compiled, reference, shape, seed=0):
    torch.manual_seed(seed)
    x = torch.randn(shape)
    reference.eval()
    with torch.no_grad():
        expected = reference(x)
        got = compiled(x)
    assert got.shape == expected.shape
    return (got - expected).abs().max().item()


def relative_output_difference(compiled, reference, shape, seed=0):
    """Max abs difference over the largest output magnitude: for references whose default
    initialisation (Kaiming uniform, no zero-init of residual norms) grows activations to ~1e5,
    where float32 rounding alone exceeds 1e-4 absolute."""
    torch.manual_seed(seed)
    x = torch.randn(shape)
    reference.eval()
    with torch.no_grad():
        expected = reference(x)
        got = compiled(x)
    assert got.shape == expected.shape
    return ((got - expected).abs().max() / expected.abs().max().clamp(min=1.0)).item()
