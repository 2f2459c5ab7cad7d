"""Function-preserving edits: the grown network computes the trained one's outputs (within 1e-5
before fine-tuning), the edit is one undoable command, and what cannot keep the function is
refused with its sentence."""

import pytest
import torch

from designer.cli import main
from designer.compress.measure import load_model
from designer.core import fileformat
from designer.core.graph import Graph
from designer.core.infer import analyze
from designer.core.presets import load_design
from designer.search.grow import GrowError, deepen, widen
from designer.weights import read_state_dict


def chain(*layers, shape=(8, 6, 6)):
    """Input -> layers ((type, id, params) ...) -> Output, connected in order."""
    g = Graph("chain")
    g.add_node("Input", "input", {"shape": list(shape)})
    ids = ["input"]
    for type_name, nid, params in layers:
        g.add_node(type_name, nid, params)
        ids.append(nid)
    g.add_node("Output", "output")
    ids.append("output")
    for a, b in zip(ids, ids[1:]):
        g.connect(a, g.nodes[a].output_ports()[0], b, g.nodes[b].input_ports()[0])
    assert not [r.error for r in analyze(g).values() if r.error]
    return g


def trained_state(graph, seed=0):
    """Random weights with batch-norm statistics that are not the identity (as after training)."""
    torch.manual_seed(seed)
    state = load_model(graph).state_dict()
    for key, value in state.items():
        if key.endswith("running_mean"):
            state[key] = torch.randn_like(value)
        elif key.endswith("running_var"):
            state[key] = torch.rand_like(value) + 0.5
        elif key.endswith(".weight") and value.dim() == 1:     # batch-norm scales
            state[key] = torch.randn_like(value)
    return state


def outputs(graph, state, x):
    with torch.no_grad():
        return load_model(graph, state)(x)


def assert_same_function(graph, state, growth):
    shape = graph.nodes["input"].params["shape"]
    x = torch.randn(5, *shape, generator=torch.Generator().manual_seed(7))
    before = outputs(graph, state, x)
    growth.command.redo()
    after = outputs(graph, growth.state, x)
    assert before.shape == after.shape
    assert torch.allclose(before, after, atol=1e-5, rtol=0), (before - after).abs().max()
    return graph


CONV_BN_RELU_CONV = (("Conv2d", "conv1", {"out_channels": 6}), ("BatchNorm", "bn1", {}),
                     ("ReLU", "relu1", {}), ("Conv2d", "conv2", {"out_channels": 5}),
                     ("GlobalAvgPool2d", "pool", {"flatten": True}),
                     ("Linear", "fc", {"out_features": 3}))


@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_widening_a_conv_before_batch_norm_keeps_the_outputs(noise):
    graph = chain(*CONV_BN_RELU_CONV)
    state = trained_state(graph)
    growth = widen(graph, state, "conv1", 11, noise=noise)
    assert_same_function(graph, state, growth)
    assert graph.nodes["conv1"].params["out_channels"] == 11
    assert growth.state["bn1.running_mean"].shape == (11,)
    assert growth.state["conv2.weight"].shape == (5, 11, 3, 3)
    # the first six filters are the trained ones; the new ones copy some of them
    assert torch.equal(growth.state["conv1.weight"][:6], state["conv1.weight"])
    copies = growth.state["conv1.weight"][6:]
    assert all(any(torch.equal(c, w) for w in state["conv1.weight"]) for c in copies)
    if noise:   # noise splits a copied unit's outgoing weights unequally (so copies learn apart)
        w = growth.state["conv2.weight"]
        assert not all(torch.allclose(w[:, i], w[:, j]) for i in range(6) for j in range(6, 11)
                       if torch.equal(copies[j - 6], state["conv1.weight"][i]))


def test_widening_a_conv_before_flatten_and_linear_keeps_the_outputs():
    graph = chain(("Conv2d", "conv", {"out_channels": 4}), ("ReLU", "relu", {}),
                  ("MaxPool2d", "pool", {"kernel": 2, "stride": 2}), ("Flatten", "flat", {}),
                  ("Linear", "fc", {"out_features": 3}))
    state = trained_state(graph)
    growth = widen(graph, state, "conv", 7)
    assert_same_function(graph, state, growth)
    assert growth.state["fc.weight"].shape == (3, 7 * 3 * 3)


def test_widening_a_linear_hidden_layer_keeps_the_outputs():
    graph = load_design("lenet5")
    state = trained_state(graph)
    growth = widen(graph, state, "f6", 130, noise=0.1)
    assert_same_function(graph, state, growth)
    assert growth.state["f7.weight"].shape == (10, 130)


def test_what_cannot_be_widened_keeping_the_function_is_refused_with_why():
    graph = load_design("lenet5")
    state = trained_state(graph)
    with pytest.raises(GrowError, match="would change the design's outputs"):
        widen(graph, state, "f7", 12)
    with pytest.raises(GrowError, match="widening needs more than that"):
        widen(graph, state, "c1", 6)
    with pytest.raises(GrowError, match="only a Conv2d, PointwiseConv2d or Linear"):
        widen(graph, state, "relu1", 8)
    with pytest.raises(GrowError, match="no node 'nope'"):
        widen(graph, state, "nope", 8)
    residual = chain(("BasicBlock", "block", {"out_channels": 8}),
                     ("GlobalAvgPool2d", "pool", {"flatten": True}),
                     ("Linear", "fc", {"out_features": 3}))
    with pytest.raises(GrowError, match="inside the block block"):
        widen(residual, trained_state(residual), "block.conv1", 12)


def test_widening_before_an_add_is_refused_and_changes_nothing():
    g = Graph("add")
    g.add_node("Input", "input", {"shape": [4, 5, 5]})
    g.add_node("Conv2d", "a", {"out_channels": 4})
    g.add_node("Add", "add")
    g.add_node("Flatten", "flat")
    g.add_node("Output", "output")
    g.connect("input", "out", "a", "in")
    g.connect("a", "out", "add", "in0")
    g.connect("input", "out", "add", "in1")
    g.connect("add", "out", "flat", "in")
    g.connect("flat", "out", "output", "in")
    before = fileformat.dumps(g)
    with pytest.raises(GrowError, match=r"give add \(Add\) more channels"):
        widen(g, trained_state(g), "a", 6)
    assert fileformat.dumps(g) == before


@pytest.mark.parametrize("node, added", [
    ("relu1", ["relu1_deep", "relu1_deep_bn", "relu1_deep_relu"]),    # after a ReLU: + ReLU
    ("c3", ["c3_deep", "c3_deep_bn"]),                                # may be negative: no ReLU
    ("s2", ["s2_deep", "s2_deep_bn", "s2_deep_relu"]),                # max pool of a ReLU
    ("relu6", ["relu6_deep", "relu6_deep_relu"]),                     # a vector: Linear + ReLU
])
def test_deepening_inserts_identity_layers_keeping_the_outputs(node, added):
    graph = load_design("lenet5")
    state = trained_state(graph)
    before = fileformat.dumps(graph)
    growth = deepen(graph, state, node)
    grown = assert_same_function(graph, state, growth)
    assert [n for n in grown.nodes if n not in fileformat.loads(before).nodes] == added
    growth.command.undo()                       # one undoable edit
    assert fileformat.dumps(graph) == before


# Residual blocks whose next block starts as the identity, and blocks that get identity
# layers after them instead (with the sentence saying why).
GROWS_A_BLOCK = [("BasicBlock", {"out_channels": 8}), ("Bottleneck", {"planes": 2}),
                 ("PreActBasicBlock", {"out_channels": 8}), ("StochasticDepthBlock", {}),
                 ("InvertedResidual", {"out_channels": 8}), ("ConvNeXtBlock", {}),
                 ("XceptionBlock", {"out_channels": 8}), ("ShuffleUnitV1", {"out_channels": 8,
                                                                            "groups": 2})]
INSERTS_LAYERS = [("DenseLayer", {}, "does not keep the shape"),
                  ("GhostBottleneck", {"out_channels": 8}, "ends in a Concat"),
                  ("SEBlock", {}, "has no residual connection"),
                  ("HighwayBlock", {}, "ends in a Multiply")]


def block_design(block, params):
    return chain(("Conv2d", "stem", {"out_channels": 8}), ("BatchNorm", "stem_bn", {}),
                 ("ReLU", "stem_relu", {}), (block, "layer1.0", params),
                 ("GlobalAvgPool2d", "pool", {"flatten": True}),
                 ("Linear", "fc", {"out_features": 3}))


@pytest.mark.parametrize("block, params", GROWS_A_BLOCK, ids=[b for b, _ in GROWS_A_BLOCK])
def test_deepening_a_residual_block_grows_its_stage_keeping_the_outputs(block, params):
    graph = block_design(block, params)
    state = trained_state(graph)
    growth = deepen(graph, state, "layer1.0")
    assert "residual branch starting at zero" in growth.text
    grown = assert_same_function(graph, state, growth)
    assert grown.nodes["layer1.1"].type == block
    assert grown.successors("layer1.0") == ("layer1.1",)


@pytest.mark.parametrize("block, params, why", INSERTS_LAYERS, ids=[b for b, *_ in INSERTS_LAYERS])
def test_a_block_that_cannot_repeat_as_identity_gets_identity_layers(block, params, why):
    graph = block_design(block, params)
    state = trained_state(graph)
    growth = deepen(graph, state, "layer1.0")
    assert why in growth.text and "initialised to the identity" in growth.text
    assert_same_function(graph, state, growth)


def test_grow_cli_writes_a_design_and_weights_computing_the_same(tmp_path, capsys):
    graph = load_design("lenet5")
    state = trained_state(graph)
    torch.save(state, tmp_path / "w.pt")
    out = tmp_path / "wide.json"
    assert main(["grow", "lenet5", "--weights", str(tmp_path / "w.pt"), "--widen", "c3=24",
                 "-o", str(out)]) == 0
    assert "widened c3 from 16 to 24" in capsys.readouterr().out
    grown = fileformat.load(out)
    x = torch.randn(3, 1, 32, 32)
    assert torch.allclose(outputs(graph, state, x),
                          outputs(grown, read_state_dict(tmp_path / "wide.pt"), x), atol=1e-5)
    assert main(["grow", str(out), "--weights", str(tmp_path / "wide.pt"), "--deepen", "relu3",
                 "-o", str(tmp_path / "deep.json")]) == 0
    assert "relu3_deep" in fileformat.load(tmp_path / "deep.json").nodes


def test_grow_cli_bad_input_is_a_sentence_and_exit_2(tmp_path, capsys):
    graph = load_design("lenet5")
    torch.save(trained_state(graph), tmp_path / "w.pt")
    assert main(["grow", "lenet5", "--weights", str(tmp_path / "w.pt"), "--widen", "f7=20",
                 "-o", str(tmp_path / "x.json")]) == 2
    assert "would change the design's outputs" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
    assert main(["grow", "resnet18", "--weights", str(tmp_path / "w.pt"), "--deepen", "layer1.0",
                 "-o", str(tmp_path / "x.json")]) == 2
    assert "designer: " in capsys.readouterr().err
    (tmp_path / "x.json").write_text("{}")
    assert main(["grow", "lenet5", "--weights", str(tmp_path / "w.pt"), "--deepen", "c1",
                 "-o", str(tmp_path / "x.json")]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
