"""Every torchvision convolutional classification model imports as a design that computes what the
original computes, with the same parameter count and multiply-adds.

Models up to NUMERIC_LIMIT parameters run for real on a small input: copied random weights, eval
mode, outputs equal within 1e-4. Larger ones (the same families, wider or deeper) are imported on
the meta device, where shapes, parameter counts and FLOPs are exact but nothing is computed, so
the whole module stays fast on two cores."""

from contextlib import contextmanager

import pytest
import torch
from torch import nn
import torchvision
from torch.utils.flop_counter import FlopCounterMode

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.interop.pytorch import import_model

TRANSFORMERS = ("vit_", "swin_", "maxvit_")
MODELS = [m for m in torchvision.models.list_models(module=torchvision.models)
          if not m.startswith(TRANSFORMERS)]
NUMERIC_LIMIT = 30_000_000
# The smallest input each network accepts comfortably; the rest pool globally at 64×64.
INPUT = {"inception_v3": (3, 75, 75)}


@contextmanager
def _parameters_on_meta():
    """Construct a model with its parameters and buffers on the meta device. (A plain
    `torch.device("meta")` context fails for RegNet, whose constructor computes widths with
    tensors and reads them back.)"""
    register_parameter, register_buffer = nn.Module.register_parameter, nn.Module.register_buffer

    def parameter(self, name, param):
        if param is not None:
            param = nn.Parameter(param.to("meta"), param.requires_grad)
        register_parameter(self, name, param)

    def buffer(self, name, tensor, persistent=True):
        register_buffer(self, name, tensor if tensor is None else tensor.to("meta"), persistent)

    nn.Module.register_parameter, nn.Module.register_buffer = parameter, buffer
    try:
        yield
    finally:
        nn.Module.register_parameter, nn.Module.register_buffer = register_parameter, register_buffer


def _build(name, device=None):
    kwargs = {"weights": None}
    if name in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=False)
    builder = torchvision.models.get_model_builder(name)
    if device == "meta":
        with _parameters_on_meta():
            return builder(**kwargs).eval()
    torch.manual_seed(0)
    return builder(**kwargs).eval()


def _count(model):
    return sum(p.numel() for p in model.parameters())


def _meta_params(name):
    return _count(_build(name, "meta"))


def _flops(model, shape):
    device = next(model.parameters()).device
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros((1,) + shape, device=device))
    return counter.get_total_flops()


@pytest.mark.parametrize("name", MODELS)
def test_torchvision_model_imports(name):
    shape = INPUT.get(name, (3, 64, 64))
    meta = _meta_params(name) > NUMERIC_LIMIT
    model = _build(name, "meta" if meta else None)
    result = import_model(model, shape, name, device="meta" if meta else None)
    totals = Analyzer(result.graph).totals
    assert totals.errors == 0
    assert totals.params == _count(model)
    assert 2 * totals.macs == _flops(model, shape)
    assert result.unused == []
    # Readable: blocks are folded, so the top level is at most a block per layer of the paper, not hundreds.
    assert len(result.graph.nodes) < 100
    if meta:
        return
    compiled = compile_graph(result.graph).eval()
    compiled.load_state_dict(result.state_dict, strict=True)
    x = torch.randn((2,) + shape)
    with torch.no_grad():
        expected, got = model(x), compiled(x)
    assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4), (got - expected).abs().max()
