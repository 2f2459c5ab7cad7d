"""The highway block computes y = H(x)·T(x) + x·(1 − T(x)) (Srivastava et al. 2015), with its
transform gate's bias starting at the chosen value."""

import pytest
import torch
import torch.nn.functional as F

from designer.core.builder import GraphBuilder
from designer.core.compile import compile_graph
from designer.core.infer import Analyzer


def highway_graph(shape, **params):
    b = GraphBuilder("Highway")
    x = b.input(shape)
    b.output(b.add("HighwayBlock", "hw", x, **params))
    return b.finish(layout=False)


@pytest.mark.parametrize("kernel", [3, 5])
def test_highway_equation(kernel):
    torch.manual_seed(0)
    compiled = compile_graph(highway_graph((6, 7, 7), kernel=kernel)).eval()
    h_conv = compiled.get_submodule("hw.conv")
    t_conv = compiled.get_submodule("hw.gate")
    with torch.no_grad():
        t_conv.bias.normal_()          # an arbitrary gate, not just the initial one
        x = torch.randn(2, 6, 7, 7)
        pad = kernel // 2
        h = F.relu(F.conv2d(x, h_conv.weight, h_conv.bias, padding=pad))
        t = torch.sigmoid(F.conv2d(x, t_conv.weight, t_conv.bias, padding=pad))
        assert torch.allclose(compiled(x), h * t + x * (1 - t), atol=1e-5)
    torch.jit.script(compiled)


def test_gate_bias_starts_at_the_chosen_value_so_the_layer_carries():
    compiled = compile_graph(highway_graph((4, 5, 5), gate_bias=-3.0)).eval()
    gate = compiled.get_submodule("hw.gate")
    assert torch.equal(gate.bias.detach(), torch.full((4,), -3.0))
    # With no learned weights yet, the layer carries 1 − σ(−3) ≈ 95% of its input.
    with torch.no_grad():
        gate.weight.zero_()
        compiled.get_submodule("hw.conv").weight.zero_()
        compiled.get_submodule("hw.conv").bias.zero_()
        x = torch.rand(2, 4, 5, 5)
        carried = 1 - torch.sigmoid(torch.tensor(-3.0))
        assert torch.allclose(compiled(x), carried * x, atol=1e-6)


def test_parameters_and_shape():
    analyzer = Analyzer(highway_graph((32, 16, 16)))
    assert analyzer.results["hw"].output_shape == (32, 16, 16)
    assert analyzer.totals.params == 2 * (9 * 32 * 32 + 32)     # H and T, each with biases


def test_even_kernel_is_refused_with_a_reason():
    analyzer = Analyzer(highway_graph((4, 8, 8), kernel=4))
    assert "odd kernel" in analyzer.results["hw"].error
