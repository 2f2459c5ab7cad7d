"""Inference results, error sentences and incremental recomputation."""

from designer.core import fileformat
from designer.core.builder import GraphBuilder
from designer.core.graph import Graph
from designer.core.infer import Analyzer
from designer.core.presets import load_design


def test_lenet5_numbers():
    analyzer = Analyzer(load_design("lenet5"))
    r = analyzer.results
    assert r["c1"].output_shape == (6, 28, 28)
    assert r["s2"].output_shape == (6, 14, 14)
    assert r["c3"].output_shape == (16, 10, 10)
    assert r["c5"].output_shape == (120, 1, 1)
    assert r["f6"].output_shape == (84,)
    assert r["output"].output_shape == (10,)
    assert analyzer.totals.params == 61_706
    # Receptive field: 5 -> pool 2/2 -> 5 at jump 2 -> pool -> 5 at jump 4.
    assert r["c1"].receptive_field == (5, 5) and r["c1"].rf_jump == (1, 1)
    assert r["s2"].receptive_field == (6, 6) and r["s2"].rf_jump == (2, 2)
    assert r["c3"].receptive_field == (14, 14)
    assert r["c5"].receptive_field == (32, 32) and r["c5"].rf_jump == (4, 4)
    # Activation memory is bytes per sample in fp32.
    assert r["c1"].memory == 6 * 28 * 28 * 4


def residual():
    b = GraphBuilder("res")
    x = b.input((64, 56, 56))
    y = b.add("Conv2d", "conv", x, out_channels=64, kernel=3)
    z = b.add("Add", "add", y, x)
    b.output(b.add("ReLU", "relu", z))
    return b.finish()


def test_add_shape_mismatch_names_both_shapes_and_blocks_downstream():
    g = residual()
    analyzer = Analyzer(g)
    assert analyzer.results["add"].ok
    g.set_params("conv", out_channels=128, stride=2)
    assert analyzer.results["add"].error == "Add: inputs are 128×28×28 and 64×56×56"
    assert analyzer.results["relu"].blocked and analyzer.results["relu"].error is None
    assert analyzer.errors() == [("add", "Add: inputs are 128×28×28 and 64×56×56")]
    g.set_params("conv", out_channels=64, stride=1)
    assert analyzer.results["relu"].ok and not analyzer.errors()


def test_error_sentences():
    g = Graph()
    g.add_node("Input", "input", {"shape": [3, 5, 5]})
    g.add_node("Conv2d", "big", {"kernel": 7, "padding": "valid"})
    g.add_node("Conv2d", "grouped", {"groups": 4})
    g.add_node("Concat", "cat")
    g.add_node("Linear", "fc")
    for dst in ("big", "grouped", "fc"):
        g.connect("input", "out", dst, "in")
    g.connect("input", "out", "cat", "in0")
    r = Analyzer(g).results
    assert r["big"].error == "Conv2d: kernel 7×7 is larger than the padded input 5×5"
    assert r["grouped"].error == "Conv2d: groups 4 does not divide the 3 input channels"
    assert r["cat"].error == "Concat: input 'in1' is not connected"
    assert r["fc"].error.startswith("Linear: input is 3×5×5, but a feature vector is needed")


def test_out_of_range_value_from_a_file_is_a_node_error_not_an_exception():
    doc = fileformat.to_document(residual())
    next(n for n in doc["nodes"] if n["id"] == "conv")["params"]["out_channels"] = 0
    g = fileformat.from_document(doc)
    r = Analyzer(g).results
    assert r["conv"].error == "Conv2d: out_channels: value 0 is below the minimum 1"
    assert r["add"].blocked


def test_cycle_marks_the_nodes_on_it():
    g = residual()
    analyzer = Analyzer(g)
    g.disconnect(g.in_edge("conv", "in"))
    g.connect("relu", "out", "conv", "in")
    on_cycle = {nid for nid, text in analyzer.errors() if "on a cycle" in text}
    assert on_cycle == {"conv", "add", "relu"}
    g.disconnect(g.in_edge("conv", "in"))
    g.connect("input", "out", "conv", "in")
    assert not analyzer.errors()


def long_chain(n):
    b = GraphBuilder("chain")
    x = b.input((8, 32, 32))
    for i in range(n):
        x = b.add("Conv2d", f"c{i}", x, out_channels=8)
    b.output(x)
    return b.finish(layout=False)


def test_edit_recomputes_only_downstream_and_stops_when_shapes_hold():
    g = long_chain(50)
    analyzer = Analyzer(g)
    seen = []
    analyzer.updated.connect(seen.append)
    # Same output shape (8 channels, 'same' padding): only the edited node's numbers change.
    g.set_params("c10", bias=False)
    assert seen[-1] == {"c10"}
    # A new channel count changes c10's output and c11's parameters, but c11's output holds.
    g.set_params("c10", out_channels=16)
    assert seen[-1] == {"c10", "c11"}
    assert analyzer.results["c11"].params == 8 * 16 * 9 + 8
    # A stride changes every shape downstream, and nothing upstream.
    g.set_params("c40", stride=2)
    assert seen[-1] == {f"c{i}" for i in range(40, 50)} | {"output"}
    assert analyzer.results["output"].output_shape == (8, 16, 16)


def test_incremental_equals_full_recompute():
    g = long_chain(20)
    analyzer = Analyzer(g)
    g.set_params("c3", out_channels=5, kernel=[1, 5], stride=2)
    g.set_params("c7", padding="valid")
    fresh = Analyzer(g)
    assert analyzer.results == fresh.results
