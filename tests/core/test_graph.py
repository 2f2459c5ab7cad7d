"""The graph model: validation before mutation, ports, notifications, cycles."""

import pytest

from designer.core.errors import ParamError, PortError, UnknownLayerError
from designer.core.graph import Graph


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
    with pytest.raises(ValueError, match="not a valid node name"):
        g.add_node("ReLU", "1relu")
    g.add_node("ReLU", "relu")
    with pytest.raises(ValueError, match="already exists"):
        g.add_node("ReLU", "relu")
    assert g.unique_id("relu") == "relu1"


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
