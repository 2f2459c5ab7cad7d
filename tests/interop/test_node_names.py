"""The ids importers give nodes (designer.interop.NodeNames): free, never nesting inside one
another, and found with work that grows linearly with the graph (the importers were quadratic)."""

from designer.core.graph import Graph
from designer.interop import NodeNames


class CountingNames(NodeNames):
    checks = 0

    def __contains__(self, node_id):
        CountingNames.checks += 1
        return super().__contains__(node_id)


def test_ids_are_free_and_never_nest():
    graph = Graph("g")
    names = NodeNames(graph)
    for wanted, given in (("layer1.0.conv", "layer1.0.conv"), ("layer1", "layer2"),
                          ("layer1.0.conv.x", "layer1_0_conv_x"), ("layer1.0.bn", "layer1.0.bn"),
                          ("relu", "relu"), ("relu", "relu1"), ("relu", "relu2")):
        node_id = names.free(wanted)
        graph.add_node("ReLU", node_id)
        assert node_id == given, wanted
    ids = list(graph.nodes)
    assert not any(a != b and b.startswith(a + ".") for a in ids for b in ids)


def test_thousands_of_one_name_cost_linear_work():
    graph = Graph("chain")
    names = CountingNames(graph)
    CountingNames.checks = 0
    count = 3000
    for _ in range(count):
        graph.add_node("ReLU", names.free("relu"))
    assert len(graph.nodes) == count and "relu2999" in graph.nodes
    assert CountingNames.checks < 3 * count      # the first-free search from 1: ~count² / 2
