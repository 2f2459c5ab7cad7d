"""ShuffleNet v2 1× against torchvision; ShuffleNet v1 1× (g = 3) against the paper and pytorchcv.

- shufflenet_v2_x1_0: torchvision (weights=None) has the same parameter count; its state_dict
  loads strictly and eval outputs agree within 1e-4 on a 3×64×64 input.
- shufflenet_v1_g3: Zhang et al. 2017, Table 1: 137 MFLOPs (counted as multiply-adds) for g = 3
  at 1×, stage widths 240/480/960 on 28/14/7 maps; about 1.9 M parameters (the authors' release
  notes). pytorchcv's shufflenet_g3_w1 has exactly 1,865,728 (its own test asserts it); when
  pytorchcv is installed its weights load strictly and the outputs agree.
"""

import pytest
import torch
import torchvision

from designer.core.infer import Analyzer
from designer.core.presets import load_design
from designer.presetlib.shufflenet import shufflenet_v1_graph

from ..helpers import (compiled_with_reference_weights, max_output_difference,
                                relative_output_difference,
                                param_count, randomise_batch_norms)


def test_shufflenet_v2_is_torchvisions():
    torch.manual_seed(0)
    reference = torchvision.models.shufflenet_v2_x1_0(weights=None)
    randomise_batch_norms(reference)
    graph = load_design("shufflenet_v2_x1_0")
    analyzer = Analyzer(graph)
    assert analyzer.totals.params == param_count(reference) == 2_278_604
    # Ma et al. 2018, Table 5: ShuffleNet v2 1× has 146 MFLOPs.
    assert abs(analyzer.totals.macs - 146e6) / 146e6 < 0.02
    compiled = compiled_with_reference_weights(graph, reference.state_dict())
    assert max_output_difference(compiled, reference, (2, 3, 64, 64)) <= 1e-4


def test_shufflenet_v1_g3_matches_the_paper():
    graph = load_design("shufflenet_v1_g3")
    analyzer = Analyzer(graph)
    assert analyzer.totals.params == 1_865_728
    assert abs(analyzer.totals.params - 1.9e6) < 0.05e6
    assert abs(analyzer.totals.macs - 137e6) / 137e6 < 0.01
    ids = ["features.init_block.pool", "features.stage1.unit4", "features.stage2.unit8",
           "features.stage3.unit4"]
    assert [analyzer.results[i].output_shape for i in ids] == [
        (24, 56, 56), (240, 28, 28), (480, 14, 14), (960, 7, 7)]


@pytest.mark.parametrize("groups, mflops", [(1, 143), (2, 140), (4, 133), (8, 137)])
def test_shufflenet_v1_other_group_counts_match_table_1(groups, mflops):
    macs = Analyzer(shufflenet_v1_graph(groups)).totals.macs
    assert abs(macs - mflops * 1e6) / (mflops * 1e6) < 0.03


def test_shufflenet_v1_g3_is_pytorchcvs():
    pytorchcv = pytest.importorskip("pytorchcv.model_provider")
    torch.manual_seed(0)
    reference = pytorchcv.get_model("shufflenet_g3_w1", pretrained=False)
    randomise_batch_norms(reference)
    compiled = compiled_with_reference_weights(load_design("shufflenet_v1_g3"),
                                               reference.state_dict())
    assert relative_output_difference(compiled, reference, (1, 3, 224, 224)) <= 1e-6
