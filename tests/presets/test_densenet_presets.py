"""The DenseNet presets against their references.

- densenet121/169/201: torchvision (weights=None): equal parameter count at 224×224 on the meta
  device, strict state_dict load, equal eval-mode outputs (≤ 1e-4) on random 64×64 input.
- densenet264: torchvision's DenseNet class with block_config=(6, 12, 64, 48) is the reference
  (Huang et al. 2017, Table 1: k = 32), done the same way; ≈ 33.3 M parameters.
- densenet_bc_100_k12_cifar: Huang et al. 2017 (0.8 M parameters, Table 2), and a reference
  assembled from torchvision's own `_DenseBlock` and `_Transition` modules with the paper's CIFAR
  stem and head.
"""

from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torchvision.models.densenet import DenseNet, _DenseBlock, _Transition

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.core.presets import load_design
from ..helpers import assert_same_network, param_count, randomise_batch_norms, shape_of


def reference_model(name):
    if name == "densenet264":
        return DenseNet(growth_rate=32, block_config=(6, 12, 64, 48), num_init_features=64)
    return getattr(torchvision.models, name)(weights=None)


IMAGENET = [("densenet121", 7_978_856), ("densenet169", 14_149_480), ("densenet201", 20_013_928),
            ("densenet264", 33_337_704)]


@pytest.mark.parametrize("name, published", IMAGENET)
def test_parameter_count_at_224(name, published):
    graph = load_design(name)
    with torch.device("meta"):
        reference = reference_model(name)
        compiled = compile_graph(graph)
    assert param_count(reference) == published
    assert Analyzer(graph).totals.params == param_count(compiled) == published


@pytest.mark.parametrize("name", [name for name, _ in IMAGENET])
def test_weights_load_and_outputs_match(name):
    torch.manual_seed(3)
    reference = reference_model(name)
    randomise_batch_norms(reference)
    assert_same_network(load_design(name), reference, size=64)


def test_memory_efficient_reference_gives_the_same_outputs():
    # torchvision's memory_efficient flag only checkpoints in training; the network is the same.
    torch.manual_seed(5)
    reference = torchvision.models.densenet121(weights=None, memory_efficient=True)
    randomise_batch_norms(reference)
    assert_same_network(load_design("densenet121"), reference, size=64)


def test_densenet121_blocks_and_stage_shapes():
    graph = load_design("densenet121")
    assert [graph.nodes[f"features.denseblock{i}"].params["num_layers"] for i in range(1, 5)] == \
        [6, 12, 24, 16]
    assert sum(n.type == "Transition" for n in graph.nodes.values()) == 3
    analyzer = Analyzer(graph)
    # 64 + 6·32 = 256 → 128; 128 + 12·32 = 512 → 256; 256 + 24·32 = 1024 → 512; 512 + 16·32.
    assert [shape_of(analyzer, f"features.denseblock{i}") for i in range(1, 5)] == \
        [(256, 56, 56), (512, 28, 28), (1024, 14, 14), (1024, 7, 7)]
    assert [shape_of(analyzer, f"features.transition{i}") for i in range(1, 4)] == \
        [(128, 28, 28), (256, 14, 14), (512, 7, 7)]


def test_densenet_bc_100_k12_cifar():
    graph = load_design("densenet_bc_100_k12_cifar")
    analyzer = Analyzer(graph)
    # Huang et al. 2017, Table 2: DenseNet-BC (L = 100, k = 12) has 0.8 M parameters.
    assert abs(analyzer.totals.params - 0.8e6) / 0.8e6 < 0.05
    # 24 + 16·12 = 216 → 108; 108 + 192 = 300 → 150; 150 + 192 = 342.
    assert [shape_of(analyzer, f"features.denseblock{i}") for i in (1, 2, 3)] == \
        [(216, 32, 32), (300, 16, 16), (342, 8, 8)]

    features = nn.Sequential(OrderedDict([
        ("conv0", nn.Conv2d(3, 24, 3, padding=1, bias=False)),
        ("denseblock1", _DenseBlock(16, 24, 4, 12, 0.0)),
        ("transition1", _Transition(216, 108)),
        ("denseblock2", _DenseBlock(16, 108, 4, 12, 0.0)),
        ("transition2", _Transition(300, 150)),
        ("denseblock3", _DenseBlock(16, 150, 4, 12, 0.0)),
        ("norm5", nn.BatchNorm2d(342)),
    ]))
    reference = nn.Module()
    reference.features = features
    reference.classifier = nn.Linear(342, 10)
    assert param_count(reference) == analyzer.totals.params == 769_162

    def forward(x):
        y = F.relu(reference.features(x))
        return reference.classifier(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))

    torch.manual_seed(4)
    randomise_batch_norms(reference)
    assert_same_network(graph, reference, size=32, forward=forward)
