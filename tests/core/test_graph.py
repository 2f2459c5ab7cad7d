"""The graph model: validation before mutation, ports, notifications, cycles."""

import pytest

from designer.core.errors import (CycleError, DesignError, NodeNameError, ParamError, PortError,
                                  ShapeError, UnknownLayerError, UnknownNodeError)
from designer.core.graph import Graph, Node, unique_id
from designer.core.infer import Analyzer
from designer.core.registry import REGISTRY, Role


def chain():
    g = Graph("t")
    g.add_node("Input", "input", {"shape": [3, 32, 32]})
    g.add_node("Conv2d", "conv", {"out_channels": 8})
    g.add_node("ReLU", "relu")
    g.connect("input", "out", "conv", "in")
    g.connect("conv", "out", "relu", "in")
    return g


def test_params_are_validated_and_canonical():
    g = chain()
    assert g.nodes["input"].params["shape"] == (3, 32, 32)
    assert g.nodes["conv"].params["kernel"] == (3, 3)
    g.set_params("conv", kernel=[1, 7])
    assert g.nodes["conv"].params.kernel == (1, 7)
    with pytest.raises(ParamError, match="out_channels: value 0 is below the minimum 1"):
        g.set_params("conv", out_channels=0)
    with pytest.raises(ParamError, match="expected an integer"):
        g.set_params("conv", out_channels="many")
    with pytest.raises(ParamError, match="no parameter 'colour'"):
        g.set_params("conv", colour=3)
    assert g.nodes["conv"].params.out_channels == 8  # nothing changed by the refused edits


def test_unknown_type_and_bad_names_are_refused():
    g = Graph()
    with pytest.raises(UnknownLayerError):
        g.add_node("Conv9d")
    with pytest.raises(NodeNameError, match="not a valid node name"):
        g.add_node("ReLU", "1relu")
    g.add_node("ReLU", "relu")
    with pytest.raises(NodeNameError, match="already exists"):
        g.add_node("ReLU", "relu")
    with pytest.raises(UnknownNodeError) as caught:
        g.set_params("nothing", inplace=True)
    assert str(caught.value) == "no node 'nothing'"          # a sentence, not a quoted repr
    assert issubclass(NodeNameError, DesignError) and issubclass(UnknownNodeError, DesignError)
    assert g.unique_id("relu") == "relu1"


def test_one_unique_id_makes_valid_free_names():
    taken = {"relu", "relu1", "conv1.0"}
    assert unique_id("relu", taken) == "relu2"
    assert unique_id("conv1.0", taken) == "conv1.1"          # dotted block paths stay dotted
    assert unique_id("My block!", taken) == "My_block_"
    assert unique_id("3x3", taken) == "n3x3"
    assert unique_id("", taken) == "node"
    g = Graph()
    for wanted in ("My block!", "3x3", "a..b."):
        g.add_node("ReLU", unique_id(wanted, g.nodes))     # every result is a valid node name


def test_check_connect_says_why_a_connection_cannot_be_made():
    g = chain()
    g.add_node("Linear", "fc", {"out_features": 10})
    results = Analyzer(g).results
    with pytest.raises(CycleError, match="cannot feed itself"):
        g.check_connect("relu", "out", "relu", "in")
    with pytest.raises(CycleError, match="would close a cycle; a network must flow one way"):
        g.check_connect("relu", "out", "conv", "in")
    with pytest.raises(PortError, match="no such node"):
        g.check_connect("relu", "out", "ghost", "in")
    with pytest.raises(ShapeError, match="cannot connect relu to fc: Linear"):
        g.check_connect("relu", "out", "fc", "in", results)    # an image into a Linear layer
    g.check_connect("relu", "out", "fc", "in")                 # without results: topology only
    probe = Node("pool", "MaxPool2d", REGISTRY.get("MaxPool2d").defaults())
    g.check_connect("relu", "out", "pool", "in", results, new_node=probe)   # fits: no error


def test_specs_say_their_role_instead_of_their_type_name():
    roles = {spec.type: spec.role for spec in REGISTRY.specs() if spec.role is not Role.LAYER}
    assert roles == {"Input": Role.INPUT, "Output": Role.OUTPUT, "BlockInput": Role.BLOCK_INPUT,
                     "Group": Role.GROUP}
    assert {s.type for s in REGISTRY.specs() if s.list_input} >= {"Concat", "Add"}
    for spec in REGISTRY.specs():
        assert spec.category.title and spec.category.colour.startswith("#")


def test_ports_are_checked_and_inputs_take_one_edge():
    g = chain()
    with pytest.raises(PortError, match="no input port 'x'"):
        g.connect("input", "out", "relu", "x")
    with pytest.raises(PortError, match="already connected"):
        g.connect("input", "out", "relu", "in")


def test_shrinking_a_variadic_node_drops_the_edges_to_vanished_ports():
    g = chain()
    g.add_node("Concat", "cat", {"num_inputs": 3})
    for i, src in enumerate(["input", "conv", "relu"]):
        g.connect(src, "out", "cat", f"in{i}")
    dropped = g.set_params("cat", num_inputs=2)
    assert [(e.src, e.dst_port) for e in dropped] == [("relu", "in2")]
    assert g.in_edge("cat", "in2") is None


def test_signals_fire_once_per_mutation_and_once_per_batch():
    g = chain()
    changes = []
    g.changed.connect(changes.append)
    g.set_params("conv", out_channels=16)
    assert len(changes) == 1 and changes[0].dirty == {"conv"} and not changes[0].structure
    with g.batch():
        g.add_node("ReLU", "r2")
        g.connect("relu", "out", "r2", "in")
    assert len(changes) == 2 and changes[1].structure and "r2" in changes[1].dirty


def test_remove_node_removes_its_edges():
    g = chain()
    removed = []
    g.edge_removed.connect(removed.append)
    g.remove_node("conv")
    assert {(e.src, e.dst) for e in removed} == {("input", "conv"), ("conv", "relu")}
    assert g.edges == []


def test_rename_keeps_edges():
    g = chain()
    g.rename("conv", "stem.conv")
    assert {(e.src, e.dst) for e in g.edges} == {("input", "stem.conv"), ("stem.conv", "relu")}


def test_cycles_are_detected_not_refused():
    g = chain()
    g.add_node("Add", "add")
    g.connect("relu", "out", "add", "in0")
    assert g.creates_cycle("add", "conv")
    assert not g.creates_cycle("input", "add")
    g.disconnect(g.in_edge("conv", "in"))
    g.connect("add", "out", "conv", "in")
    assert g.cycle_nodes() == {"conv", "relu", "add"}


def test_copy_is_deep():
    g = chain()
    other = g.copy()
    other.set_params("conv", out_channels=99)
    assert g.nodes["conv"].params.out_channels == 8
