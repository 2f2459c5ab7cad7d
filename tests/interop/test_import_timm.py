"""timm models import too: timm's own layers (BatchNormAct2d's functional batch norm, ConvNeXt's
reshaped gamma) map onto catalogue layers, and the design computes what the model computes."""

import pytest
import torch
from torch import nn

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.interop.pytorch import import_model, load_source
from ..helpers import randomise_batch_norms


@pytest.mark.parametrize("name", ["convnext_atto", "regnetx_002"])
def test_timm_model_imports_equal(name):
    model = load_source(f"timm:{name}").eval()
    result = import_model(model, (3, 64, 64), name)
    assert Analyzer(result.graph).totals.params == sum(p.numel() for p in model.parameters())
    assert result.unused == []
    compiled = compile_graph(result.graph).eval()
    compiled.load_state_dict(result.state_dict, strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), atol=1e-4, rtol=1e-4)


def _types(graph):
    """The node types of a design and of every Group inside it."""
    types = set()
    for node in graph.nodes.values():
        types.add(node.type)
        if node.subgraph is not None:
            types |= _types(node.subgraph)
    return types


def _branch_blocks():
    """The block of each family at a tiny size (name: factory, input shape, a type the design
    must hold): SKNet's and ResNeSt's attention fold into the catalogue's blocks, DPN's dual
    paths and ReXNet's partial residual are channel slices."""
    from timm.models import dpn, resnest, rexnet, sknet
    sk = dict(rd_ratio=1 / 8, rd_divisor=16, split_input=True)   # skresnet18's
    return {
        "SKNet": (lambda: sknet.SelectiveKernelBasic(16, 16, sk_kwargs=sk), "SelectiveKernel"),
        "ResNeSt": (lambda: resnest.ResNestBottleneck(16, 4, radix=2, avd=True),
                    "SplitAttention"),
        "DPN": (lambda: nn.Sequential(dpn.DualPathBlock(16, 8, 8, 8, 4, 2, "proj"),
                                      dpn.DualPathBlock(20, 8, 8, 8, 4, 2, "normal", b=True)),
                "ChannelSlice"),
        "ReXNet": (lambda: rexnet.LinearBottleneck(16, 20, 1, exp_ratio=2, se_ratio=0.25),
                   "ChannelSlice"),
    }


@pytest.mark.parametrize("family", ["SKNet", "ResNeSt", "DPN", "ReXNet"])
def test_timm_branch_blocks_import_equal(family):
    factory, kind = _branch_blocks()[family]
    torch.manual_seed(0)
    model = factory().eval()
    randomise_batch_norms(model)
    shape = (16, 8, 8)
    result = import_model(model, shape, family)
    assert kind in _types(result.graph)
    assert Analyzer(result.graph).totals.params == sum(p.numel() for p in model.parameters())
    assert result.unused == []
    compiled = compile_graph(result.graph).eval()
    compiled.load_state_dict(result.state_dict, strict=True)
    x = torch.randn((2,) + shape)
    with torch.no_grad():
        assert (compiled(x) - model(x)).abs().max().item() <= 1e-5
