"""SqueezeNet 1.0/1.1 against torchvision and SqueezeNext-23 against the paper and pytorchcv.

- squeezenet1_0/1_1: torchvision (weights=None) has the same parameter count; its state_dict
  loads strictly and eval outputs agree within 1e-4 on a 3×96×96 input (the head pools
  adaptively, so a small input exercises every weight).
- squeezenext23: 1.0-SqNxt-23 has 0.72 M parameters (Gholami et al. 2018, Table 2); pytorchcv's
  sqnxt23_w1, the PyTorch port of the authors' model, has exactly 724,056 (its own test asserts
  it). When pytorchcv is installed its weights load strictly and the outputs agree.
"""

import pytest
import torch
import torchvision

from designer.core.infer import Analyzer
from designer.core.presets import load_design

from ..helpers import (compiled_with_reference_weights, max_output_difference,
                                relative_output_difference,
                                param_count, randomise_batch_norms)


@pytest.mark.parametrize("name, expected", [("squeezenet1_0", 1_248_424),
                                            ("squeezenet1_1", 1_235_496)])
def test_squeezenet_is_torchvisions(name, expected):
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)(weights=None)
    graph = load_design(name)
    assert param_count(reference) == expected
    assert Analyzer(graph).totals.params == expected
    # Iandola et al. 2016, Table 1: 1,248,424 weights for SqueezeNet without compression.
    assert abs(expected - 1.25e6) < 0.02e6
    compiled = compiled_with_reference_weights(graph, reference.state_dict())
    assert max_output_difference(compiled, reference, (2, 3, 96, 96)) <= 1e-4


def test_squeezenet_1_1_needs_2_4_times_less_computation():
    # The v1.1 release notes: 2.4× less computation than 1.0 at the same accuracy.
    macs_10 = Analyzer(load_design("squeezenet1_0")).totals.macs
    macs_11 = Analyzer(load_design("squeezenet1_1")).totals.macs
    assert 2.2 < macs_10 / macs_11 < 2.5


def stage_shapes(graph, ids):
    results = Analyzer(graph).results
    return [results[i].output_shape for i in ids]


def test_squeezenext23_matches_the_paper():
    graph = load_design("squeezenext23")
    analyzer = Analyzer(graph)
    assert analyzer.totals.params == 724_056
    # Fig. 3: stages of 6, 6, 8, 1 blocks at 32, 64, 128, 256 channels on 55, 28, 14, 7 maps.
    ids = ["features.stage1.unit6", "features.stage2.unit6", "features.stage3.unit8",
           "features.stage4.unit1", "features.final_block.activ"]
    assert stage_shapes(graph, ids) == [(32, 55, 55), (64, 28, 28), (128, 14, 14), (256, 7, 7),
                                        (128, 7, 7)]
    blocks = [n for n in graph.nodes.values() if n.type == "SqueezeNextBlock"]
    assert len(blocks) == 21  # 21 blocks + first conv + final 1×1 = 23 layers of the name


def test_squeezenext23_is_pytorchcvs():
    pytorchcv = pytest.importorskip("pytorchcv.model_provider")
    torch.manual_seed(0)
    reference = pytorchcv.get_model("sqnxt23_w1", pretrained=False)
    randomise_batch_norms(reference)
    graph = load_design("squeezenext23")
    compiled = compiled_with_reference_weights(graph, reference.state_dict())
    assert relative_output_difference(compiled, reference, (1, 3, 224, 224)) <= 1e-6
