"""CondenseNet-74 (condensed, for inference) against the paper and pytorchcv.

Huang et al. 2018, Table 5 (ImageNet): CondenseNet-74 with C = G = 8 has 2.9 M parameters and
274 M multiply-adds, with C = G = 4 4.8 M and 529 M. pytorchcv's converted condensenet74_c8_g8 /
_c4_g4 have exactly 2,935,416 / 4,773,944 parameters (its own test asserts them). Our
multiply-add count is 4.5% under the paper's for both (about 12 M fewer, the same for both
widths, so an overhead the paper counts outside the convolutions, which we do not try to
reproduce).

When pytorchcv is installed its weights load strictly; the only key map is for the learned index
buffers (`X.index` there is `X.gather.index` here, the index layer being a node of its own), and
with a random permutation in every index the outputs agree.
"""

import pytest
import torch

from designer.core.infer import Analyzer
from designer.core.presets import load_design
from designer.presetlib.condensenet import condensenet74_graph

from ..helpers import (compiled_with_reference_weights, randomise_batch_norms,
                                relative_output_difference)


@pytest.mark.parametrize("groups, params, macs", [(8, 2_935_416, 274e6), (4, 4_773_944, 529e6)])
def test_condensenet74_matches_the_paper(groups, params, macs):
    graph = condensenet74_graph(groups)
    analyzer = Analyzer(graph)
    assert analyzer.totals.params == params
    assert abs(analyzer.totals.macs - macs) / macs < 0.05
    shapes = {nid: r.output_shape for nid, r in analyzer.results.items()}
    # 16 + 4·8 + 6·16 + 8·32 + 10·64 + 8·128 = 2064 features on 112, 56, 28, 14, 7 maps.
    assert shapes["features.stage1.unit4"] == (48, 112, 112)
    assert shapes["features.stage2.unit6"] == (144, 56, 56)
    assert shapes["features.stage3.unit8"] == (400, 28, 28)
    assert shapes["features.stage4.unit10"] == (1040, 14, 14)
    assert shapes["features.stage5.unit8"] == (2064, 7, 7)
    assert shapes["output.gather"] == (1032,)


def test_the_preset_is_the_c8_g8_model():
    assert Analyzer(load_design("condensenet")).totals.params == 2_935_416


@pytest.mark.parametrize("groups, name", [(8, "condensenet74_c8_g8"), (4, "condensenet74_c4_g4")])
def test_condensenet74_is_pytorchcvs(groups, name):
    pytorchcv = pytest.importorskip("pytorchcv.model_provider")
    torch.manual_seed(0)
    reference = pytorchcv.get_model(name, pretrained=False)
    randomise_batch_norms(reference)
    for key, buffer in reference.state_dict().items():
        if key.endswith(".index"):  # stand-ins for learned indices: any channel, repeats allowed
            buffer.copy_(torch.randint(0, 2064, buffer.shape) % _source_width(reference, key))
    state = {(k[:-len("index")] + "gather.index" if k.endswith(".index") else k): v
             for k, v in reference.state_dict().items()}
    compiled = compiled_with_reference_weights(condensenet74_graph(groups), state)
    assert relative_output_difference(compiled, reference, (1, 3, 224, 224)) <= 1e-6


def _source_width(model, key):
    """Channels available to the index layer at `key` (the unit's input, or the features)."""
    module = model.get_submodule(key[:-len(".index")])
    if hasattr(module, "linear"):
        return module.linear.in_features * 2
    return module.bn.num_features
