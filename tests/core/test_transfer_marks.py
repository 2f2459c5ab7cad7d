"""A node's training marks (frozen, learning-rate factor): undoable, saved only when set, left out
of the design's hash; and the classifier a new head replaces."""

import json

import pytest

from designer.core import fileformat
from designer.core.builder import GraphBuilder
from designer.core.commands import RemoveNode, SetTraining
from designer.core.errors import DesignFileError, ParamError
from designer.core.heads import HeadError, find_head, new_head_command
from designer.core.presets import load_design
from designer.core.summary import summarize

from ..helpers import tiny_digits_net


def test_set_training_is_one_undoable_step_for_many_nodes():
    graph = tiny_digits_net()
    before = fileformat.dumps(graph)
    command = SetTraining(graph, ["conv", "fc"], frozen=True)
    command.redo()
    assert graph.frozen_nodes() == ["conv", "fc"] and command.text == "Freeze 2 nodes"
    command.undo()
    assert graph.frozen_nodes() == [] and fileformat.dumps(graph) == before
    factor = SetTraining(graph, ["fc"], lr_factor=10)
    factor.redo()
    assert graph.nodes["fc"].lr_factor == 10.0
    factor.undo()
    assert graph.nodes["fc"].lr_factor == 1.0
    with pytest.raises(ParamError, match="above 0"):
        graph.set_training("fc", lr_factor=0)


def test_marks_are_saved_only_when_set_and_leave_the_hash_alone():
    graph = tiny_digits_net()
    plain_text, plain_hash = fileformat.dumps(graph), fileformat.design_hash(graph)
    assert "frozen" not in plain_text and "lr_factor" not in plain_text
    graph.set_training("conv", frozen=True)
    graph.set_training("fc", lr_factor=0.25)
    loaded = fileformat.loads(fileformat.dumps(graph))
    assert loaded.nodes["conv"].frozen and not loaded.nodes["fc"].frozen
    assert loaded.nodes["fc"].lr_factor == 0.25
    assert fileformat.design_hash(loaded) == plain_hash
    copied = graph.copy()
    assert copied.nodes["conv"].frozen and copied.nodes["fc"].lr_factor == 0.25


def test_undoing_a_delete_restores_the_marks():
    graph = tiny_digits_net()
    graph.set_training("fc", frozen=True, lr_factor=3)
    command = RemoveNode(graph, "fc")
    command.redo()
    command.undo()
    assert graph.nodes["fc"].frozen and graph.nodes["fc"].lr_factor == 3.0


@pytest.mark.parametrize("field, value, message", [
    ("frozen", "yes", "expected true or false"),
    ("lr_factor", -1, "above 0"),
    ("lr_factor", "x", "expected a number"),
])
def test_bad_marks_in_a_file_name_their_field(field, value, message):
    doc = json.loads(fileformat.dumps(tiny_digits_net()))
    doc["nodes"][1][field] = value
    with pytest.raises(DesignFileError, match=f"nodes\\[1\\].{field}: .*{message}"):
        fileformat.from_document(doc)


def test_summary_counts_trainable_and_frozen_parameters():
    graph = tiny_digits_net()
    graph.set_training("conv", frozen=True)
    summary = summarize(graph)
    assert summary["frozen_params"] == 4 * 9 + 4
    assert summary["trainable_params"] == summary["total_params"] - 40


def test_the_head_is_the_last_linear_or_1x1_convolution():
    assert find_head(tiny_digits_net()).node_id == "fc"
    head = find_head(load_design("reactor_digits"))
    assert (head.node_id, head.param, head.outputs) == ("fc2", "out_features", 10)
    squeeze = find_head(load_design("squeezenet1_1"))     # conv 1×1 → ReLU → pool → flatten
    assert squeeze.param == "out_channels" and squeeze.outputs == 1000
    assert find_head(load_design("resnet18")).node_id == "fc"


def test_no_head_behind_a_layer_with_weights_is_a_sentence():
    b = GraphBuilder("bn last")
    x = b.input((1, 8, 8))
    x = b.add("Conv2d", "conv", x, out_channels=4, kernel=3)
    b.output(b.add("BatchNorm", "bn", x))
    with pytest.raises(HeadError, match="'bn' .* is the last layer with weights"):
        find_head(b.finish())


def test_new_head_command_is_one_undoable_edit():
    graph = load_design("reactor_digits")
    command, head = new_head_command(graph, 5)
    command.redo()
    assert graph.nodes["fc2"].params["out_features"] == 5 and head.outputs == 10
    assert command.text == "Adapt to dataset: fc2 gives 5 outputs"
    command.undo()
    assert graph.nodes["fc2"].params["out_features"] == 10
    assert new_head_command(graph, 10)[0] is None


def test_grouping_and_exploding_keep_the_marks_and_training_reads_them_inside_groups():
    from designer.core.compile import compile_graph
    from designer.core.grouping import explode_command, group_command
    from designer.train.config import TrainConfig
    from designer.train.transfer import freeze, resolve
    graph = tiny_digits_net()
    graph.set_training("conv", frozen=True)
    graph.set_training("fc", lr_factor=0.5)
    group_command(graph, ["conv", "relu"], group_id="stem").redo()
    assert graph.frozen_nodes() == ["stem.conv"]
    config = TrainConfig()
    frozen, factors = resolve(graph, config)
    assert frozen == ["stem.conv"] and factors == {"fc": 0.5}
    model = compile_graph(graph)
    freeze(model, frozen)
    assert [n for n, p in model.named_parameters() if not p.requires_grad] == \
        ["stem.conv.weight", "stem.conv.bias"]
    # Exploding a frozen block freezes all its layers; a layer's own factor stays its own.
    graph.set_training("stem", frozen=True, lr_factor=2)
    graph.nodes["stem"].subgraph.set_training("relu", lr_factor=3)
    explode = explode_command(graph, "stem")
    explode.redo()
    assert sorted(graph.frozen_nodes()) == ["conv", "relu"]
    assert (graph.nodes["conv"].lr_factor, graph.nodes["relu"].lr_factor) == (2.0, 3.0)
    explode.undo()
    assert graph.frozen_nodes() == ["stem", "stem.conv"]
