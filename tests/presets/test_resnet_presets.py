"""The residual presets against their references.

- torchvision (weights=None) for resnet18/34/50/101/152, resnext50_32x4d, resnext101_32x8d and
  timm (pretrained=False) seresnet50 for se_resnet50: equal parameter count at 224×224 (on the meta
  device, no forward), then the reference's state_dict loads strictly and, in eval mode, the
  outputs agree within 1e-4 on random 64×64 input (the nets pool adaptively, so a small input
  exercises every weight cheaply).
- The CIFAR networks against the papers' numbers and against small reference implementations
  written here from the papers' equations (weights copied by name, outputs compared).
"""

from collections import OrderedDict

import pytest
import timm
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from designer.core.blocks.residual import survival_probability
from designer.core.modules import ZeroPadShortcut
from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.core.presets import load_design
from .. import helpers
from ..helpers import param_count, randomise_batch_norms, shape_of

TORCHVISION = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
               "resnext101_32x8d"]


def graph_classes(graph):
    from designer.core.infer import Analyzer
    return Analyzer(graph).results[graph.nodes_of_type("Output")[0].id].output_shape[0]


def assert_same_network(graph, reference, size=64, classes=1000):
    """Strict state_dict load, then equal eval-mode outputs on random input."""
    torch.manual_seed(0)
    randomise_batch_norms(reference)
    assert graph_classes(graph) == classes
    helpers.assert_same_network(graph, reference, size)


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_parameter_count_at_224(name):
    graph = load_design(name)
    with torch.device("meta"):
        reference = getattr(torchvision.models, name)(weights=None)
        compiled = compile_graph(graph)
    expected = param_count(reference)
    assert Analyzer(graph).totals.params == expected
    assert param_count(compiled) == expected


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_weights_load_and_outputs_match(name):
    torch.manual_seed(1)
    reference = getattr(torchvision.models, name)(weights=None)
    assert_same_network(load_design(name), reference)


def test_se_resnet50_is_timm_seresnet50():
    # timm's names are used as they are: no key map is needed.
    graph = load_design("se_resnet50")
    with torch.device("meta"):
        meta_reference = timm.create_model("seresnet50", pretrained=False)
    assert Analyzer(graph).totals.params == param_count(meta_reference) == 28_088_024
    torch.manual_seed(2)
    reference = timm.create_model("seresnet50", pretrained=False)
    assert_same_network(graph, reference)


def test_resnet50_is_built_of_blocks_with_the_stage_shapes():
    graph = load_design("resnet50")
    blocks = [n for n in graph.nodes.values() if n.type == "Bottleneck"]
    assert len(blocks) == 16
    assert len(graph.nodes) == 16 + 4 + 4  # blocks; stem conv, bn, relu, pool; pool, fc, in, out
    analyzer = Analyzer(graph)
    assert shape_of(analyzer, "maxpool") == (64, 56, 56)
    assert shape_of(analyzer, "layer1.2") == (256, 56, 56)
    assert shape_of(analyzer, "layer2.3") == (512, 28, 28)
    assert shape_of(analyzer, "layer3.5") == (1024, 14, 14)
    assert shape_of(analyzer, "layer4.2") == (2048, 7, 7)
    assert shape_of(analyzer, "fc") == (1000,)


def test_resnet18_stage_shapes_and_projections():
    graph = load_design("resnet18")
    analyzer = Analyzer(graph)
    assert [shape_of(analyzer, f"layer{s}.1") for s in range(1, 5)] == \
        [(64, 56, 56), (128, 28, 28), (256, 14, 14), (512, 7, 7)]
    # Option B: a projection only where the shape changes (first block of stages 2-4).
    keys = compile_graph(graph).state_dict().keys()
    projected = sorted({k.split(".downsample")[0] for k in keys if ".downsample." in k})
    assert projected == ["layer2.0", "layer3.0", "layer4.0"]


def test_resnext_widths_follow_torchvision():
    graph = load_design("resnext50_32x4d")
    with torch.device("meta"):
        compiled = compile_graph(graph)
    convs = [compiled.get_submodule(f"layer{s}.0.conv2") for s in range(1, 5)]
    assert [(c.out_channels, c.groups) for c in convs] == [(128, 32), (256, 32), (512, 32),
                                                           (1024, 32)]


# ---- CIFAR: He et al. 2015 -------------------------------------------------------------

class PaperCifarResNet(nn.Module):
    """He et al. 2015, section 4.2, written from the paper: 3×3 conv 16, 3 stages of n basic
    blocks (16/32/64), option A shortcuts (subsample, zero channels appended), GAP, FC 10."""

    def __init__(self, n):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        channels = 16
        for stage, width in enumerate((16, 32, 64), 1):
            blocks = []
            for i in range(n):
                stride = 2 if stage > 1 and i == 0 else 1
                blocks.append(PaperBasicBlock(channels, width, stride))
                channels = width
            self.add_module(f"layer{stage}", nn.Sequential(*blocks))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class PaperBasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride, self.extra = stride, planes - inplanes

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = x[:, :, ::self.stride, ::self.stride]
        if self.extra:
            zeros = shortcut.new_zeros((x.shape[0], self.extra) + shortcut.shape[2:])
            shortcut = torch.cat([shortcut, zeros], 1)
        return F.relu(y + shortcut)


# He et al. 2015, Table 6: ResNet-20/56/110 have 0.27 M / 0.85 M / 1.7 M parameters.
CIFAR = [("resnet20_cifar", 3, 0.27e6), ("resnet56_cifar", 9, 0.85e6), ("resnet110_cifar", 18, 1.7e6)]


@pytest.mark.parametrize("name, n, paper_count", CIFAR)
def test_cifar_resnet_matches_paper(name, n, paper_count):
    graph = load_design(name)
    analyzer = Analyzer(graph)
    count = analyzer.totals.params
    assert abs(count - paper_count) / paper_count < 0.02
    # Option A adds no parameter: exactly the convolutions, batch norms and FC of 6n+2 layers.
    convs = 9 * (3 * 16 + 2 * n * 16 * 16 + 16 * 32 + (2 * n - 1) * 32 * 32
                 + 32 * 64 + (2 * n - 1) * 64 * 64)
    norms = 2 * (16 + 2 * n * (16 + 32 + 64))
    assert count == convs + norms + 64 * 10 + 10
    assert [shape_of(analyzer, f"layer{s}.{n - 1}") for s in (1, 2, 3)] == \
        [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    compiled = compile_graph(graph)
    padded = [name for name, m in compiled.named_modules() if isinstance(m, ZeroPadShortcut)]
    assert padded == ["layer2.0.shortcut", "layer3.0.shortcut"]
    reference = PaperCifarResNet(n)
    assert param_count(reference) == count
    assert_same_network(graph, reference, size=32, classes=10)


def test_stochastic_depth_resnet110():
    # Huang et al. 2016: ResNet-110 (1.7 M) with linear decay p_l = 1 − l/L·(1 − p_L), p_L = 0.5.
    graph = load_design("stochastic_depth_resnet110_cifar")
    blocks = [graph.nodes[f"layer{s}.{i}"] for s in (1, 2, 3) for i in range(18)]
    assert all(b.type == "StochasticDepthBlock" for b in blocks)
    probabilities = [b.params["survival_probability"] for b in blocks]
    assert probabilities == [pytest.approx(1 - l / 54 * 0.5) for l in range(1, 55)]
    assert probabilities[-1] == pytest.approx(0.5)
    assert survival_probability(27, 54, 0.5) == pytest.approx(0.75)
    assert Analyzer(graph).totals.params == Analyzer(load_design("resnet110_cifar")).totals.params

    # At evaluation it is the plain ResNet-110; in training whole branches drop per sample.
    plain = compile_graph(load_design("resnet110_cifar")).eval()
    stochastic = compile_graph(graph)
    stochastic.load_state_dict(plain.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(stochastic.eval()(x), plain(x), atol=1e-5)
        stochastic.train()
        torch.manual_seed(0)
        first = stochastic(x)
        torch.manual_seed(1)
        assert not torch.allclose(first, stochastic(x))


# ---- CIFAR: He et al. 2016, full pre-activation ------------------------------------------

class PaperPreActBottleneck(nn.Module):
    """He et al. 2016, Fig. 4(e) bottleneck: BN-ReLU-1×1, BN-ReLU-3×3, BN-ReLU-1×1 (×4);
    a projection, where needed, takes the activated input."""

    def __init__(self, inplanes, planes, stride):
        super().__init__()
        out = 4 * planes
        self.bn1, self.conv1 = nn.BatchNorm2d(inplanes), nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(planes), nn.Conv2d(planes, planes, 3, stride, 1,
                                                                 bias=False)
        self.bn3, self.conv3 = nn.BatchNorm2d(planes), nn.Conv2d(planes, out, 1, bias=False)
        self.downsample = (nn.Sequential(nn.Conv2d(inplanes, out, 1, stride, bias=False))
                           if stride != 1 or inplanes != out else None)

    def forward(self, x):
        a = F.relu(self.bn1(x))
        y = self.conv1(a)
        y = self.conv2(F.relu(self.bn2(y)))
        y = self.conv3(F.relu(self.bn3(y)))
        return y + (self.downsample(a) if self.downsample is not None else x)


def test_preact_resnet164_matches_paper():
    graph = load_design("preact_resnet164_cifar")
    analyzer = Analyzer(graph)
    # He et al. 2016, Table 2 / section 4: ResNet-164 has 1.7 M parameters.
    assert abs(analyzer.totals.params - 1.7e6) / 1.7e6 < 0.02
    assert [shape_of(analyzer, f"layer{s}.17") for s in (1, 2, 3)] == \
        [(64, 32, 32), (128, 16, 16), (256, 8, 8)]
    blocks = OrderedDict()
    channels = 16
    for stage, planes in enumerate((16, 32, 64), 1):
        for i in range(18):
            blocks[f"layer{stage}.{i}"] = PaperPreActBottleneck(channels, planes,
                                                                2 if stage > 1 and i == 0 else 1)
            channels = 4 * planes
    reference = nn.Module()
    reference.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
    for stage in (1, 2, 3):
        reference.add_module(f"layer{stage}", nn.Sequential(
            *[v for k, v in blocks.items() if k.startswith(f"layer{stage}.")]))
    reference.bn_final = nn.BatchNorm2d(256)
    reference.fc = nn.Linear(256, 10)
    assert param_count(reference) == analyzer.totals.params == 1_703_258

    compiled = compile_graph(graph)
    compiled.load_state_dict(reference.state_dict(), strict=True)
    compiled.eval()
    reference.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        y = reference.layer3(reference.layer2(reference.layer1(reference.conv1(x))))
        y = F.relu(reference.bn_final(y))
        expected = reference.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))
        assert (compiled(x) - expected).abs().max().item() <= 1e-4
