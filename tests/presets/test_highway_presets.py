"""highway_cifar: our 32-layer configuration after Srivastava et al. 2015 (the paper's CIFAR-10
table lists a 32-layer highway network of about 1.25 M parameters without per-layer widths).
The count is checked against the formula of the configuration the preset states."""

from designer.core.infer import Analyzer
from designer.core.presets import load_design
from designer.presetlib.highway import STAGES


def highway_layer(c):
    return 2 * (9 * c * c + c)          # H and T: 3×3 convolutions with biases


def test_highway_cifar_configuration_and_count():
    graph = load_design("highway_cifar")
    analyzer = Analyzer(graph)
    (a, n1), (b, n2), (c, n3) = STAGES
    expected = (9 * 3 * a + a) + n1 * highway_layer(a) \
        + (9 * a * b + b) + n2 * highway_layer(b) \
        + (9 * b * c + c) + n3 * highway_layer(c) \
        + (c * 10 + 10)
    assert analyzer.totals.params == expected == 1_266_906
    # The paper's figure for its 32-layer highway net: about 1.25 M.
    assert abs(expected - 1.25e6) / 1.25e6 < 0.02

    highway = [n for n in graph.nodes.values() if n.type == "HighwayBlock"]
    plain = [n for n in graph.nodes.values() if n.type == "Conv2d"]
    assert len(highway) + len(plain) == 32
    assert all(n.params["gate_bias"] == -1.0 for n in highway)
    assert analyzer.results["stage1.9"].output_shape == (32, 32, 32)
    assert analyzer.results["stage2.8"].output_shape == (48, 16, 16)
    assert analyzer.results["stage3.8"].output_shape == (64, 8, 8)
    assert analyzer.results["avgpool"].output_shape == (10,)

