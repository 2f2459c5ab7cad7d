"""CondenseNet's condensed learned group convolution: the index it gathers by is a buffer saved
with the weights, the layer computes gather → BN → ReLU → G-group 1×1 → channel shuffle exactly,
and it has the parameter count of the paper's condensed layer (1/C of the dense weights)."""

import pytest
import torch
import torch.nn.functional as F

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer

from ...helpers import one_block_design


def test_index_is_stored_with_the_weights_and_used():
    graph = one_block_design("LearnedGroupConv", (16, 5, 5), out_channels=8, groups=4, condense_factor=4)
    compiled = compile_graph(graph).eval()
    state = compiled.state_dict()
    assert state["block.gather.index"].tolist() == list(range(16))
    torch.manual_seed(0)
    index = torch.randint(0, 16, (16,))
    for key, value in state.items():
        if key.endswith("bn.running_var"):
            value.uniform_(0.5, 1.5)
    state["block.gather.index"] = index
    compiled.load_state_dict(state)
    x = torch.randn(2, 16, 5, 5)
    bn, conv = compiled.block.bn, compiled.block.conv
    y = F.relu(F.batch_norm(x[:, index], bn.running_mean, bn.running_var, bn.weight, bn.bias,
                            eps=bn.eps))
    y = F.conv2d(y, conv.weight, groups=4)
    y = y.view(2, 4, 2, 5, 5).transpose(1, 2).reshape(2, 8, 5, 5)
    with torch.no_grad():
        assert torch.allclose(compiled(x), y, atol=1e-6)


@pytest.mark.parametrize("c, out, g, cf", [(64, 128, 4, 4), (64, 128, 8, 8), (64, 128, 4, 8)])
def test_condensed_parameters(c, out, g, cf):
    analyzer = Analyzer(one_block_design("LearnedGroupConv", (c, 7, 7), out_channels=out, groups=g,
                               condense_factor=cf))
    gathered = c * g // cf
    # Each of the out weights' rows keeps c/C inputs: out·c/C weights, plus BN on what is read.
    assert analyzer.totals.params == out * c // cf + 2 * gathered


def test_condensation_factor_must_divide_the_input():
    errors = Analyzer(one_block_design("LearnedGroupConv", (30, 7, 7), condense_factor=4)).errors()
    assert "does not divide the 30 input channels" in errors[0][1]


def test_condense_unit_grows_the_features():
    analyzer = Analyzer(one_block_design("CondenseUnit", (48, 8, 8), growth_rate=16, groups=8,
                               condense_factor=8))
    assert analyzer.results["block"].output_shape == (64, 8, 8)
