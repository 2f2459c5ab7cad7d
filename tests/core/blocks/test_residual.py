"""Residual blocks: the shortcut each option chooses, torchvision's and the papers' equations
reproduced with copied weights, stochastic depth in training, and clear errors."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from designer.core.blocks.residual import bottleneck_width, survival_probability
from designer.core.modules import ZeroPadShortcut
from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.core.params import ParamValues
from designer.core.registry import get_spec

from ...helpers import Holder, assert_same_outputs, one_block_design


def inner_ids(type_name, shape, **params):
    spec = get_spec(type_name)
    values = spec.defaults()
    values.update(params)
    return set(spec.subgraph(values, [shape]).nodes)


@pytest.mark.parametrize("shape, params, expected", [
    ((64, 8, 8), dict(out_channels=64, shortcut="B"), set()),
    ((64, 8, 8), dict(out_channels=128, stride=2, shortcut="B"), {"downsample.0", "downsample.1"}),
    ((64, 8, 8), dict(out_channels=64, shortcut="C"), {"downsample.0", "downsample.1"}),
    ((64, 8, 8), dict(out_channels=64, shortcut="A"), set()),
    ((64, 8, 8), dict(out_channels=128, stride=2, shortcut="A"), {"shortcut"}),
    ((64, 8, 8), dict(out_channels=64, stride=2, shortcut="A"), {"shortcut"}),
])
def test_shortcut_options_decide_from_the_input_shape(shape, params, expected):
    ids = inner_ids("BasicBlock", shape, **params)
    assert ids & {"downsample.0", "downsample.1", "shortcut"} == expected


def test_option_a_adds_no_parameters():
    a = Analyzer(one_block_design("BasicBlock", (16, 32, 32), out_channels=32, stride=2,
                                  shortcut="A"))
    b = Analyzer(one_block_design("BasicBlock", (16, 32, 32), out_channels=32, stride=2,
                                  shortcut="B"))
    convs_and_norms = 9 * 16 * 32 + 9 * 32 * 32 + 4 * 32
    assert a.totals.params == convs_and_norms
    assert b.totals.params == convs_and_norms + 16 * 32 + 2 * 32
    assert a.results["block"].output_shape == (32, 16, 16)


def test_zero_pad_shortcut_subsamples_and_appends_zero_channels():
    x = torch.randn(2, 3, 7, 7)
    y = ZeroPadShortcut(5, 2)(x)
    assert y.shape == (2, 5, 4, 4)
    assert torch.equal(y[:, :3], x[:, :, ::2, ::2])
    assert torch.count_nonzero(y[:, 3:]) == 0
    scripted = torch.jit.script(ZeroPadShortcut(5, 2))
    assert torch.equal(scripted(x), y)
    # The shape rule agrees with the module on odd sizes (rounding up).
    rule = get_spec("ZeroPadShortcut").rule
    assert rule(ParamValues(out_channels=5, stride=2), [(3, 7, 7)]).outputs == ((5, 4, 4),)


def test_option_a_cannot_remove_channels():
    analyzer = Analyzer(one_block_design("BasicBlock", (64, 8, 8), out_channels=32, shortcut="A"))
    (error,) = [r.error for r in analyzer.results.values() if r.error]
    assert "zero padding can only add channels" in error and "64 channels" in error


def test_blocks_need_an_image():
    analyzer = Analyzer(one_block_design("Bottleneck", (256,)))
    assert "image tensor" in analyzer.results["block"].error


@pytest.mark.parametrize("inplanes, planes, stride", [(64, 64, 1), (64, 128, 2)])
def test_basic_block_is_torchvisions(inplanes, planes, stride):
    downsample = None
    if stride != 1 or inplanes != planes:
        downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                   nn.BatchNorm2d(planes))
    reference = Holder(BasicBlock(inplanes, planes, stride, downsample))
    graph = one_block_design("BasicBlock", (inplanes, 8, 8), out_channels=planes, stride=stride)
    assert_same_outputs(graph, reference, (inplanes, 8, 8))


@pytest.mark.parametrize("groups, base_width", [(1, 64), (1, 128), (32, 4)])
def test_bottleneck_widths_are_torchvisions(groups, base_width):
    # (1, 128) is Wide ResNet-50-2's bottleneck; (32, 4) ResNeXt's 32×4d.
    downsample = nn.Sequential(nn.Conv2d(128, 256, 1, 2, bias=False), nn.BatchNorm2d(256))
    reference = Holder(Bottleneck(128, 64, 2, downsample, groups=groups, base_width=base_width))
    graph = one_block_design("Bottleneck", (128, 8, 8), planes=64, stride=2, groups=groups,
                             base_width=base_width)
    assert_same_outputs(graph, reference, (128, 8, 8))


def test_resnext_block_equals_the_grouped_bottleneck():
    assert bottleneck_width(64, 32, 4) == 128
    assert bottleneck_width(256, 32, 8) == 1024
    resnext = one_block_design("ResNeXtBlock", (256, 8, 8), planes=128, stride=2,
                               cardinality=32, bottleneck_width=4)
    downsample = nn.Sequential(nn.Conv2d(256, 512, 1, 2, bias=False), nn.BatchNorm2d(512))
    reference = Holder(Bottleneck(256, 128, 2, downsample, groups=32, base_width=4))
    assert_same_outputs(resnext, reference, (256, 8, 8))
    conv2 = compile_graph(resnext).get_submodule("block.conv2")
    assert (conv2.in_channels, conv2.out_channels, conv2.groups) == (256, 256, 32)


class PaperPreActBasic(nn.Module):
    """He et al. 2016, Fig. 4(e): x + conv(ReLU(BN(conv(ReLU(BN(x)))))), the projection (when
    the shape changes) applied to the activated input."""

    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(inplanes), nn.Conv2d(inplanes, planes, 3, stride, 1,
                                                                   bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(planes), nn.Conv2d(planes, planes, 3, 1, 1,
                                                                 bias=False)
        self.downsample = (nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False))
                           if stride != 1 or inplanes != planes else None)

    def forward(self, x):
        a = F.relu(self.bn1(x))
        y = self.conv2(F.relu(self.bn2(self.conv1(a))))
        return y + (self.downsample(a) if self.downsample is not None else x)


@pytest.mark.parametrize("inplanes, planes, stride", [(32, 32, 1), (32, 64, 2)])
def test_preact_basic_block_follows_the_paper(inplanes, planes, stride):
    graph = one_block_design("PreActBasicBlock", (inplanes, 8, 8), out_channels=planes,
                             stride=stride)
    assert_same_outputs(graph, Holder(PaperPreActBasic(inplanes, planes, stride)), (inplanes, 8, 8))
    # Nothing follows the addition: negative outputs survive (no ReLU after the add).
    compiled = compile_graph(graph).eval()
    with torch.no_grad():
        assert (compiled(torch.randn(2, inplanes, 8, 8)) < 0).any()


def test_preact_bottleneck_output_width():
    analyzer = Analyzer(one_block_design("PreActBottleneck", (64, 8, 8), planes=32, stride=2))
    assert analyzer.results["block"].output_shape == (128, 4, 4)


def test_linear_decay_rule():
    # Huang et al. 2016, eq. (4): p_l = 1 − l/L (1 − p_L).
    assert survival_probability(54, 54, 0.5) == pytest.approx(0.5)
    assert survival_probability(1, 54, 0.5) == pytest.approx(1 - 0.5 / 54)
    assert survival_probability(10, 20, 0.8) == pytest.approx(0.9)


def test_stochastic_depth_drops_whole_branches_in_training_only():
    torch.manual_seed(0)
    graph = one_block_design("StochasticDepthBlock", (4, 4, 4), out_channels=4,
                             survival_probability=0.5)
    compiled = compile_graph(graph)
    x = torch.rand(400, 4, 4, 4)            # non-negative: a dropped branch leaves ReLU(x) = x
    with torch.no_grad():
        y = compiled.train()(x)
        dropped = (y == x).flatten(1).all(1).float().mean().item()
        assert 0.4 < dropped < 0.6
        y = compiled.eval()(x)
        assert not (y == x).flatten(1).all(1).any()


def test_se_bottleneck_puts_se_before_the_addition():
    graph = one_block_design("SEBottleneck", (256, 8, 8), planes=64, reduction=16)
    compiled = compile_graph(graph)
    keys = set(compiled.state_dict())
    assert {"block.se.fc1.weight", "block.se.fc1.bias", "block.se.fc2.weight"} <= keys
    assert compiled.get_submodule("block.se.fc1").out_channels == 16
    inner = get_spec("SEBottleneck").subgraph(get_spec("SEBottleneck").defaults(), [(256, 8, 8)])
    (edge,) = [e for e in inner.edges if e.src == "se"]
    assert edge.dst == "add"
