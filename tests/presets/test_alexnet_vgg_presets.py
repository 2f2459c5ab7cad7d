"""AlexNet, ZFNet, VGG and NIN presets against their references.

- torchvision (weights=None, init_weights=False where it exists): alexnet_torchvision, vgg11/13/
  16/19 and vgg16_bn have its exact parameter count at 224×224 (meta device, no forward), load its
  state_dict strictly, and give equal eval outputs on small random input (both pool adaptively,
  so 64×64 for AlexNet and 32×32 for VGG exercise every weight cheaply).
- The papers: AlexNet's paper-style table (62,378,344), ZFNet's Fig. 3 map sizes, VGG's Table 1
  configurations A-E with biases (132,863,336 / 133,047,848 / 133,638,952 / 138,357,544 /
  143,667,240), A-LRN, and NIN's CIFAR-10 model (Lin et al. 2013, section 4.2, as released).
"""

import pytest
import torch
import torchvision
from torch import nn

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.core.presets import load_design
from designer.presetlib.alexnet_vgg import vgg
from ..helpers import param_count, shape_of


def make_reference(name):
    kwargs = {} if name == "alexnet" else {"init_weights": False}
    return getattr(torchvision.models, name)(weights=None, **kwargs)


TORCHVISION = [("alexnet_torchvision", "alexnet", 64), ("vgg11", "vgg11", 32),
               ("vgg13", "vgg13", 32), ("vgg16", "vgg16", 32), ("vgg19", "vgg19", 32),
               ("vgg16_bn", "vgg16_bn", 32)]


@pytest.mark.parametrize("name, reference_name, size", TORCHVISION,
                         ids=[t[0] for t in TORCHVISION])
def test_torchvision_count_weights_and_outputs(name, reference_name, size):
    graph = load_design(name)
    with torch.device("meta"):
        expected = param_count(make_reference(reference_name))
        assert param_count(compile_graph(graph)) == expected
    assert Analyzer(graph).totals.params == expected
    torch.manual_seed(0)
    reference = make_reference(reference_name)
    for m in reference.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
        elif isinstance(m, nn.Conv2d):
            # torchvision's own init leaves tiny activations through 13 layers; scale them up.
            nn.init.kaiming_normal_(m.weight)
    compiled = compile_graph(graph)
    compiled.load_state_dict(reference.state_dict(), strict=True)
    compiled.eval()
    reference.eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected_out = reference(x)
        got = compiled(x)
    assert got.shape == (2, 1000)
    assert expected_out.abs().max().item() > 1e-3, "the comparison must see real signal"
    assert (got - expected_out).abs().max().item() <= 1e-4
    del reference, compiled


def test_alexnet_matches_the_paper_style_table():
    graph = load_design("alexnet")
    a = Analyzer(graph)
    # 227×227 in; conv 96/256/384/384/256; FC 4096/4096/1000; no grouping.
    assert a.totals.params == 62_378_344
    expected = {"conv1": (96, 55, 55), "pool1": (96, 27, 27), "conv2": (256, 27, 27),
                "pool2": (256, 13, 13), "conv3": (384, 13, 13), "conv4": (384, 13, 13),
                "conv5": (256, 13, 13), "pool5": (256, 6, 6), "fc6": (4096,), "fc7": (4096,),
                "fc8": (1000,)}
    assert {k: shape_of(a, k) for k in expected} == expected
    assert all(n.params["groups"] == 1 for n in graph.nodes_of_type("Conv2d"))
    # LRN after the first two conv layers with the paper's k=2, n=5, β=0.75 and α=1e-4 in the
    # paper's formula (torch divides α by n).
    norms = graph.nodes_of_type("LocalResponseNorm")
    assert sorted(graph.in_edge(n.id, "in").src for n in norms) == ["relu1", "relu2"]
    lrn = compile_graph(graph).get_submodule("norm1")
    x = torch.rand(1, 96, 3, 3)
    with torch.no_grad():
        squares = (x ** 2)
        window = torch.stack([squares[:, max(0, c - 2):c + 3].sum(1) for c in range(96)], 1)
        paper = x / (2.0 + 1e-4 * window) ** 0.75
        assert torch.allclose(lrn(x), paper, atol=1e-6)


def test_zfnet_matches_the_paper_figure():
    graph = load_design("zfnet")
    a = Analyzer(graph)
    # Zeiler & Fergus 2013, Fig. 3: 224 → 110 → 55 → 26 → 13 → 13 → 13 → 6.
    expected = {"conv1": (96, 110, 110), "pool1": (96, 55, 55), "conv2": (256, 26, 26),
                "pool2": (256, 13, 13), "conv3": (384, 13, 13), "conv4": (384, 13, 13),
                "conv5": (256, 13, 13), "pool5": (256, 6, 6), "fc8": (1000,)}
    assert {k: shape_of(a, k) for k in expected} == expected
    conv1 = graph.nodes["conv1"].params
    assert (conv1["kernel"], conv1["stride"]) == ((7, 7), (2, 2))
    # Counted from Fig. 3: 7×7×3×96, 5×5×96×256, 3×3 384/384/256, FC 9216·4096, 4096², 4096·1000.
    weights = (7 * 7 * 3 * 96 + 5 * 5 * 96 * 256 + 9 * 256 * 384 + 9 * 384 * 384
               + 9 * 384 * 256 + 9216 * 4096 + 4096 * 4096 + 4096 * 1000)
    biases = 96 + 256 + 384 + 384 + 256 + 4096 + 4096 + 1000
    assert a.totals.params == weights + biases == 62_357_608


# C is B plus three 1×1 convolutions (256², 512², 512² weights and their biases): 133,638,952.
# (A figure of 133,638,472 also circulates; it is 480 short of that sum.)
VGG_C = 133_047_848 + (256 * 256 + 256) + 2 * (512 * 512 + 512)


@pytest.mark.parametrize("config, expected", [("A", 132_863_336), ("B", 133_047_848),
                                              ("C", VGG_C), ("D", 138_357_544),
                                              ("E", 143_667_240)])
def test_vgg_configurations_match_the_paper(config, expected):
    # Simonyan & Zisserman 2015, Table 2 (133/133/134/138/144 M), exact with biases.
    graph = vgg(f"VGG {config}", "", config)
    a = Analyzer(graph)
    assert a.totals.params == expected
    convs = graph.nodes_of_type("Conv2d")
    assert len(convs) == {"A": 8, "B": 10, "C": 13, "D": 13, "E": 16}[config]
    assert shape_of(a, "avgpool") == (512, 7, 7)
    if config == "C":
        assert sum(n.params["kernel"] == (1, 1) for n in convs) == 3


def test_vgg11_lrn_is_configuration_a_with_lrn():
    graph = load_design("vgg11_lrn")
    assert Analyzer(graph).totals.params == 132_863_336
    (norm,) = graph.nodes_of_type("LocalResponseNorm")
    assert graph.in_edge(norm.id, "in").src == "features.1"  # after the first conv's ReLU
    plain = [n.type for n in load_design("vgg11").nodes.values()]
    lrn = [n.type for n in graph.nodes.values() if n.type != "LocalResponseNorm"]
    assert sorted(plain) == sorted(lrn)


def test_nin_cifar10_as_released():
    graph = load_design("nin")
    a = Analyzer(graph)
    # Lin et al. 2013: three mlpconv layers, global average pooling over 10 class maps, no FC.
    assert [n.type for n in graph.nodes.values()].count("MLPConv") == 3
    assert not graph.nodes_of_type("Linear")
    assert shape_of(a, "mlpconv1") == (96, 32, 32)
    assert shape_of(a, "pool1") == (96, 16, 16)
    assert shape_of(a, "pool2") == (192, 8, 8)
    assert shape_of(a, "mlpconv3") == (10, 8, 8)
    weights = (25 * 3 * 192 + 192 * 160 + 160 * 96 + 25 * 96 * 192 + 192 * 192 * 2
               + 9 * 192 * 192 + 192 * 192 + 192 * 10)
    biases = 192 + 160 + 96 + 192 * 3 + 192 * 2 + 10
    assert a.totals.params == weights + biases == 966_986
