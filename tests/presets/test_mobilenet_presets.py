"""MobileNet v1, MobileNetV2 and IGCV3 against their references.

- mobilenet_v1 (Howard et al. 2017, Tables 1 and 8): 1.0-224 has 4.2 M parameters (4,231,976
  counting batch norm, no convolution biases) and 569 M multiply-adds; α and the resolution
  scale the cost as Table 6/7 say. timm's mobilenetv1_100 is the same network with ReLU6: with
  activation="relu6" its weights load strictly and the outputs agree.
- mobilenet_v2: torchvision (weights=None), equal parameter count, strict load, equal outputs;
  about 3.4 M parameters and 300 M multiply-adds (Sandler et al. 2018, Table 4).
- igcv3 (Sun et al. 2018, IGCV3-D 1.0): 3.5 M parameters and 318 M multiply-adds; pytorchcv's
  igcv3_w1 has exactly 3,491,688. pytorchcv leaves out the authors' output permutation, so with
  permute_output=False its weights load strictly and the outputs agree (when it is installed).
"""

import pytest
import timm
import torch
import torchvision

from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.core.presets import load_design
from designer.presetlib.mobile import igcv3_graph, mobilenet_v1_graph

from ..helpers import (compiled_with_reference_weights, max_output_difference,
                                param_count, randomise_batch_norms, relative_output_difference)


def test_mobilenet_v1_matches_the_paper():
    analyzer = Analyzer(load_design("mobilenet_v1"))
    assert analyzer.totals.params == 4_231_976
    assert abs(analyzer.totals.macs - 569e6) / 569e6 < 0.002
    shapes = {nid: r.output_shape for nid, r in analyzer.results.items()}
    # Table 1: 112×112×32 after the stem, 7×7×1024 before the pool.
    assert shapes["act1"] == (32, 112, 112)
    assert shapes["blocks.0.0"] == (64, 112, 112)
    assert shapes["blocks.1.0"] == (128, 56, 56)
    assert shapes["blocks.2.0"] == (256, 28, 28)
    assert shapes["blocks.3.5"] == (512, 14, 14)
    assert shapes["blocks.4.1"] == (1024, 7, 7)


@pytest.mark.parametrize("alpha, resolution, macs, params", [
    # Table 6 (width multiplier) and Table 7 (resolution), in millions.
    (0.75, 224, 325, 2.6), (0.5, 224, 149, 1.3), (0.25, 224, 41, 0.47),
    (1.0, 192, 418, 4.2), (1.0, 160, 290, 4.2), (1.0, 128, 186, 4.2)])
def test_mobilenet_v1_width_and_resolution(alpha, resolution, macs, params):
    graph = mobilenet_v1_graph(alpha, resolution)
    totals = Analyzer(graph).totals
    assert abs(totals.macs - macs * 1e6) / (macs * 1e6) < 0.01
    # The paper's parameter counts leave out batch norm.
    assert abs(totals.params - params * 1e6) / (params * 1e6) < 0.03
    assert graph.nodes_of_type("Input")[0].params["shape"] == (3, resolution, resolution)


def test_mobilenet_v1_is_timms_with_relu6():
    torch.manual_seed(0)
    reference = timm.create_model("mobilenetv1_100", pretrained=False)
    randomise_batch_norms(reference)
    graph = mobilenet_v1_graph(activation="relu6")
    assert param_count(reference) == Analyzer(graph).totals.params
    compiled = compiled_with_reference_weights(graph, reference.state_dict())
    assert max_output_difference(compiled, reference, (2, 3, 64, 64)) <= 1e-4


def test_mobilenet_v2_is_torchvisions():
    torch.manual_seed(0)
    reference = torchvision.models.mobilenet_v2(weights=None)
    randomise_batch_norms(reference)
    graph = load_design("mobilenet_v2")
    analyzer = Analyzer(graph)
    assert analyzer.totals.params == param_count(reference) == 3_504_872
    # Table 4: 3.4 M parameters and 300 M multiply-adds (torchvision's count, with batch norm
    # and the FC bias, is 3.50 M).
    assert abs(analyzer.totals.params - 3.4e6) < 0.11e6
    assert abs(analyzer.totals.macs - 300e6) / 300e6 < 0.005
    compiled = compiled_with_reference_weights(graph, reference.state_dict())
    assert max_output_difference(compiled, reference, (2, 3, 64, 64)) <= 1e-4


def test_mobilenet_v2_shortcuts_only_where_shapes_match():
    graph = load_design("mobilenet_v2")
    analyzer = Analyzer(graph)
    with_shortcut = []
    for node in graph.nodes_of_type("InvertedResidual"):
        (state,) = node.input_ports()
        edge = graph.in_edge(node.id, state)
        shape_in = analyzer.results[edge.src].outputs[edge.src_port].shape
        inner = node.block_graph([shape_in])
        if inner.nodes_of_type("Add"):
            with_shortcut.append(node.id)
            assert node.params["stride"] == 1 and shape_in[0] == node.params["out_channels"]
    # Table 2: ten of the 17 blocks repeat their stage's shape.
    assert len(with_shortcut) == 10


def test_igcv3_matches_the_paper():
    analyzer = Analyzer(load_design("igcv3"))
    assert analyzer.totals.params == 3_491_688
    assert abs(analyzer.totals.macs - 318e6) / 318e6 < 0.02
    shapes = {nid: r.output_shape for nid, r in analyzer.results.items()}
    assert shapes["features.stage1.unit1"] == (16, 112, 112)
    assert shapes["features.stage2.unit4"] == (24, 56, 56)
    assert shapes["features.stage3.unit6"] == (32, 28, 28)
    assert shapes["features.stage4.unit14"] == (96, 14, 14)
    assert shapes["features.stage5.unit7"] == (320, 7, 7)


def test_igcv3_output_permutation_changes_the_function_not_the_weights():
    torch.manual_seed(0)
    with_perm = compile_graph(igcv3_graph(True)).eval()
    without = compile_graph(igcv3_graph(False)).eval()
    without.load_state_dict(with_perm.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert not torch.allclose(with_perm(x), without(x))


def test_igcv3_is_pytorchcvs_without_the_output_permutation():
    pytorchcv = pytest.importorskip("pytorchcv.model_provider")
    torch.manual_seed(0)
    reference = pytorchcv.get_model("igcv3_w1", pretrained=False)
    randomise_batch_norms(reference)
    compiled = compiled_with_reference_weights(igcv3_graph(permute_output=False),
                                               reference.state_dict())
    assert relative_output_difference(compiled, reference, (1, 3, 224, 224)) <= 1e-6
