"""Fire and SqueezeNext blocks against torchvision's Fire and pytorchcv's SqnxtUnit, the Fire
bypass options (Iandola et al. 2016, section 6) and the SqueezeNext block's parameter formula."""

import pytest
import torch
from torchvision.models.squeezenet import Fire

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer

from ...helpers import assert_block_matches, one_block_design


@pytest.mark.parametrize("shape, s, e1, e3", [((96, 13, 13), 16, 64, 64), ((7, 5, 6), 3, 5, 4)])
def test_fire_is_torchvisions(shape, s, e1, e3):
    graph = one_block_design("Fire", shape, squeeze=s, expand1x1=e1, expand3x3=e3)
    assert_block_matches(graph, Fire(shape[0], s, e1, e3), shape)


def test_fire_simple_bypass_adds_the_input():
    torch.manual_seed(0)
    plain = compile_graph(one_block_design("Fire", (128, 6, 6), squeeze=16)).eval()
    bypass = compile_graph(one_block_design("Fire", (128, 6, 6), squeeze=16, bypass="simple")).eval()
    bypass.load_state_dict(plain.state_dict())
    x = torch.randn(1, 128, 6, 6)
    with torch.no_grad():
        assert torch.allclose(bypass(x), plain(x) + x, atol=1e-6)


def test_fire_bypass_options():
    errors = Analyzer(one_block_design("Fire", (96, 6, 6), bypass="simple")).errors()
    assert errors and "complex bypass" in errors[0][1]
    # The complex bypass projects with a 1×1 convolution (with bias) only where needed.
    complex_ = Analyzer(one_block_design("Fire", (96, 6, 6), bypass="complex")).totals.params
    plain = Analyzer(one_block_design("Fire", (96, 6, 6))).totals.params
    assert complex_ - plain == 96 * 128 + 128
    same = Analyzer(one_block_design("Fire", (128, 6, 6), bypass="complex")).totals.params
    assert same == Analyzer(one_block_design("Fire", (128, 6, 6))).totals.params


def _sqnxt_params(c, out, den, project):
    """Conv weights + biases + BN affine of the five layers (and the projection)."""
    a, b = c // den, c // (2 * den)
    layers = [(c, a, 1), (a, b, 1), (b, a, 3), (a, a, 3), (a, out, 1)]
    if project:
        layers.append((c, out, 1))
    return sum(i * o * k + o + 2 * o for i, o, k in layers)


@pytest.mark.parametrize("shape, out, stride, den, project", [
    ((64, 16, 16), 32, 1, 4, True), ((32, 16, 16), 32, 1, 2, False),
    ((32, 16, 16), 64, 2, 1, True)])
def test_squeezenext_block_parameters(shape, out, stride, den, project):
    graph = one_block_design("SqueezeNextBlock", shape, out_channels=out, stride=stride)
    assert Analyzer(graph).totals.params == _sqnxt_params(shape[0], out, den, project)


@pytest.mark.parametrize("shape, out, stride", [((64, 12, 12), 32, 1), ((32, 12, 12), 32, 1),
                                                ((64, 12, 12), 128, 2)])
def test_squeezenext_block_is_pytorchcvs(shape, out, stride):
    squeezenext = pytest.importorskip("pytorchcv.models.squeezenext")
    graph = one_block_design("SqueezeNextBlock", shape, out_channels=out, stride=stride)
    assert_block_matches(graph, squeezenext.SqnxtUnit(shape[0], out, stride), shape, atol=1e-4)
