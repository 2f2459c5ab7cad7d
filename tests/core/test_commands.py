"""Undoable commands: each one undoes to the byte-identical file, compounds undo as one step."""

import pytest

from designer.core import commands as C
from designer.core import fileformat
from designer.core.errors import CycleError, ParamError
from designer.core.infer import Analyzer
from designer.core.presets import load_design


@pytest.fixture
def graph():
    return load_design("lenet5")


def _roundtrip(graph, command):
    before = fileformat.dumps(graph)
    command.redo()
    after = fileformat.dumps(graph)
    assert after != before
    command.undo()
    assert fileformat.dumps(graph) == before
    command.redo()
    assert fileformat.dumps(graph) == after
    command.undo()
    assert fileformat.dumps(graph) == before


def test_each_command_undoes_exactly(graph):
    _roundtrip(graph, C.AddNode(graph, "Conv2d", "extra", {"out_channels": 8}, (5.0, 6.0)))
    _roundtrip(graph, C.RemoveNode(graph, "c3"))
    _roundtrip(graph, C.Disconnect(graph, graph.in_edge("c3", "in")))
    _roundtrip(graph, C.Connect(graph, "s2", "out", "s4", "in", replace=True))
    _roundtrip(graph, C.SetParams(graph, "c1", out_channels=12, kernel=3))
    _roundtrip(graph, C.MoveNodes(graph, {"c1": (1.5, 2.5), "c3": (3, 4)}))
    _roundtrip(graph, C.Rename(graph, "c3", "conv3"))
    _roundtrip(graph, C.SetMetadata(graph, name="LeNet"))
    _roundtrip(graph, C.delete_nodes(graph, ["relu1", "c3", "f6"]))
    _roundtrip(graph, C.layout(graph, {nid: (0.0, i * 10.0) for i, nid in enumerate(graph.nodes)}))


def test_param_change_that_drops_edges_restores_them():
    from designer.core.builder import GraphBuilder
    b = GraphBuilder("cat")
    x = b.input((3, 8, 8))
    y = b.add("ReLU", "a", x)
    z = b.add("ReLU", "b", x)
    w = b.add("ReLU", "c", x)
    cat = b.add("Concat", "cat", y, z, w, num_inputs=3)
    b.output(cat)
    graph = b.finish()
    command = C.SetParams(graph, "cat", num_inputs=2)
    before = fileformat.dumps(graph)
    command.redo()
    assert graph.in_edge("cat", "in2") is None
    command.undo()
    assert fileformat.dumps(graph) == before


def test_undo_restores_out_of_range_values_loaded_from_a_file(graph):
    text = fileformat.dumps(graph).replace('"out_channels": 6', '"out_channels": 0')
    graph = fileformat.loads(text)
    analyzer = Analyzer(graph)
    assert analyzer.result("c1").error
    _roundtrip(graph, C.SetParams(graph, "c1", out_channels=4))
    _roundtrip(graph, C.RemoveNode(graph, "c1"))
    assert analyzer.result("c1").error


def test_bad_values_and_cycles_are_refused_without_change(graph):
    before = fileformat.dumps(graph)
    with pytest.raises(ParamError):
        C.SetParams(graph, "c1", out_channels=0).redo()
    with pytest.raises(CycleError):
        C.Connect(graph, "f7", "out", "c1", "in", replace=True).redo()
    assert fileformat.dumps(graph) == before


def test_failed_compound_rolls_back(graph):
    before = fileformat.dumps(graph)
    command = C.Compound(graph, "bad", [C.RemoveNode(graph, "relu1"),
                                        C.SetParams(graph, "c3", out_channels=-1)])
    with pytest.raises(ParamError):
        command.redo()
    assert fileformat.dumps(graph) == before


def test_spin_box_edits_merge(graph):
    before = fileformat.dumps(graph)
    first = C.SetParams(graph, "c1", out_channels=7)
    first.redo()
    second = C.SetParams(graph, "c1", out_channels=9)
    second.redo()
    assert first.merge(second)
    assert not first.merge(C.SetParams(graph, "c3", out_channels=9))
    first.undo()
    assert fileformat.dumps(graph) == before
    first.redo()
    assert graph.nodes["c1"].params["out_channels"] == 9


def test_paste_gives_fresh_names_and_keeps_internal_edges(graph):
    clip = C.selection_graph(graph, ["c3", "relu3"])
    assert [(e.src, e.dst) for e in clip.edges] == [("c3", "relu3")]
    command, names = C.paste(graph, clip)
    _roundtrip(graph, command)
    command.redo()
    assert names["c3"] not in ("c3",) and names["c3"] in graph.nodes
    assert graph.in_edge(names["relu3"], "in").src == names["c3"]
    assert graph.nodes[names["c3"]].params == graph.nodes["c3"].params
