"""DenseNet blocks against torchvision's `_DenseLayer`, `_DenseBlock` and `_Transition` (weights
copied by name, outputs compared), and the channel arithmetic of the paper."""

import pytest
import torch
from torch import nn
from torchvision.models.densenet import _DenseBlock, _DenseLayer, _Transition

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer

from ...helpers import assert_same_outputs, one_block_design


class Wrap(nn.Module):
    def __init__(self, block, concat_input=False):
        super().__init__()
        self.block = block
        self.concat_input = concat_input

    def forward(self, x):
        y = self.block(x)
        return torch.cat([x, y], 1) if self.concat_input else y


def test_dense_layer_appends_torchvisions_new_features():
    torch.manual_seed(0)
    reference = Wrap(_DenseLayer(24, growth_rate=12, bn_size=4, drop_rate=0.0),
                     concat_input=True)
    graph = one_block_design("DenseLayer", (24, 8, 8), growth_rate=12)
    assert_same_outputs(graph, reference, (24, 8, 8))
    assert Analyzer(graph).results["block"].output_shape == (36, 8, 8)


def test_dense_layer_without_bottleneck():
    graph = one_block_design("DenseLayer", (16, 8, 8), growth_rate=12, bottleneck=False)
    analyzer = Analyzer(graph)
    assert analyzer.results["block"].output_shape == (28, 8, 8)
    assert analyzer.totals.params == 2 * 16 + 9 * 16 * 12    # BN-ReLU-3×3 only


def test_dense_block_is_torchvisions():
    torch.manual_seed(1)
    reference = Wrap(_DenseBlock(5, 24, bn_size=4, growth_rate=12, drop_rate=0.0))
    graph = one_block_design("DenseBlock", (24, 8, 8), num_layers=5, growth_rate=12)
    assert_same_outputs(graph, reference, (24, 8, 8))
    # m + L·k channels out.
    assert Analyzer(graph).results["block"].output_shape == (24 + 5 * 12, 8, 8)


def test_dropout_only_in_training():
    graph = one_block_design("DenseLayer", (8, 4, 4), growth_rate=4, drop_rate=0.5)
    compiled = compile_graph(graph)
    x = torch.randn(2, 8, 4, 4)
    with torch.no_grad():
        assert torch.equal(compiled.eval()(x), compiled(x))
        assert not torch.equal(compiled.train()(x)[:, 8:], compiled.eval()(x)[:, 8:])


@pytest.mark.parametrize("channels, compression, expected", [(256, 0.5, 128), (75, 0.5, 37),
                                                             (100, 1.0, 100), (90, 0.3, 27)])
def test_transition_compresses_and_halves(channels, compression, expected):
    graph = one_block_design("Transition", (channels, 9, 9), compression=compression)
    assert Analyzer(graph).results["block"].output_shape == (expected, 4, 4)
    if compression == 0.5:
        torch.manual_seed(2)
        assert_same_outputs(graph, Wrap(_Transition(channels, channels // 2)), (channels, 8, 8))
