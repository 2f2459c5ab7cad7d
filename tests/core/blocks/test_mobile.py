"""MobileNet blocks: the inverted residual against torchvision's, the depthwise-separable block
against timm's MobileNet v1 block and its width multiplier, and the IGCV3 block against
pytorchcv's and its permutations."""

import pytest
import timm
import torch
from torchvision.models.mobilenetv2 import InvertedResidual

from designer.core.blocks.mobile import scaled_channels
from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.core.modules import ChannelShuffle

from ...helpers import assert_block_matches, one_block_design


@pytest.mark.parametrize("shape, out, stride, t", [
    ((32, 10, 10), 16, 1, 1), ((16, 10, 10), 24, 2, 6), ((24, 9, 9), 24, 1, 6),
    ((64, 7, 7), 96, 1, 6)])
def test_inverted_residual_is_torchvisions(shape, out, stride, t):
    graph = one_block_design("InvertedResidual", shape, out_channels=out, stride=stride, expansion=t)
    assert_block_matches(graph, InvertedResidual(shape[0], out, stride, t), shape)
    # Sandler et al. 2018: the shortcut only where input and output shapes agree.
    inner = graph.nodes["block"].block_graph([shape])
    assert bool(inner.nodes_of_type("Add")) == (stride == 1 and shape[0] == out)


def test_depthwise_separable_is_timms_mobilenet_v1_block():
    reference = timm.create_model("mobilenetv1_100", pretrained=False)
    block = reference.blocks[1][0]  # 64 → 128, stride 2
    graph = one_block_design("DepthwiseSeparable", (64, 12, 12), out_channels=128, stride=2,
                   activation="relu6")
    assert_block_matches(graph, block, (64, 12, 12))


@pytest.mark.parametrize("alpha", [1.0, 0.75, 0.5, 0.25])
def test_width_multiplier_thins_the_block(alpha):
    c = scaled_channels(512, alpha)
    graph = one_block_design("DepthwiseSeparable", (c, 14, 14), out_channels=512, alpha=alpha)
    analyzer = Analyzer(graph)
    assert analyzer.results["block"].output_shape == (c, 14, 14)
    # Howard et al. 2017, eq. 5: D_K²·αM·D_F² + αM·αN·D_F² multiply-adds.
    assert analyzer.totals.macs == 9 * c * 14 * 14 + c * c * 14 * 14


def test_igcv3_block_is_pytorchcvs_without_the_output_permutation():
    igcv3 = pytest.importorskip("pytorchcv.models.igcv3")
    graph = one_block_design("IGCV3Block", (24, 10, 10), out_channels=24, permute_output=False)
    assert_block_matches(graph, igcv3.InvResUnit(24, 24, 1, True, "relu6"), (24, 10, 10), atol=1e-4)


def test_igcv3_block_uses_group_convolutions():
    # Two 2-group 1×1 convolutions: half the weights of MobileNetV2's dense ones.
    igc = Analyzer(one_block_design("IGCV3Block", (32, 8, 8), out_channels=32)).totals.params
    mnv2 = Analyzer(one_block_design("InvertedResidual", (32, 8, 8), out_channels=32)).totals.params
    hidden = 32 * 6
    assert mnv2 - igc == (32 * hidden) // 2 * 2


def test_igcv3_output_permutation_undoes_the_shuffle():
    x = torch.arange(24.0).view(1, 24, 1, 1)
    assert torch.equal(ChannelShuffle(12)(ChannelShuffle(2)(x)), x)


def test_stride_two_inverted_residual_has_no_shortcut_and_rounds_up():
    graph = one_block_design("InvertedResidual", (8, 5, 5), out_channels=8, stride=2, expansion=2.5)
    module = compile_graph(graph).eval()
    assert module(torch.randn(1, 8, 5, 5)).shape == (1, 8, 3, 3)
    assert not graph.nodes["block"].block_graph([(8, 5, 5)]).nodes_of_type("Add")
