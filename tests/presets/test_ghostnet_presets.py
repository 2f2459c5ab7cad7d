"""GhostNet 1.0× against timm's ghostnet_100 (pretrained=False) and the paper.

timm's state_dict loads strictly into the compiled preset with no key map; in eval mode the
outputs agree within 1e-4 on a 3×64×64 input (the head pools globally). Han et al. 2020,
Table 7: GhostNet 1.0× has 5.2 M parameters and 141 M FLOPs (multiply-adds).
"""

import timm
import torch

from designer.core.infer import Analyzer
from designer.core.presets import load_design

from ..helpers import (compiled_with_reference_weights, max_output_difference,
                                param_count, randomise_batch_norms)


def test_ghostnet_is_timms_ghostnet_100():
    torch.manual_seed(0)
    reference = timm.create_model("ghostnet_100", pretrained=False)
    randomise_batch_norms(reference)
    graph = load_design("ghostnet")
    analyzer = Analyzer(graph)
    assert analyzer.totals.params == param_count(reference)
    assert abs(analyzer.totals.params - 5.2e6) < 0.05e6
    assert abs(analyzer.totals.macs - 141e6) / 141e6 < 0.01
    compiled = compiled_with_reference_weights(graph, reference.state_dict())
    assert max_output_difference(compiled, reference, (2, 3, 64, 64)) <= 1e-4


def test_ghostnet_stage_shapes():
    results = Analyzer(load_design("ghostnet")).results
    # Table 1: 112² × 16, 56² × 24, 28² × 40, 14² × 112, 7² × 160, then 960 and 1280.
    expected = {"blocks.0.0": (16, 112, 112), "blocks.2.0": (24, 56, 56),
                "blocks.4.0": (40, 28, 28), "blocks.6.4": (112, 14, 14),
                "blocks.8.3": (160, 7, 7), "blocks.9.0.act": (960, 7, 7),
                "act2": (1280, 1, 1)}
    assert {nid: results[nid].output_shape for nid in expected} == expected
