"""ShuffleNet V2's guidelines fire on the survey's own examples and stay quiet on a ResNet block."""

from designer.core.builder import GraphBuilder
from designer.core.infer import Analyzer
from designer.core.presets import load_design
from designer.speed.hints import design_hints, design_problems


def _graph(shape, build):
    b = GraphBuilder("t")
    x = b.input(shape)
    b.output(build(b, x))
    return b.finish()


def _guidelines(hints):
    return sorted({text[:2] for texts in hints.values() for text in texts})


def test_g1_on_a_one_to_twelve_pointwise_convolution():
    graph = _graph((16, 14, 14), lambda b, x: b.add("Conv2d", "wide", x, out_channels=192,
                                                   kernel=1, padding=0, bias=False))
    hints = design_hints(graph)
    assert list(hints) == ["wide"]
    (text,) = hints["wide"]
    assert text.startswith("G1: wide") and "16 to 192" in text


def test_g1_quiet_on_balanced_convolutions():
    graph = _graph((64, 14, 14), lambda b, x: b.add("Conv2d", "pw", x, out_channels=128,
                                                   kernel=1, padding=0))
    assert design_hints(graph) == {}


def test_g2_on_a_shufflenet_v1_unit_with_eight_groups():
    graph = _graph((64, 16, 16), lambda b, x: b.add("ShuffleUnitV1", "unit", x, out_channels=64,
                                                   groups=8))
    hints = design_hints(graph)
    assert _guidelines(hints) == ["G2"]
    assert all("g=8" in text for text in hints["unit"])
    assert any("unit/expand_conv3" in text for text in hints["unit"])
    # with g = 1 the same unit is fine
    dense = _graph((64, 16, 16), lambda b, x: b.add("ShuffleUnitV1", "unit", x, out_channels=64,
                                                   groups=1))
    assert design_hints(dense) == {}


def test_quiet_on_a_plain_resnet_basic_block_and_resnet18():
    graph = _graph((64, 56, 56), lambda b, x: b.add("BasicBlock", "block", x, out_channels=64))
    assert design_hints(graph) == {}
    assert design_hints(load_design("resnet18")) == {}


def test_g3_and_g4_on_fragmented_and_elementwise_designs():
    def branches(b, x):
        paths = [b.add("Conv2d", f"b{i}", x, out_channels=8, kernel=1, padding=0) for i in range(4)]
        return b.add("Concat", "cat", *paths, num_inputs=4)
    assert _guidelines(design_hints(_graph((8, 8, 8), branches))) == ["G3"]

    def chain(b, x):
        x = b.add("ReLU", "r1", x)
        x = b.add("Scale", "s", x, factor=0.5)
        return b.add("Sigmoid", "r2", x)
    hints = design_hints(_graph((8, 8, 8), chain))
    assert list(hints) == ["r1"] and hints["r1"][0].startswith("G4: r1 → s → r2")


def test_hints_reach_the_analysis_problems_without_blocking():
    graph = _graph((16, 14, 14), lambda b, x: b.add("Conv2d", "wide", x, out_channels=192,
                                                   kernel=1, padding=0, bias=False))
    analyzer = Analyzer(graph)
    assert analyzer.errors() == []
    problems = design_problems(analyzer)
    assert [(p.node_id, p.severity) for p in problems] == [("wide", "hint")]
    assert problems[0].text.startswith("G1:")
    graph.set_params("wide", kernel=3)     # a 3×3 is not G1's case: the hint goes away
    assert design_problems(analyzer) == []


def _relu_chain(b, x, count, name="r"):
    for i in range(count):
        x = b.add("ReLU", f"{name}{i}", x)
    return x


def test_g4_names_the_first_five_of_a_long_chain_and_counts_the_rest():
    hints = design_hints(_graph((1, 4, 4), lambda b, x: _relu_chain(b, x, 2000)))
    (text,) = hints["r0"]
    assert text.startswith("G4: r0 → r1 → r2 → r3 → r4 → … (1,995 more) are 2,000 element-wise")
    assert "r5" not in text and len(text) < 300


def test_g4_puts_each_node_in_one_chain_when_chains_merge():
    def merged(b, x):
        left = _relu_chain(b, x, 3, "a")
        right = _relu_chain(b, x, 3, "b")
        return _relu_chain(b, b.add("Add", "add", left, right), 3, "t")
    hints = design_hints(_graph((1, 4, 4), merged))
    # a0 → a1 → a2 → add → t0 → t1 → t2, then b0 → b1 → b2 ending where it runs into add
    assert sorted(hints) == ["a0", "b0"]
    assert " are 7 element-wise" in hints["a0"][0]
    assert hints["b0"][0].startswith("G4: b0 → b1 → b2 are 3 element-wise")
