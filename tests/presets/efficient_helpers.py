"""Shared checks for the efficient/mobile presets: a reference model's state_dict loads strictly
into the compiled preset and, in eval mode, both give the same outputs on random input."""

import torch
from torch import nn

from designer.core.compile import compile_graph
from ..helpers import param_count, randomise_batch_norms


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
