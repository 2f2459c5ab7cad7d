"""The search space kept in a design file (format version 2): marking a parameter searchable,
checked values, undo, save/load round trip, version 1 files loading, and bad entries refused
with the field named."""

import json

import pytest

from designer.core import fileformat, space
from designer.core.errors import DesignFileError
from designer.core.presets import load_design
from designer.core.space import Searchable, SetSearchable, SpaceError


def test_parse_reads_choices_and_ranges():
    assert space.parse("3,5,7") == Searchable((3, 5, 7))
    assert space.parse("8:32:8").values() == [8, 16, 24, 32]
    assert space.parse("0.25:1:0.25").values() == [0.25, 0.5, 0.75, 1.0]
    assert space.parse("BasicBlock, Bottleneck") == Searchable(("BasicBlock", "Bottleneck"))
    for bad in ("8:4:1", "1:2:0", "a:b", "3,,5"):
        with pytest.raises(SpaceError):
            space.parse(bad)


def test_a_searchable_parameter_round_trips_through_a_version_2_file_and_undoes():
    graph = load_design("resnet18")
    plain = fileformat.dumps(graph)
    assert json.loads(plain)["version"] == 1          # nothing searched: still a version-1 file
    kernel = SetSearchable(graph, "conv1", "kernel", space.parse("3,5,7"))
    kernel.redo()
    SetSearchable(graph, "conv1", "out_channels", space.parse("32:64:16")).redo()
    SetSearchable(graph, "layer1.0", "type", space.parse("BasicBlock,PreActBasicBlock")).redo()
    text = fileformat.dumps(graph)
    doc = json.loads(text)
    assert doc["version"] == 2 == fileformat.VERSION
    assert doc["search"]["conv1"] == {"kernel": {"choices": [[3, 3], [5, 5], [7, 7]]},
                                      "out_channels": {"low": 32, "high": 64, "step": 16}}
    loaded = fileformat.loads(text)
    assert loaded.search == graph.search and fileformat.dumps(loaded) == text
    # the space is not what the design computes: the hash (which names its runs) is unchanged
    assert fileformat.design_hash(loaded) == fileformat.design_hash(load_design("resnet18"))
    graph.rename("conv1", "stem")
    assert "stem" in json.loads(fileformat.dumps(graph))["search"]
    graph.rename("stem", "conv1")
    kernel.undo()
    assert "kernel" not in graph.search["conv1"]


def test_a_version_1_file_loads_with_an_empty_space():
    doc = json.loads(fileformat.dumps(load_design("lenet5")))
    assert doc["version"] == 1 and "search" not in doc
    assert fileformat.from_document(doc).search == {}


def test_values_are_checked_against_the_parameter():
    graph = load_design("lenet5")
    with pytest.raises(SpaceError, match="c1.out_channels"):
        SetSearchable(graph, "c1", "out_channels", space.parse("0,8"))
    with pytest.raises(SpaceError, match="a range needs a number parameter"):
        SetSearchable(graph, "c1", "kernel", space.parse("3:7:2"))
    with pytest.raises(SpaceError, match="has no parameter 'width'"):
        SetSearchable(graph, "c1", "width", space.parse("1,2"))
    with pytest.raises(SpaceError, match="cannot replace a Conv2d"):
        SetSearchable(graph, "c1", "type", space.parse("BasicBlock"))


@pytest.mark.parametrize("search, message", [
    ({"nope": {"kernel": {"choices": [3]}}}, "search.nope: no node named 'nope'"),
    ({"c1": {"kernel": {"choices": []}}}, "search.c1.kernel.choices: expected a list"),
    ({"c1": {"out_channels": {"low": 8, "high": 4, "step": 1}}}, "search.c1.out_channels: a range"),
    ({"c1": {"out_channels": {"choices": [-1]}}}, "search.c1.out_channels: "),
    ({"c1": []}, "search.c1: expected"),
])
def test_a_bad_search_entry_in_a_file_names_its_field(search, message):
    doc = json.loads(fileformat.dumps(load_design("lenet5")))
    doc.update(version=2, search=search)
    with pytest.raises(DesignFileError, match=message.replace(".", r"\.").replace("(", r"\(")):
        fileformat.from_document(doc)


def test_replacing_a_block_type_keeps_id_connections_and_shared_params():
    graph = load_design("resnet18")
    edges = graph.edges_of("layer1.0")
    space.replace_type(graph, "layer1.0", "PreActBasicBlock")
    node = graph.nodes["layer1.0"]
    assert node.type == "PreActBasicBlock" and node.params["out_channels"] == 64
    assert sorted(map(str, graph.edges_of("layer1.0"))) == sorted(map(str, edges))
