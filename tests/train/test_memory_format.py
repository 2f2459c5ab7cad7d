"""Training's channels-last conversion touches only 4-D weights: a model that also holds a 5-D
tensor (CapsNet's routing weights) made `Module.to(memory_format=channels_last)` raise."""

import torch
from torch import nn

from designer.train.loop import to_memory_format


def test_only_four_dimensional_weights_go_channels_last():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Linear(4, 2))
    model.register_parameter("routing", nn.Parameter(torch.randn(2, 3, 4, 5, 6)))
    to_memory_format(model, torch.channels_last)
    conv = model[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert model.routing.is_contiguous() and model[1].weight.is_contiguous()
    assert isinstance(conv, nn.Parameter) and any(p is conv for p in model.parameters())
    out = model[0](torch.randn(2, 3, 6, 6).contiguous(memory_format=torch.channels_last))
    out.sum().backward()
    assert conv.grad is not None and conv.grad.shape == conv.shape
