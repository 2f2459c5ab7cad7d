"""ConvNeXt-T, EfficientNet-B0 and MobileNetV3-Large against torchvision.

- convnext_tiny (Liu et al. 2022): torchvision's weights load by name (its bare `layer_scale`
  parameters are the blocks' LayerScale layers here) and the outputs agree; 28.6 M parameters and
  4.5 G multiply-adds (the paper's Table 11: 28 M, 4.5 G FLOPs).
- efficientnet_b0 (Tan & Le 2019): 5.3 M parameters, 0.39 G multiply-adds; torchvision's
  state_dict loads strictly and the outputs agree.
- mobilenet_v3_large (Howard et al. 2019): 5.4 M parameters, 219 M multiply-adds in the paper;
  torchvision's state_dict loads strictly and the outputs agree.
"""

import pytest
import torch
import torchvision

from designer.core.infer import Analyzer
from designer.core.presets import load_design

from ..helpers import compiled_with_reference_weights, max_output_difference
from ..helpers import param_count, randomise_batch_norms, single_thread


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Two threads on a shared two-core machine are many times slower than one for these sizes.
    with single_thread():
        yield


def _convnext_keys(state_dict):
    return {(k + ".scale" if k.endswith(".layer_scale") else k): v for k, v in state_dict.items()}


def test_convnext_tiny_is_torchvisions():
    torch.manual_seed(0)
    reference = torchvision.models.convnext_tiny(weights=None)
    # torchvision initialises the layer scales to 1e-6, which would hide the blocks' arithmetic.
    with torch.no_grad():
        for name, p in reference.named_parameters():
            if name.endswith("layer_scale"):
                p.uniform_(0.5, 1.5)
    graph = load_design("convnext_tiny")
    totals = Analyzer(graph).totals
    assert totals.params == param_count(reference) == 28_589_128
    assert abs(totals.macs - 4.5e9) / 4.5e9 < 0.02
    compiled = compiled_with_reference_weights(graph, _convnext_keys(reference.state_dict()))
    assert max_output_difference(compiled, reference, (2, 3, 64, 64)) < 1e-4
    blocks = [n for n in graph.nodes.values() if n.type == "ConvNeXtBlock"]
    assert len(blocks) == 18
    # Stochastic depth rises linearly from 0 to 0.1 over the 18 blocks, as in torchvision.
    survival = [n.params["survival_probability"] for n in blocks]
    assert survival[0] == 1.0 and survival[-1] == pytest.approx(0.9)


@pytest.mark.parametrize("name, params, macs", [
    ("efficientnet_b0", 5_288_548, 0.39e9), ("mobilenet_v3_large", 5_483_032, 0.219e9)])
def test_imported_preset_is_torchvisions(name, params, macs):
    torch.manual_seed(0)
    reference = torchvision.models.get_model(name, weights=None)
    randomise_batch_norms(reference)
    graph = load_design(name)
    totals = Analyzer(graph).totals
    assert totals.params == param_count(reference) == params
    assert abs(totals.macs - macs) / macs < 0.02
    compiled = compiled_with_reference_weights(graph, reference.state_dict())
    assert max_output_difference(compiled, reference, (2, 3, 64, 64)) < 1e-4
    # Blocks are folded: the top level is the stem, the blocks and the head.
    assert len(graph.nodes) < 35
