"""timm models import too: timm's own layers (BatchNormAct2d's functional batch norm, ConvNeXt's
reshaped gamma) map onto catalogue layers, and the design computes what the model computes."""

import pytest
import torch

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.interop.pytorch import import_model, load_source


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
