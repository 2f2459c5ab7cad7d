"""Hostile and lenient design files found by fuzzing (issue 10, fixes 2, 3, 4 and 7): each is
refused with a DesignFileError naming the field, never a traceback, a hang or a lossy load."""

import json
import os
import threading

import pytest

from designer.core import fileformat
from designer.core.builder import GraphBuilder
from designer.core.errors import DesignFileError
from designer.core.grouping import group_command
from designer.core.presets import preset_path


def lenet_text():
    return preset_path("lenet5").read_text()


def lenet_doc():
    return json.loads(lenet_text())


def _refused(text, *fragments):
    with pytest.raises(DesignFileError) as info:
        fileformat.loads(text)
    for fragment in fragments:
        assert fragment in str(info.value)
    return str(info.value)


def group_doc():
    """A design with one Group node (relu + conv grouped)."""
    b = GraphBuilder("grouped")
    x = b.add("ReLU", "relu", b.input((3, 8, 8)))
    x = b.add("Conv2d", "conv", x, out_channels=4)
    b.output(x)
    graph = b.finish(layout=False)
    group_command(graph, ["relu", "conv"], "blk").redo()
    return fileformat.to_document(graph)


# ---- fix 3: files that are not files, too big, too deep, numbers out of range -------------------

def test_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "design.json"
    os.mkfifo(fifo)
    outcome = []

    def load():
        try:
            fileformat.load(fifo)
        except DesignFileError as error:
            outcome.append(str(error))

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(timeout=10)
    if thread.is_alive():                       # unblock the reader before failing
        with open(fifo, "w"):
            pass
        pytest.fail("loading a named pipe blocked")
    assert outcome and "not a regular file (a named pipe)" in outcome[0]


def test_dev_zero_is_refused_before_reading():
    with pytest.raises(DesignFileError, match=r"/dev/zero: not a regular file \(a character device\)"):
        fileformat.load("/dev/zero")


def test_folder_is_refused(tmp_path):
    with pytest.raises(DesignFileError, match="not a regular file \\(a folder\\)"):
        fileformat.load(tmp_path)


def test_oversized_file_names_the_cap(tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    monkeypatch.setattr(fileformat, "MAX_FILE_BYTES", 2**20 // 2)
    path.write_text(" " * 2**20 + lenet_text())
    with pytest.raises(DesignFileError, match=r"big.json: 1 MiB is larger than the 0 MiB"):
        fileformat.load(path)
    monkeypatch.setattr(fileformat, "MAX_FILE_BYTES", 4 * 2**20)
    assert fileformat.load(path).name == "LeNet-5"      # under the cap it loads


def test_deeply_nested_json_is_refused():
    _refused("[" * 100_000 + "]" * 100_000, "nest too deeply")
    _refused('{"a":' * 100_000 + "1" + "}" * 100_000, "nest too deeply")


def test_huge_integer_position_is_refused():
    doc = lenet_doc()
    doc["nodes"][0]["pos"] = [0, 0]
    text = json.dumps(doc).replace('"pos": [0, 0]', '"pos": [' + "9" * 400 + ", 0]", 1)
    _refused(text, "nodes[0].pos[0]", "too large")


@pytest.mark.parametrize("value", [1e300, -2e9, 10**12])
def test_positions_off_the_canvas_are_refused(value):
    doc = lenet_doc()
    doc["nodes"][2]["pos"] = [0, value]
    _refused(json.dumps(doc), "nodes[2].pos[1]", "off the canvas")


def test_huge_integer_parameter_is_refused():
    doc = lenet_doc()
    doc["nodes"][1]["params"]["out_channels"] = 0
    text = json.dumps(doc).replace('"out_channels": 0', '"out_channels": 1' + "0" * 30, 1)
    _refused(text, "nodes[1].params.out_channels", "too large")


def test_group_nesting_is_bounded():
    doc = group_doc()
    inner = doc
    for _ in range(fileformat.MAX_NESTING + 1):
        group = next(n for n in inner["nodes"] if n["type"] == "Group")
        group["subgraph"]["nodes"].append(json.loads(json.dumps(group)))
        group["subgraph"]["nodes"][-1]["id"] = "deeper"
        inner = group["subgraph"]
    _refused(json.dumps(doc), "groups nest more than 32 deep")


# ---- fix 4: lone surrogates ---------------------------------------------------------------------

@pytest.mark.parametrize("where, mutate", [
    ("name", lambda d: d.update(name="LeNet \ud800")),
    ("description", lambda d: d.update(description="ends badly \udfff")),
    ("nodes[1].id", lambda d: d["nodes"][1].update(id="c\udc00")),
    ("nodes[8].params.name", lambda d: d["nodes"][-1]["params"].update(name="out\ud83d")),
])
def test_lone_surrogates_are_refused(where, mutate):
    doc = lenet_doc()
    mutate(doc)
    text = json.dumps(doc)                      # escapes the surrogate as \udXXX, as a file would
    message = _refused(text, "half of a UTF-16 surrogate pair")
    assert message.startswith(where.replace("[8]", f"[{len(doc['nodes']) - 1}]") + ":")


def test_a_proper_surrogate_pair_is_text():
    doc = lenet_doc()
    doc["description"] = "a smile \U0001F600"
    graph = fileformat.loads(json.dumps(doc))     # json writes it as the pair \ud83d\ude00
    assert graph.description.endswith("\U0001F600")
    assert fileformat.loads(fileformat.dumps(graph)).description == graph.description


# ---- fix 7: the lenient loader -------------------------------------------------------------------

@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(constant):
    doc = lenet_doc()
    doc["nodes"][3]["pos"] = [0, 0]
    text = json.dumps(doc).replace('"pos": [0, 0]', f'"pos": [{constant}, 0]', 1)
    _refused(text, "nodes[3].pos[0]", f"{constant} is not a number")


def test_duplicate_keys_are_refused():
    text = lenet_text().replace('"type": "Conv2d"', '"type": "Conv2d", "type": "ReLU"', 1)
    index = next(i for i, n in enumerate(lenet_doc()["nodes"]) if n["type"] == "Conv2d")
    _refused(text, f"nodes[{index}]: the key 'type' appears twice")
    text = lenet_text().replace('"format"', '"version": 0, "format"', 1)
    _refused(text, "document: the key 'version' appears twice")


def test_plain_layer_with_a_subgraph_is_refused():
    doc = lenet_doc()
    doc["nodes"][1]["subgraph"] = {"nodes": [], "edges": []}
    _refused(json.dumps(doc), "nodes[1].subgraph: only a Group node holds a subgraph; 'Conv2d'")


# ---- fix 2: structurally impossible groups -------------------------------------------------------

def test_group_containing_an_input_is_refused():
    doc = group_doc()
    group = next(n for n in doc["nodes"] if n["type"] == "Group")
    group["subgraph"]["nodes"].append({"id": "extra", "type": "Input",
                                       "params": {"shape": [3, 8, 8]}, "pos": [0, 0]})
    index = doc["nodes"].index(group)
    _refused(json.dumps(doc), f"nodes[{index}].subgraph: the group 'blk' contains the Input node 'extra'")


def test_group_with_two_ports_of_one_name_is_refused():
    doc = group_doc()
    group = next(n for n in doc["nodes"] if n["type"] == "Group")
    outputs = [n for n in group["subgraph"]["nodes"] if n["type"] == "Output"]
    copy = json.loads(json.dumps(outputs[0]))
    copy["id"] = "second"
    group["subgraph"]["nodes"].append(copy)
    _refused(json.dumps(doc), "the group 'blk' has two output ports named")


def test_group_without_output_loads_as_a_branch_reaching_no_output():
    """The editor can group a branch that feeds nothing: its file must load back."""
    from designer.core.infer import Analyzer
    doc = group_doc()
    group = next(n for n in doc["nodes"] if n["type"] == "Group")
    group["subgraph"]["nodes"] = [n for n in group["subgraph"]["nodes"] if n["type"] != "Output"]
    group["subgraph"]["edges"] = [e for e in group["subgraph"]["edges"]
                                  if e["dst"] in {n["id"] for n in group["subgraph"]["nodes"]}]
    doc["edges"] = [e for e in doc["edges"] if e["src"] != "blk"]
    graph = fileformat.loads(json.dumps(doc))
    assert "blk" in Analyzer(graph).unused


def test_a_valid_group_still_loads_and_round_trips():
    doc = group_doc()
    graph = fileformat.loads(json.dumps(doc))
    assert fileformat.to_document(graph) == doc


@pytest.mark.parametrize("value", ["1e308", "1e19", "9007199254740994.0"])
def test_a_huge_float_integer_parameter_is_refused_not_saved_with_hundreds_of_digits(value):
    """Issue 28, item 11: 1e308 once loaded as a 309-digit integer that saved and never
    reopened; a float beyond 2⁵³ is no exact integer."""
    doc = lenet_doc()
    doc["nodes"][1]["params"]["out_channels"] = 0
    text = json.dumps(doc).replace('"out_channels": 0', f'"out_channels": {value}', 1)
    _refused(text, "nodes[1].params.out_channels", "expected an integer")
    doc["nodes"][1]["params"]["out_channels"] = 8.0           # a whole float is still its integer
    assert fileformat.loads(json.dumps(doc)).nodes[doc["nodes"][1]["id"]].params[
        "out_channels"] == 8
