"""Measured per-node latency on the CPU and the `designer profile --json` contract."""

import json

import pytest

from designer.cli import main
from designer.core.compile import compile_graph
from designer.core.presets import load_design
from designer.speed.profile import ProfileError, owner_map, profile


def test_resnet18_node_times_add_up_to_end_to_end():
    graph = load_design("resnet18")
    report = profile(graph, (3, 64, 64), threads=1, repeats=20, warmup=3)
    assert report["input_shape"] == [3, 64, 64] and report["threads"] == 1
    total = report["end_to_end_ms"]
    parts = sum(n["latency_ms"] for n in report["nodes"])
    assert parts == pytest.approx(report["sum_ms"])
    assert abs(total - parts) <= 0.25 * total, (total, parts)
    by_id = {n["id"]: n for n in report["nodes"]}
    # every layer that computes got time of its own; the blocks dominate
    assert all(by_id[nid]["latency_ms"] > 0 for nid in ("conv1", "layer1.0", "layer4.1", "fc"))
    blocks = sum(n["latency_ms"] for n in report["nodes"] if n["type"] == "BasicBlock")
    assert blocks > 0.5 * parts
    assert by_id["input"]["latency_ms"] == 0 and by_id["layer1.0"]["bound"] in ("memory", "compute")


def test_every_fx_operation_belongs_to_a_design_node():
    graph = load_design("shufflenet_v2_x1_0")
    module = compile_graph(graph)
    owners = owner_map(graph, module)
    for fx_node in module.graph.nodes:
        if fx_node.op not in ("placeholder", "output"):
            assert owners[fx_node.name] in graph.nodes, fx_node.name


def test_auxiliary_heads_are_listed_as_not_run():
    report = profile(load_design("googlenet"), threads=1, repeats=1, warmup=0)
    ids = [n["id"] for n in report["nodes"]]
    assert sorted(report["not_run"]) == sorted(
        n.id for n in load_design("googlenet").nodes.values()
        if n.type == "InceptionAuxV1" or (n.type == "Output" and n.params["role"] == "auxiliary"))
    assert not set(report["not_run"]) & set(ids) and "inception3a" in ids


def test_backward_times_each_node():
    report = profile(load_design("reactor_digits"), batch=4, threads=1, repeats=3, warmup=1,
                     backward=True)
    by_id = {n["id"]: n for n in report["nodes"]}
    assert by_id["conv2"]["backward_ms"] > 0 and by_id["fc1"]["backward_ms"] > 0
    assert report["backward_sum_ms"] > 0 and report["backward_end_to_end_ms"] > 0


def test_cli_json_contract(capsys):
    assert main(["profile", "reactor_digits", "--threads", "1", "--repeats", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"device", "input_shape", "batch", "end_to_end_ms", "nodes"} <= set(report)
    assert report["device"] == "cpu" and report["batch"] == 1 and report["input_shape"] == [1, 8, 8]
    node = report["nodes"][1]
    assert set(node) >= {"id", "type", "latency_ms", "macs", "bytes_read", "bytes_written",
                         "intensity", "bound", "hints"}
    assert node["id"] == "conv1" and node["macs"] == 4 * 64 * 9
    assert main(["profile", "reactor_digits", "--threads", "1", "--repeats", "2"]) == 0
    text = capsys.readouterr().out
    assert "End to end:" in text and "conv1" in text


def test_clear_errors(capsys):
    assert main(["profile", "reactor_digits", "--input", "1x1x1", "--repeats", "1"]) == 2
    assert capsys.readouterr().err.startswith("designer: ")
    with pytest.raises(ProfileError, match="CUDA|cuda"):
        import torch
        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
        profile(load_design("reactor_digits"), device="cuda")
