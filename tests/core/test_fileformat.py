"""Design files: lossless round trip, one clear DesignFileError for every kind of bad file,
atomic saves."""

import json
import os

import pytest

from designer.core import fileformat
from designer.core.errors import DesignFileError
from designer.core.presets import load_design, preset_path


def lenet_doc():
    return json.loads(preset_path("lenet5").read_text())


def test_round_trip_is_lossless(tmp_path):
    graph = load_design("lenet5")
    graph.move("c1", (12.5, -40.25))
    graph.set_metadata(description="a note\nwith two lines")
    path = tmp_path / "net.json"
    fileformat.save(graph, path)
    again = fileformat.load(path)
    assert fileformat.dumps(again) == fileformat.dumps(graph)
    assert again.nodes["c1"].pos == (12.5, -40.25)
    assert again.description == "a note\nwith two lines"


def test_design_hash_follows_what_the_design_computes_not_its_layout_or_name(tmp_path):
    graph = load_design("lenet5")
    digest = fileformat.design_hash(graph)
    moved = graph.copy()
    moved.move("c1", (999.0, -5.0))
    moved.set_metadata(name="renamed", description="another note")
    assert fileformat.design_hash(moved) == digest
    doc = lenet_doc()
    doc["nodes"].reverse()                        # the order nodes are listed in is no content
    assert fileformat.design_hash(fileformat.from_document(doc)) == digest
    fileformat.save(graph, tmp_path / "net.json")
    assert fileformat.design_hash(fileformat.load(tmp_path / "net.json")) == digest

    wider = graph.copy()
    wider.set_params("c1", out_channels=8)
    renamed_node = graph.copy()
    renamed_node.rename("c1", "conv1")
    rewired = graph.copy()
    rewired.disconnect(rewired.edges[-1])
    digests = {fileformat.design_hash(g) for g in (wider, renamed_node, rewired)}
    assert digest not in digests and len(digests) == 3


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(version=99), "version: the file is version 99"),
    (lambda d: d.update(format="keras"), "format: expected 'cnn-designer'"),
    (lambda d: d.pop("nodes"), "nodes: expected a list"),
    (lambda d: d["nodes"][1].update(type="Conv9d"), "nodes[1].type: unknown layer type 'Conv9d'"),
    (lambda d: d["nodes"][1]["params"].update(kernel="big"), "nodes[1].params.kernel: expected an integer or [height, width]"),
    (lambda d: d["nodes"][1]["params"].update(out_channels=6.5), "nodes[1].params.out_channels: expected an integer"),
    (lambda d: d["nodes"][1]["params"].update(colour=1), "nodes[1].params.colour: Conv2d has no such parameter"),
    (lambda d: d["nodes"][2].update(pos="here"), "nodes[2].pos: expected a list"),
    (lambda d: d["nodes"][2].update(id="c1"), "nodes[2].id: a node named 'c1' appears twice"),
    (lambda d: d["edges"][0].update(dst="nowhere"), "edges[0].dst: no node named 'nowhere'"),
    (lambda d: d["edges"][0].update(dst_port="side"), "edges[0]: c1 has no input port 'side'"),
    (lambda d: d["edges"].append(dict(d["edges"][0])), "edges[13]: input c1.in is already connected"),
])
def test_bad_files_name_the_field(tmp_path, mutate, message):
    doc = lenet_doc()
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DesignFileError) as info:
        fileformat.load(path)
    assert message in str(info.value)


def test_truncated_and_missing_files(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(preset_path("lenet5").read_text()[:300])
    with pytest.raises(DesignFileError, match="not valid JSON .* may be truncated"):
        fileformat.load(path)
    with pytest.raises(DesignFileError, match="no such file"):
        fileformat.load(tmp_path / "absent.json")


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "net.json"
    fileformat.save(load_design("lenet5"), path)
    before = path.read_text()

    def fail(*args):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        fileformat.save(load_design("lenet5"), path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]  # no temporary left behind
