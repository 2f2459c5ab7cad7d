"""The Inception, Xception and NIN blocks against the modules they reproduce.

Each block is compiled at a small input, the reference module's state_dict (torchvision's
GoogLeNet/Inception3 modules, timm's inception_v4, inception_resnet_v2 and legacy_xception
modules, built with the conv unit their models use: padding 0, BN ε 0.001) loads strictly into
it under the block's node name, and in eval mode with non-trivial BN statistics the outputs agree.
Blocks without a reference are checked against the papers' channel arithmetic.
"""

from functools import partial
import importlib

import pytest
import torch
from timm.layers import ConvNormAct
from torch import nn

from designer.core.builder import GraphBuilder
from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from ...helpers import randomise_batch_norms

tv_googlenet = importlib.import_module("torchvision.models.googlenet")
tv_inception = importlib.import_module("torchvision.models.inception")
timm_v4 = importlib.import_module("timm.models.inception_v4")
timm_irv2 = importlib.import_module("timm.models.inception_resnet_v2")
timm_xception = importlib.import_module("timm.models.xception")

# The conv unit timm's InceptionV4 and InceptionResnetV2 pass to their modules.
TIMM_UNIT = partial(ConvNormAct, padding=0, norm_kwargs=dict(eps=1e-3),
                    act_kwargs=dict(inplace=True))


def block_graph(type_name, shape, **params):
    b = GraphBuilder(type_name)
    y = b.add(type_name, "blk", b.input(shape), **params)
    b.output(y)
    return b.finish(layout=False)


REFERENCES = [
    ("googlenet Inception 3a", lambda: tv_googlenet.Inception(192, 64, 96, 128, 16, 32, 32),
     "InceptionV1", (192, 8, 8), dict(batch_norm=True, kernel_5x5=3)),
    ("googlenet InceptionAux", lambda: tv_googlenet.InceptionAux(512, 1000), "InceptionAuxV1",
     (512, 14, 14), dict(batch_norm=True, pool="adaptive 4×4")),
    ("InceptionA", lambda: tv_inception.InceptionA(192, 32), "InceptionV3A", (192, 9, 9), {}),
    ("InceptionB", lambda: tv_inception.InceptionB(288), "InceptionV3B", (288, 9, 9), {}),
    ("InceptionC", lambda: tv_inception.InceptionC(768, 160), "InceptionV3C", (768, 9, 9),
     dict(channels_7x7=160)),
    ("InceptionD", lambda: tv_inception.InceptionD(768), "InceptionV3D", (768, 9, 9), {}),
    ("InceptionE", lambda: tv_inception.InceptionE(1280), "InceptionV3E", (1280, 5, 5), {}),
    ("Inception3 InceptionAux", lambda: tv_inception.InceptionAux(768, 1000), "InceptionAuxV3",
     (768, 17, 17), {}),
    ("v4 Mixed3a", lambda: timm_v4.Mixed3a(TIMM_UNIT), "InceptionV4StemMixed", (64, 15, 15),
     dict(stage="3a")),
    ("v4 Mixed4a", lambda: timm_v4.Mixed4a(TIMM_UNIT), "InceptionV4StemMixed", (160, 15, 15),
     dict(stage="4a")),
    ("v4 Mixed5a", lambda: timm_v4.Mixed5a(TIMM_UNIT), "InceptionV4StemMixed", (192, 15, 15),
     dict(stage="5a")),
    ("v4 InceptionA", lambda: timm_v4.InceptionA(TIMM_UNIT), "InceptionV4A", (384, 7, 7), {}),
    ("v4 InceptionB", lambda: timm_v4.InceptionB(TIMM_UNIT), "InceptionV4B", (1024, 7, 7), {}),
    ("v4 InceptionC", lambda: timm_v4.InceptionC(TIMM_UNIT), "InceptionV4C", (1536, 5, 5), {}),
    ("v4 ReductionA", lambda: timm_v4.ReductionA(TIMM_UNIT), "ReductionA", (384, 9, 9), {}),
    ("v4 ReductionB", lambda: timm_v4.ReductionB(TIMM_UNIT), "InceptionV4ReductionB",
     (1024, 9, 9), {}),
    ("irv2 Mixed_5b", lambda: timm_irv2.Mixed_5b(TIMM_UNIT), "InceptionResNetV2Mixed5b",
     (192, 9, 9), {}),
    ("irv2 Block35", lambda: timm_irv2.Block35(0.17, TIMM_UNIT), "InceptionResNetA",
     (320, 7, 7), dict(scale=0.17)),
    ("irv2 Mixed_6a", lambda: timm_irv2.Mixed_6a(TIMM_UNIT), "ReductionA", (320, 9, 9),
     dict(k=256, l=256, m=384, n=384)),
    ("irv2 Block17", lambda: timm_irv2.Block17(0.10, TIMM_UNIT), "InceptionResNetB",
     (1088, 7, 7), dict(scale=0.10)),
    ("irv2 Mixed_7a", lambda: timm_irv2.Mixed_7a(TIMM_UNIT), "InceptionResNetReductionB",
     (1088, 9, 9), {}),
    ("irv2 Block8", lambda: timm_irv2.Block8(0.20, conv_block=TIMM_UNIT), "InceptionResNetC",
     (2080, 5, 5), dict(scale=0.20)),
    ("irv2 Block8 no ReLU", lambda: timm_irv2.Block8(no_relu=True, conv_block=TIMM_UNIT),
     "InceptionResNetC", (2080, 5, 5), dict(scale=1.0, activation=False)),
    ("xception entry block1", lambda: timm_xception.Block(64, 128, 2, 2, start_with_relu=False),
     "XceptionBlock", (64, 16, 16), dict(out_channels=128, reps=2, stride=2,
                                         start_with_relu=False)),
    ("xception middle block", lambda: timm_xception.Block(728, 728, 3, 1), "XceptionBlock",
     (728, 8, 8), {}),
    ("xception exit block12", lambda: timm_xception.Block(728, 1024, 2, 2, grow_first=False),
     "XceptionBlock", (728, 8, 8), dict(out_channels=1024, reps=2, stride=2, grow_first=False)),
]


@pytest.mark.parametrize("label, make, type_name, shape, params", REFERENCES,
                         ids=[r[0] for r in REFERENCES])
def test_block_equals_reference_module(label, make, type_name, shape, params):
    torch.manual_seed(0)
    reference = make()
    randomise_batch_norms(reference)
    graph = block_graph(type_name, shape, **params)
    analyzer = Analyzer(graph)
    assert analyzer.errors() == []
    assert analyzer.totals.params == sum(p.numel() for p in reference.parameters())
    compiled = compile_graph(graph)
    compiled.load_state_dict({f"blk.{k}": v for k, v in reference.state_dict().items()},
                             strict=True)
    compiled.eval()
    reference.eval()
    x = torch.randn(2, *shape)
    with torch.no_grad():
        expected = reference(x.clone())  # timm's blocks may work in place
        got = compiled(x)
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() <= 1e-4


def output_shape(graph, node="blk"):
    return Analyzer(graph).results[node].outputs["out"].shape


def test_bn_inception_module_channels_and_stride_two_variant():
    # Ioffe & Szegedy 2015, Fig. 5, inception (3a): 64 + 64 + 96 + avg/32 = 256 at 28×28.
    g = block_graph("InceptionV2", (192, 28, 28), n1x1=64, n3x3_reduce=64, n3x3=64,
                    n3x3dbl_reduce=64, n3x3dbl=96, pool="avg", pool_proj=32)
    assert output_shape(g) == (256, 28, 28)
    # inception (3c): stride 2, no 1×1, max pool passes the 320 input channels through.
    g = block_graph("InceptionV2", (320, 28, 28), n1x1=0, n3x3_reduce=128, n3x3=160,
                    n3x3dbl_reduce=64, n3x3dbl=96, pool="max", pool_proj=0, stride=2)
    assert output_shape(g) == (576, 14, 14)
    types = {n.type for n in g.nodes["blk"].block_graph([(320, 28, 28)]).nodes.values()}
    assert "AvgPool2d" not in types and "MaxPool2d" in types
    # The 5×5 is two 3×3: 1×1 (320→64) + 3×3 (64→96) + 3×3 (96→96), each conv with bias + BN.
    weights = (320 * 128 + 128 * 160 * 9) + (320 * 64 + 64 * 96 * 9 + 96 * 96 * 9)
    per_channel = 3 * (128 + 160 + 64 + 96 + 96)  # conv bias, BN weight and bias
    assert Analyzer(g).totals.params == weights + per_channel


def test_original_inception_v1_uses_5x5_bias_and_no_batch_norm():
    g = block_graph("InceptionV1", (192, 28, 28))
    inner = g.nodes["blk"].block_graph([(192, 28, 28)])
    unit = inner.nodes["branch3.1"]
    assert unit.params["kernel"] == (5, 5) and unit.params["bias"]
    assert not unit.params["batch_norm"]
    assert output_shape(g) == (256, 28, 28)
    # GoogLeNet inception (3a), Table 1: weights plus one bias per filter.
    weights = 192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32
    assert Analyzer(g).totals.params == weights + (64 + 96 + 128 + 16 + 32 + 32)


def test_inception_resnet_v1_widths_follow_the_paper():
    # Szegedy et al. 2016, Fig. 10: branches 32 / 32-32 / 32-32-32, linear 1×1 back to 256.
    g = block_graph("InceptionResNetA", (256, 35, 35), variant="v1")
    unit = 2  # BN weight and bias per channel, convs without bias
    expected = (256 * 32 + 32 * unit) * 3 + (32 * 32 * 9 + 32 * unit) * 3 + 96 * 256 + 256
    assert output_shape(g) == (256, 35, 35)
    assert Analyzer(g).totals.params == expected
    # Fig. 12: Reduction-B of v1 gives 896 + 384 + 256 + 256 = 1792 channels at 8×8.
    g = block_graph("InceptionResNetReductionB", (896, 17, 17), variant="v1")
    assert output_shape(g) == (1792, 8, 8)
    # Fig. 14: the v1 stem takes 299×299 to 256×35×35; the v2 (TF-slim) stem to 320×35×35.
    assert output_shape(block_graph("InceptionResNetStem", (3, 299, 299))) == (256, 35, 35)
    assert output_shape(block_graph("InceptionResNetStem", (3, 299, 299),
                                    variant="v2")) == (320, 35, 35)


def test_residual_scaling_is_applied_to_the_branch():
    g = block_graph("InceptionResNetC", (64, 5, 5), scale=0.0, activation=False)
    module = compile_graph(g).eval()
    x = torch.randn(2, 64, 5, 5)
    with torch.no_grad():
        assert torch.equal(module(x), x)  # scale 0 leaves only the shortcut


def test_inception_v4_stem_shapes():
    # Szegedy et al. 2016, Fig. 3: 299×299×3 → 73×73×160 → 71×71×192 → 35×35×384.
    assert output_shape(block_graph("InceptionV4Stem", (3, 299, 299))) == (384, 35, 35)
    for stage, shape, expected in (("3a", (64, 147, 147), (160, 73, 73)),
                                   ("4a", (160, 73, 73), (192, 71, 71)),
                                   ("5a", (192, 71, 71), (384, 35, 35))):
        assert output_shape(block_graph("InceptionV4StemMixed", shape, stage=stage)) == expected


def test_xception_inner_activation_adds_a_relu_between_depthwise_and_pointwise():
    plain = block_graph("XceptionBlock", (64, 8, 8), out_channels=64, reps=2)
    inner = block_graph("XceptionBlock", (64, 8, 8), out_channels=64, reps=2,
                        inner_activation=True)
    assert "rep.1.relu" in inner.nodes["blk"].block_graph([(64, 8, 8)]).nodes
    assert "rep.1.relu" not in plain.nodes["blk"].block_graph([(64, 8, 8)]).nodes
    assert Analyzer(plain).totals.params == Analyzer(inner).totals.params
    # Same shapes and weights, different function.
    torch.manual_seed(0)
    a, b = compile_graph(plain).eval(), compile_graph(inner).eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 64, 8, 8)
    with torch.no_grad():
        assert not torch.allclose(a(x), b(x))


def test_mlpconv_is_a_convolution_and_a_1x1_mlp():
    g = block_graph("MLPConv", (3, 32, 32), out_channels=192, kernel=5, padding=2,
                    mlp=(160, 96))
    assert output_shape(g) == (96, 32, 32)
    # Lin et al. 2013 CIFAR-10 model, first mlpconv: 5×5×3×192, 1×1 192→160, 1×1 160→96.
    assert Analyzer(g).totals.params == (75 * 192 + 192) + (192 * 160 + 160) + (160 * 96 + 96)
    module = compile_graph(g)
    relus = [m for m in module.modules() if isinstance(m, nn.ReLU)]
    assert len(relus) == 3
