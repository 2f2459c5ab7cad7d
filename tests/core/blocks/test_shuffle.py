"""ShuffleNet units: v2 against torchvision's unit, v1 against the paper's cost formula and
pytorchcv's unit, and their shape errors."""

import pytest
from torchvision.models.shufflenetv2 import InvertedResidual

from designer.core.infer import Analyzer

from ...helpers import assert_block_matches, one_block_design


@pytest.mark.parametrize("shape, out, stride", [((24, 16, 16), 116, 2), ((116, 8, 8), 116, 1),
                                                ((232, 7, 7), 464, 2)])
def test_shufflenet_v2_unit_is_torchvisions(shape, out, stride):
    graph = one_block_design("ShuffleUnitV2", shape, out_channels=out, stride=stride)
    assert_block_matches(graph, InvertedResidual(shape[0], out, stride), shape)


def test_shufflenet_v2_stride_one_needs_equal_channels():
    (error,) = Analyzer(one_block_design("ShuffleUnitV2", (64, 8, 8), out_channels=128)).errors()
    assert "must have as many channels" in error[1]


@pytest.mark.parametrize("c, out, g, stride", [(240, 240, 3, 1), (240, 480, 3, 2),
                                               (200, 200, 2, 1)])
def test_shufflenet_v1_unit_cost(c, out, g, stride):
    # Zhang et al. 2017, section 3.2: h·w·(2·c·m/g + 9·m) for a unit with bottleneck m, where
    # the second 1×1 has out (stride 1) or out - c (stride 2) channels.
    h = w = 14
    m = out // 4
    branch = out - c if stride == 2 else out
    oh = h // stride
    analyzer = Analyzer(one_block_design("ShuffleUnitV1", (c, h, w), out_channels=out, groups=g,
                               stride=stride))
    expected = h * w * c * m // g + oh * oh * (9 * m + m * branch // g)
    assert analyzer.totals.macs == expected
    assert analyzer.results["block"].output_shape == (out, oh, oh)


def test_shufflenet_v1_unit_errors():
    errors = Analyzer(one_block_design("ShuffleUnitV1", (240, 8, 8), out_channels=480)).errors()
    assert "must match" in errors[0][1]
    errors = Analyzer(one_block_design("ShuffleUnitV1", (100, 8, 8), out_channels=240, stride=2)).errors()
    assert "groups 3 does not divide the 100 input channels" in errors[0][1]


@pytest.mark.parametrize("shape, out, stride, first", [((24, 16, 16), 240, 2, False),
                                                       ((240, 8, 8), 240, 1, True),
                                                       ((240, 8, 8), 480, 2, True)])
def test_shufflenet_v1_unit_is_pytorchcvs(shape, out, stride, first):
    shufflenet = pytest.importorskip("pytorchcv.models.shufflenet")
    graph = one_block_design("ShuffleUnitV1", shape, out_channels=out, groups=3, stride=stride,
                   group_first=first)
    reference = shufflenet.ShuffleUnit(shape[0], out, 3, stride == 2, not first)
    assert_block_matches(graph, reference, shape, atol=1e-4)
