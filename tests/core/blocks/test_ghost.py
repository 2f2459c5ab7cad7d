"""Ghost module and Ghost bottleneck against timm's (weights copied by name, outputs compared),
including an odd width that needs the channel slice, and the module's cost (Han et al. 2020,
eq. 4: about s times fewer multiply-adds than an ordinary convolution)."""

import pytest
from timm.models.ghostnet import GhostBottleneck, GhostModule
from torch import nn

from designer.core.infer import Analyzer

from ...helpers import assert_block_matches, one_block_design


@pytest.mark.parametrize("c, out, relu", [(16, 48, True), (24, 7, False), (10, 30, True)])
def test_ghost_module_is_timms(c, out, relu):
    graph = one_block_design("GhostModule", (c, 9, 9), out_channels=out, relu=relu)
    reference = GhostModule(c, out, act_layer=nn.ReLU if relu else nn.Identity)
    assert_block_matches(graph, reference, (c, 9, 9))


@pytest.mark.parametrize("c, mid, out, kernel, stride, se", [
    (16, 16, 16, 3, 1, 0.0), (16, 48, 24, 3, 2, 0.0), (24, 72, 40, 5, 2, 0.25),
    (112, 672, 112, 3, 1, 0.25)])
def test_ghost_bottleneck_is_timms(c, mid, out, kernel, stride, se):
    graph = one_block_design("GhostBottleneck", (c, 10, 10), mid_channels=mid, out_channels=out,
                   kernel=kernel, stride=stride, se_ratio=se)
    assert_block_matches(graph, GhostBottleneck(c, mid, out, kernel, stride, se_ratio=se), (c, 10, 10),
                   atol=1e-4)


def test_ghost_module_is_about_s_times_cheaper():
    ghost = Analyzer(one_block_design("GhostModule", (128, 14, 14), out_channels=256, kernel=3)).totals
    plain = Analyzer(one_block_design("Conv2d", (128, 14, 14), "block", out_channels=256, kernel=3,
                            bias=False)).totals
    # r_s = c·k² / (c·k²/s + (s-1)/s·d²) ≈ s for s = 2.
    assert 1.9 < plain.macs / ghost.macs < 2.0
