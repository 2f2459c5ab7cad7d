"""The Inception and Xception presets against their references.

- torchvision (weights=None, init_weights=False): googlenet_torchvision and inception_v3. Equal
  parameter count with the auxiliary heads (torchvision's default aux_logits=True) and without
  them (6,624,904 and 23,834,568, torchvision's published counts); the state_dict loads strictly
  into the design compiled with its auxiliary outputs; eval outputs of the design compiled with
  `include_auxiliary=False` agree within 1e-4 (the main-path keys alone load strictly into it).
- timm (pretrained=False): inception_v4, inception_resnet_v2, legacy_xception. No key map is
  needed: node names reproduce timm's keys. Xception's count is the paper's 22,855,952.
- The rest against the papers' tables: GoogLeNet (Table 1 shapes, 6.8-7.0 M without the
  auxiliary heads), BN-Inception (Fig. 5 shapes, released widths), Inception-ResNet-v1 (Figs.
  14-15 shapes; parameter count summed here from the figures' filter sizes).

Inputs are small (the references pool adaptively) so every weight is exercised cheaply.
"""

import pytest
import timm
import torch
import torchvision
from torch import nn

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.core.presets import load_design
from ..helpers import param_count, randomise_batch_norms, shape_of


def assert_same_outputs(graph, reference, size, aux_prefixes=()):
    """Strict load into the full design; strict load of the main-path keys into the design
    without auxiliary heads; equal eval outputs of the latter and the reference."""
    torch.manual_seed(0)
    randomise_batch_norms(reference)
    state = reference.state_dict()
    compile_graph(graph).load_state_dict(state, strict=True)
    main = compile_graph(graph, include_auxiliary=False)
    main.load_state_dict({k: v for k, v in state.items() if not k.startswith(aux_prefixes)},
                         strict=True)
    main.eval()
    reference.eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected = reference(x)
        got = main(x)
    assert got.shape == (2, 1000)
    assert (got - expected).abs().max().item() <= 1e-4


TORCHVISION = [
    # name, constructor, aux counted / without aux, aux prefixes, test input size
    ("googlenet_torchvision", "googlenet", 13_004_888, 6_624_904, ("aux1.", "aux2."), 64),
    ("inception_v3", "inception_v3", 27_161_264, 23_834_568, ("AuxLogits.",), 96),
]


@pytest.mark.parametrize("name, constructor, with_aux, without_aux, aux, size", TORCHVISION,
                         ids=[t[0] for t in TORCHVISION])
def test_torchvision_counts_weights_and_outputs(name, constructor, with_aux, without_aux, aux,
                                                size):
    graph = load_design(name)
    make = getattr(torchvision.models, constructor)
    with torch.device("meta"):
        assert param_count(make(weights=None, init_weights=False)) == with_aux
        assert param_count(make(weights=None, init_weights=False,
                                aux_logits=False)) == without_aux
        assert param_count(compile_graph(graph)) == with_aux
        assert param_count(compile_graph(graph, include_auxiliary=False)) == without_aux
    assert Analyzer(graph).totals.params == with_aux
    torch.manual_seed(1)
    assert_same_outputs(graph, make(weights=None, init_weights=False), size, aux)


TIMM = [("inception_v4", "inception_v4", 42_679_816, 139),
        ("inception_resnet_v2", "inception_resnet_v2", 55_843_464, 139),
        ("xception", "legacy_xception", 22_855_952, 96)]


@pytest.mark.parametrize("name, timm_name, count, size", TIMM, ids=[t[0] for t in TIMM])
def test_timm_counts_weights_and_outputs(name, timm_name, count, size):
    graph = load_design(name)
    with torch.device("meta"):
        assert param_count(timm.create_model(timm_name, pretrained=False)) == count
    assert Analyzer(graph).totals.params == count
    torch.manual_seed(2)
    assert_same_outputs(graph, timm.create_model(timm_name, pretrained=False), size)


def test_presets_are_built_of_inception_blocks():
    counts = {}
    for name in ("inception_v3", "inception_v4", "inception_resnet_v2", "xception"):
        graph = load_design(name)
        counts[name] = sorted({n.type for n in graph.nodes.values() if n.spec.is_block})
        assert len(graph.nodes) < 60, f"{name} shows blocks, not loose layers"
    assert counts["inception_v3"] == ["BasicConv2d", "InceptionAuxV3", "InceptionV3A",
                                      "InceptionV3B", "InceptionV3C", "InceptionV3D",
                                      "InceptionV3E"]
    assert {"InceptionV4A", "InceptionV4B", "InceptionV4C", "ReductionA",
            "InceptionV4ReductionB", "InceptionV4StemMixed"} <= set(counts["inception_v4"])
    assert {"InceptionResNetA", "InceptionResNetB", "InceptionResNetC",
            "InceptionResNetReductionB", "InceptionResNetV2Mixed5b"} <= \
        set(counts["inception_resnet_v2"])
    assert counts["xception"] == ["XceptionBlock"]


def test_inception_stage_shapes():
    # Szegedy et al. 2015, Table 1 (Inception v3): 35×35×288, 17×17×768, 8×8×2048.
    a = Analyzer(load_design("inception_v3"))
    assert shape_of(a, "maxpool2") == (192, 35, 35)
    assert shape_of(a, "Mixed_5d") == (288, 35, 35)
    assert shape_of(a, "Mixed_6e") == (768, 17, 17)
    assert shape_of(a, "Mixed_7c") == (2048, 8, 8)
    # Szegedy et al. 2016, Fig. 9 (Inception-v4): 35×35×384, 17×17×1024, 8×8×1536.
    a = Analyzer(load_design("inception_v4"))
    assert [shape_of(a, f"features.{i}") for i in (5, 9, 10, 17, 18, 21)] == \
        [(384, 35, 35), (384, 35, 35), (1024, 17, 17), (1024, 17, 17), (1536, 8, 8),
         (1536, 8, 8)]
    # Inception-ResNet-v2 as released: 320×35×35, 1088×17×17, 2080×8×8, 1536×8×8.
    a = Analyzer(load_design("inception_resnet_v2"))
    assert [shape_of(a, n) for n in ("mixed_5b", "mixed_6a", "mixed_7a", "conv2d_7b")] == \
        [(320, 35, 35), (1088, 17, 17), (2080, 8, 8), (1536, 8, 8)]
    # Chollet 2017, Fig. 5: 19×19×728 through the middle flow, 10×10×2048 at the end.
    a = Analyzer(load_design("xception"))
    assert shape_of(a, "block3") == shape_of(a, "block11") == (728, 19, 19)
    assert shape_of(a, "act4") == (2048, 10, 10)


def test_googlenet_follows_the_paper():
    graph = load_design("googlenet")
    a = Analyzer(graph)
    # Szegedy et al. 2014, Table 1: output sizes of the stages.
    expected = {"maxpool2": (192, 28, 28), "inception3a": (256, 28, 28),
                "inception3b": (480, 28, 28), "inception4a": (512, 14, 14),
                "inception4d": (528, 14, 14), "inception4e": (832, 14, 14),
                "inception5a": (832, 7, 7), "inception5b": (1024, 7, 7)}
    assert {k: shape_of(a, k) for k in expected} == expected
    # Table 1 sums to about 6.8 M weights; with one bias per filter the network has 7.0 M.
    with torch.device("meta"):
        main = param_count(compile_graph(graph, include_auxiliary=False))
    assert main == 6_998_552
    assert 6_800_000 <= main <= 7_000_000
    # Two auxiliary classifiers on 4a and 4d, loss weight 0.3, 1000-way.
    aux = [n for n in graph.nodes_of_type("Output") if n.params["role"] == "auxiliary"]
    assert sorted((graph.in_edge(n.id, "in").src, n.params["loss_weight"]) for n in aux) == \
        [("aux1", 0.3), ("aux2", 0.3)]
    assert graph.in_edge("aux1", "in").src == "inception4a"
    assert graph.in_edge("aux2", "in").src == "inception4d"
    assert shape_of(a, "aux1") == shape_of(a, "aux2") == (1000,)
    # The original: LRN, no batch norm, the 5×5 branch really 5×5, dropout 0.7 in the heads.
    module = compile_graph(graph)
    kinds = {type(m) for m in module.modules()}
    assert nn.LocalResponseNorm in kinds and nn.BatchNorm2d not in kinds
    assert module.get_submodule("inception5b.branch3.1.conv").kernel_size == (5, 5)
    assert module.get_submodule("aux1.dropout").p == 0.7
    assert module.get_submodule("aux1.pool").kernel_size == (5, 5)


def test_bn_inception_follows_the_paper_with_the_released_widths():
    graph = load_design("bn_inception")
    a = Analyzer(graph)
    # Ioffe & Szegedy 2015, Fig. 5, output sizes; 4c/4d are 608 wide (160+160+160+128, the
    # table's own widths, as released) where the table's size column says 576, so 4e gives
    # 1056 = 192 + 256 + 608 and 5a returns to 1024.
    expected = {"inception_3a": (256, 28, 28), "inception_3b": (320, 28, 28),
                "inception_3c": (576, 14, 14), "inception_4a": (576, 14, 14),
                "inception_4b": (576, 14, 14), "inception_4c": (608, 14, 14),
                "inception_4d": (608, 14, 14), "inception_4e": (1056, 7, 7),
                "inception_5a": (1024, 7, 7), "inception_5b": (1024, 7, 7)}
    assert {k: shape_of(a, k) for k in expected} == expected
    # 11.3 M, the commonly quoted 11.26 M within 0.5 %; conv biases (kept as released) add
    # one parameter per filter.
    assert a.totals.params == 11_295_240
    assert abs(a.totals.params - 11_260_000) / 11_260_000 < 0.005
    module = compile_graph(graph)
    assert all(m.bias is not None for m in module.modules() if isinstance(m, nn.Conv2d))
    assert module.get_submodule("inception_3a.branch3x3dbl_2.conv").kernel_size == (3, 3)


def _unit(cin, cout, kh, kw=None):
    """A conv unit: convolution without bias, BN weight and bias."""
    return cin * cout * kh * (kw or kh) + 2 * cout


def test_inception_resnet_v1_follows_the_paper():
    graph = load_design("inception_resnet_v1")
    a = Analyzer(graph)
    # Szegedy et al. 2016, Fig. 15 with Figs. 10-14.
    assert shape_of(a, "stem") == (256, 35, 35)
    assert shape_of(a, "repeat.4") == (256, 35, 35)
    assert shape_of(a, "mixed_6a") == (896, 17, 17)
    assert shape_of(a, "mixed_7a") == (1792, 8, 8)
    assert shape_of(a, "repeat_2.4") == (1792, 8, 8)
    # Parameter count summed from the figures' filter sizes.
    stem = (_unit(3, 32, 3) + _unit(32, 32, 3) + _unit(32, 64, 3) + _unit(64, 80, 1)
            + _unit(80, 192, 3) + _unit(192, 256, 3))
    block_a = (_unit(256, 32, 1) + _unit(256, 32, 1) + _unit(32, 32, 3) + _unit(256, 32, 1)
               + 2 * _unit(32, 32, 3) + 96 * 256 + 256)
    reduction_a = (_unit(256, 384, 3) + _unit(256, 192, 1) + _unit(192, 192, 3)
                   + _unit(192, 256, 3))
    block_b = (_unit(896, 128, 1) + _unit(896, 128, 1) + _unit(128, 128, 1, 7)
               + _unit(128, 128, 7, 1) + 256 * 896 + 896)
    reduction_b = (_unit(896, 256, 1) + _unit(256, 384, 3) + _unit(896, 256, 1)
                   + _unit(256, 256, 3) + _unit(896, 256, 1) + 2 * _unit(256, 256, 3))
    block_c = (_unit(1792, 192, 1) + _unit(1792, 192, 1) + _unit(192, 192, 1, 3)
               + _unit(192, 192, 3, 1) + 384 * 1792 + 1792)
    fc = 1792 * 1000 + 1000
    expected = (stem + 5 * block_a + reduction_a + 10 * block_b + reduction_b + 5 * block_c
                + fc)
    assert a.totals.params == expected == 22_756_328
    scales = [graph.nodes[f"repeat_1.{i}"].params["scale"] for i in range(10)]
    assert scales == [0.10] * 10
