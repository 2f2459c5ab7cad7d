"""SVD factorisation rewrites the design: at full rank the factorised design computes the same
function, the rank follows the energy threshold, and layers that cannot be factorised are refused."""

import pytest
import torch

from designer.compress.factorize import choose_rank, factorize
from designer.compress.measure import CompressError, load_model, output_error, top1_error, validation_data
from designer.core.builder import GraphBuilder
from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.core.presets import load_design


def test_energy_threshold_picks_the_smallest_rank():
    s = torch.tensor([4.0, 2.0, 1.0, 1.0])      # energies 16, 4, 1, 1 of 22
    assert choose_rank(s, energy=16 / 22) == 1
    assert choose_rank(s, energy=0.9) == 2
    assert choose_rank(s, energy=1.0) == 4
    assert choose_rank(s, rank=9) == 4


def low_rank_net():
    """A conv and a linear layer whose weights have rank 3, inside a residual block too."""
    b = GraphBuilder("low rank")
    x = b.add("Conv2d", "conv", b.input((4, 6, 6)), out_channels=16, kernel=3, stride=2)
    x = b.add("BasicBlock", "block", x, out_channels=16)
    x = b.add("Flatten", "flatten", x)
    b.output(b.add("Linear", "fc", x, out_features=40))
    return b.finish()


def test_exact_at_the_weights_rank_in_and_inside_blocks():
    graph = low_rank_net()
    torch.manual_seed(0)
    model = compile_graph(graph).eval()
    with torch.no_grad():
        for name in ("conv", "block.conv1", "fc"):
            w = model.get_submodule(name).weight
            flat = w.reshape(w.shape[0], -1)
            low = torch.randn(flat.shape[0], 3) @ torch.randn(3, flat.shape[1])
            w.copy_(low.reshape(w.shape))
    result = factorize(graph, model.state_dict(), energy=0.999999, layers=["conv", "block.conv1", "fc"])
    assert [row["rank"] for row in result.layers] == [3, 3, 3]
    after = load_model(result.graph, result.state_dict)     # every tensor fits exactly
    assert Analyzer(result.graph).totals.params < Analyzer(graph).totals.params
    assert result.graph.nodes["block"].type == "Group"
    inner = result.graph.nodes["block"].subgraph
    assert inner.nodes["conv1_lowrank"].params["out_channels"] == 3
    assert inner.nodes["conv1"].params["kernel"] == (1, 1)
    x = torch.randn(5, 4, 6, 6)
    assert output_error(model, after, [x]) < 1e-5


def test_refusals_name_the_layer():
    graph = load_design("lenet5")
    state = compile_graph(graph).state_dict()
    with pytest.raises(CompressError, match="s2 cannot be factorised: it is a MaxPool2d"):
        factorize(graph, state, rank=2, layers=["s2"])
    with pytest.raises(CompressError, match="c1 cannot be factorised: rank 6 of 6 would not"):
        factorize(graph, state, rank=6, layers=["c1"])
    with pytest.raises(CompressError, match="energy"):
        factorize(graph, state, energy=1.5)
    with pytest.raises(CompressError, match="either an energy threshold or a rank"):
        factorize(graph, state)


def test_svd_of_the_fully_connected_layers_at_90_percent_energy(trained_lenet5):
    """The issue's bar: fewer FC parameters for at most 2 points of top-1 error."""
    graph, weights, _ = trained_lenet5
    model = load_model(graph, weights)
    result = factorize(graph, model.state_dict(), energy=0.9, layers=["f6", "f7"])
    after = load_model(result.graph, result.state_dict)
    assert sum(r["params_after"] for r in result.layers) < sum(r["params_before"] for r in result.layers)
    assert all(r["energy"] >= 0.9 for r in result.layers)
    loader = validation_data("digits", graph)
    assert top1_error(after, loader) <= top1_error(model, loader) + 0.02


def test_spatial_split_is_exact_at_the_separable_rank():
    b = GraphBuilder("spatial")
    x = b.add("Conv2d", "conv", b.input((3, 9, 9)), out_channels=8, kernel=3, stride=2,
              padding=(1, 1))
    b.output(b.add("Flatten", "flatten", x))
    graph = b.finish()
    torch.manual_seed(0)
    model = compile_graph(graph).eval()
    vertical, horizontal = torch.randn(2, 3, 3), torch.randn(8, 2, 3)     # rank 2 in (i,y)×(o,x)
    with torch.no_grad():
        model.conv.weight.copy_(torch.einsum("riy,orx->oiyx", vertical, horizontal))
    result = factorize(graph, model.state_dict(), energy=0.999999, layers=["conv"], spatial=True)
    assert result.layers[0]["rank"] == 2
    assert result.graph.nodes["conv_lowrank"].params["kernel"] == (3, 1)
    assert result.graph.nodes["conv"].params["kernel"] == (1, 3)
    after = load_model(result.graph, result.state_dict)
    assert output_error(model, after, [torch.randn(4, 3, 9, 9)]) < 1e-5
