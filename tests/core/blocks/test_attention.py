"""The squeeze-and-excitation block against timm's SEModule and CBAM against timm's CbamModule
(weights copied by name, outputs compared), SE's squeezed width, and SE after another block (the
SE-Inception arrangement)."""

import pytest
import torch
from timm.layers import SEModule
from timm.layers.cbam import CbamModule
from torch import nn

from designer.core.blocks.attention import squeezed_channels
from designer.core.builder import GraphBuilder
from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from ...helpers import assert_block_matches, one_block_design


def se_graph(shape, **params):
    b = GraphBuilder("SE")
    x = b.input(shape)
    b.output(b.add("SEBlock", "se", x, **params))
    return b.finish(layout=False)


class Wrap(nn.Module):
    def __init__(self, se):
        super().__init__()
        self.se = se

    def forward(self, x):
        return self.se(x)


@pytest.mark.parametrize("channels, reduction, divisor, gate, timm_gate", [
    (256, 16, 1, "sigmoid", "sigmoid"),
    (200, 16, 8, "sigmoid", "sigmoid"),
    (96, 4, 8, "hardsigmoid", "hard_sigmoid"),
])
def test_se_block_is_timms_se_module(channels, reduction, divisor, gate, timm_gate):
    torch.manual_seed(0)
    reference = Wrap(SEModule(channels, rd_ratio=1 / reduction, rd_divisor=divisor,
                              gate_layer=timm_gate))
    graph = se_graph((channels, 5, 5), reduction=reduction, divisor=divisor, gate=gate)
    compiled = compile_graph(graph)
    compiled.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, channels, 5, 5)
    with torch.no_grad():
        assert torch.allclose(compiled(x), reference(x), atol=1e-6)
    squeezed = reference.se.fc1.out_channels
    assert squeezed_channels(channels, reduction, divisor) == squeezed
    # Hu et al. 2018: 2·C²/r weights plus biases.
    assert Analyzer(graph).totals.params == 2 * channels * squeezed + squeezed + channels


@pytest.mark.parametrize("channels, reduction, divisor, kernel, bias", [
    (64, 16, 1, 7, False),     # the paper's r = 16 and 7×7
    (48, 8, 8, 3, True),
])
def test_cbam_is_timms_cbam_module(channels, reduction, divisor, kernel, bias):
    shape = (channels, 9, 9)
    graph = one_block_design("CBAM", shape, reduction=reduction, divisor=divisor, kernel=kernel,
                             bias=bias)
    reference = CbamModule(channels, rd_ratio=1 / reduction, rd_divisor=divisor,
                           spatial_kernel_size=kernel, mlp_bias=bias)
    assert_block_matches(graph, reference, shape)


def test_cbam_needs_an_odd_spatial_kernel():
    errors = Analyzer(one_block_design("CBAM", (64, 9, 9), kernel=4)).errors()
    assert errors == [("block", "CBAM: the spatial kernel 4 must be odd, so the attention map "
                                "keeps the input's height and width")]


def test_se_rescales_each_channel_by_a_gate_between_0_and_1():
    compiled = compile_graph(se_graph((8, 6, 6), reduction=2)).eval()
    x = torch.rand(1, 8, 6, 6) + 0.1
    with torch.no_grad():
        ratio = compiled(x) / x
    per_channel = ratio.flatten(2)
    assert torch.allclose(per_channel, per_channel[..., :1].expand_as(per_channel), atol=1e-6)
    assert ((ratio > 0) & (ratio < 1)).all()


def test_se_after_any_block():
    # SE-Inception: an SE block after a module keeps its output shape and adds 2·C²/r + C/r + C.
    b = GraphBuilder("SE after a block")
    x = b.input((64, 16, 16))
    y = b.add("BasicBlock", "block", x, out_channels=128, stride=2)
    b.output(b.add("SEBlock", "se", y))
    analyzer = Analyzer(b.finish(layout=False))
    assert analyzer.results["se"].output_shape == (128, 8, 8)
    assert analyzer.results["se"].params == 2 * 128 * 8 + 8 + 128


def test_se_needs_an_image():
    analyzer = Analyzer(se_graph((64,)))
    assert "image tensor" in analyzer.results["se"].error


def test_se_keeps_the_receptive_field_grid():
    # The gate sees the whole map, but the output stays on the input's grid: a 3×3 after a
    # stride-2 conv and SE grows the receptive field by 2·2, not by the pool's extent.
    b = GraphBuilder("grid")
    x = b.input((8, 16, 16))
    x = b.add("Conv2d", "down", x, out_channels=16, kernel=3, stride=2, padding=1)
    x = b.add("SEBlock", "se", x, reduction=4)
    b.output(b.add("Conv2d", "after", x, out_channels=16, kernel=3, padding=1))
    results = Analyzer(b.finish(layout=False)).results
    se, after = results["se"].outputs["out"], results["after"].outputs["out"]
    assert se.rf_jump == (2, 2)
    assert after.rf_size[0] == se.rf_size[0] + 2 * 2
