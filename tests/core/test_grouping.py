"""Grouping a selection into a block and exploding blocks back into layers."""

import pytest

from designer.core import fileformat
from designer.core.grouping import GroupingError, explode_command, group_command
from designer.core.infer import Analyzer
from designer.core.presets import load_design
from designer.core.registry import REGISTRY, Role


@pytest.fixture
def graph():
    return load_design("lenet5")


def test_group_keeps_every_shape_and_total(graph):
    analyzer = Analyzer(graph)
    totals = analyzer.totals
    final = analyzer.result("output").output_shape
    before = fileformat.dumps(graph)
    command = group_command(graph, ["c3", "relu3", "s4"], label="stage")
    command.redo()
    block = graph.nodes["stage"]
    assert block.type == "Group"
    assert block.input_ports() == ["in"] and block.output_ports() == ["out"]
    assert {"c3", "relu3", "s4"} <= set(block.subgraph.nodes) and "c3" not in graph.nodes
    assert analyzer.totals == totals and analyzer.result("output").output_shape == final
    command.undo()
    assert fileformat.dumps(graph) == before


def test_group_with_several_inputs_and_outputs():
    from designer.core.builder import GraphBuilder
    b = GraphBuilder("branches")
    x = b.input((8, 16, 16))
    a = b.add("Conv2d", "a", x, out_channels=8, kernel=1)
    c = b.add("Conv2d", "c", x, out_channels=8, kernel=3)
    s = b.add("Add", "sum", a, c)
    r = b.add("ReLU", "r", s)
    cat = b.add("Concat", "cat", r, a)
    b.output(cat)
    graph = b.finish()
    analyzer = Analyzer(graph)
    totals = analyzer.totals
    group_command(graph, ["sum", "r"], "g").redo()
    assert graph.nodes["g"].input_ports() == ["in", "in1"]
    assert analyzer.totals == totals and not analyzer.errors()
    explode_command(graph, "g").redo()
    assert {"sum", "r"} <= set(graph.nodes) and analyzer.totals == totals and not analyzer.errors()


def test_refusals(graph):
    with pytest.raises(GroupingError, match="inputs and outputs"):
        group_command(graph, ["input", "c1"])
    with pytest.raises(GroupingError, match="leaves the selection"):
        group_command(graph, ["c1", "s2"])  # relu1 between them stays outside
    with pytest.raises(GroupingError, match="not a block"):
        explode_command(graph, "c1")
    with pytest.raises(GroupingError, match="select"):
        group_command(graph, [])


def test_explode_catalogue_block_keeps_module_paths():
    blocks = [s for s in REGISTRY.specs() if s.is_block and s.role is not Role.GROUP and s.expand]
    if not blocks:
        pytest.skip("no catalogue block is registered yet")
    from designer.core.graph import Graph
    spec = blocks[0]
    graph = Graph("one block")
    graph.add_node("Input", "input", {"shape": (64, 32, 32)})
    node = graph.add_node(spec.type, "layer1.0")
    for port in node.input_ports():
        graph.connect("input", "out", "layer1.0", port)
    graph.add_node("Output", "output")
    graph.connect("layer1.0", node.output_ports()[0], "output", "in")
    analyzer = Analyzer(graph)
    if analyzer.errors():
        pytest.skip(f"{spec.type} does not take a 64×32×32 input at its defaults")
    totals = analyzer.totals
    shapes = [(64, 32, 32)] * len(node.input_ports())
    explode_command(graph, "layer1.0", shapes).redo()
    assert all(nid.startswith("layer1.0.") for nid in graph.nodes if nid not in ("input", "output"))
    assert analyzer.totals.params == totals.params and not analyzer.errors()
