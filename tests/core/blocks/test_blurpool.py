"""BlurPool (Zhang 2019), the primitive layer: the binomial filter, ceil(H/s) outputs, agreement
with timm's BlurPool2d (odd filters) and with the paper's code for even filters (antialiased_cnns,
when installed), the reflect-padding error, and the shift robustness it exists for."""

import pytest
import torch
import torch.nn.functional as F
from timm.layers import BlurPool2d as TimmBlurPool

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.core.modules import BlurPool2d

from ...helpers import one_block_design


def test_filter_is_the_normalised_binomial():
    filt = BlurPool2d(1, 4).filt[0, 0]
    row = torch.tensor([1.0, 3.0, 3.0, 1.0])
    assert torch.allclose(filt, torch.outer(row, row) / 64)


@pytest.mark.parametrize("filter_size", [3, 5])
def test_matches_timm_for_odd_filters(filter_size):
    x = torch.randn(2, 5, 11, 10)
    ours = BlurPool2d(5, filter_size, 2, "reflect")
    assert torch.allclose(ours(x), TimmBlurPool(5, filter_size, 2)(x), atol=1e-6)


@pytest.mark.parametrize("filter_size, stride, pad_mode", [(4, 2, "reflect"), (2, 2, "zero"),
                                                           (4, 3, "replicate"), (1, 2, "zero")])
def test_matches_the_papers_code(filter_size, stride, pad_mode):
    antialiased_cnns = pytest.importorskip("antialiased_cnns")
    x = torch.randn(2, 3, 13, 12)
    reference = antialiased_cnns.BlurPool(3, pad_type=pad_mode, filt_size=filter_size,
                                          stride=stride)
    assert torch.allclose(BlurPool2d(3, filter_size, stride, pad_mode)(x), reference(x),
                          atol=1e-6)


@pytest.mark.parametrize("shape, stride", [((3, 9, 8), 2), ((2, 7, 7), 3), ((1, 4, 5), 1)])
def test_shape_rule_and_cost(shape, stride):
    graph = one_block_design("BlurPool", shape, filter_size=3, stride=stride)
    analyzer = Analyzer(graph)
    c, h, w = shape
    expected = (c, -(-h // stride), -(-w // stride))
    assert analyzer.results["block"].output_shape == expected
    assert analyzer.totals.params == 0
    assert compile_graph(graph)(torch.randn((1,) + shape)).shape[1:] == expected
    assert analyzer.totals.macs == c * 9 * expected[1] * expected[2]


def test_reflect_padding_needs_room():
    (error,) = Analyzer(one_block_design("BlurPool", (3, 2, 2), filter_size=5)).errors()
    assert "reflect padding" in error[1]
    assert not Analyzer(one_block_design("BlurPool", (3, 2, 2), filter_size=5, pad_mode="zero")).errors()


def test_blurred_downsampling_is_more_shift_robust():
    # A one-pixel shift of a sharp pattern flips plain stride-2 subsampling completely; after
    # the blur the two outputs stay close (the paper's motivation).
    x = torch.zeros(1, 1, 16, 16)
    x[..., ::2] = 1.0
    shifted = torch.roll(x, 1, dims=3)
    plain = (F.max_pool2d(x, 1, 2) - F.max_pool2d(shifted, 1, 2)).abs().mean()
    blur = BlurPool2d(1, 4, 2)
    blurred = (blur(x) - blur(shifted)).abs().mean()
    assert plain == 1.0 and blurred < 0.1 * plain


def test_filter_is_not_in_the_state_dict():
    assert compile_graph(one_block_design("BlurPool", (3, 8, 8))).state_dict() == {}
