"""Helpers shared by the tests that compare a design with a reference implementation."""

import torch
from torch import nn


def param_count(module):
    return sum(p.numel() for p in module.parameters())


def shape_of(analyzer, node_id, port="out"):
    return analyzer.results[node_id].outputs[port].shape


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
