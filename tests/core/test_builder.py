"""GraphBuilder's conv → norm → activation helper: the nodes it adds, their names and defaults."""

import pytest

from designer.core.builder import GraphBuilder
from designer.core.infer import Analyzer


def test_conv_norm_act_adds_three_named_nodes_in_a_chain():
    b = GraphBuilder("unit")
    x = b.input((8, 10, 10))
    y = b.conv_norm_act(x, ("conv1", "bn1", "relu1"), out_channels=16, kernel=3, stride=2)
    b.output(y)
    graph = b.finish(layout=False)
    conv, bn, relu = (graph.nodes[n] for n in ("conv1", "bn1", "relu1"))
    assert (conv.type, bn.type, relu.type) == ("Conv2d", "BatchNorm", "ReLU")
    # No bias before the norm; a 3×3 padded by 1 (timm's ConvNormAct defaults).
    assert conv.params["bias"] is False and conv.params["padding"] == (1, 1)
    assert [(e.src, e.dst) for e in graph.edges] == [
        ("input", "conv1"), ("conv1", "bn1"), ("bn1", "relu1"), ("relu1", "output")]
    assert Analyzer(graph).results["relu1"].output_shape == (16, 5, 5)


def test_conv_norm_act_without_activation_or_with_another_conv():
    b = GraphBuilder("unit")
    x = b.input((8, 10, 10))
    y = b.conv_norm_act(x, ("dw", "bn"), conv="DepthwiseConv2d", act=None, kernel=5,
                        padding=0)
    graph = b.finish(layout=False)
    assert set(graph.nodes) == {"input", "dw", "bn"} and y.node == "bn"
    assert graph.nodes["dw"].params["padding"] == (0, 0)   # what the caller says wins


def test_an_activation_needs_its_own_node_id():
    b = GraphBuilder("unit")
    with pytest.raises(ValueError, match="three node ids"):
        b.conv_norm_act(b.input((8, 4, 4)), ("conv", "bn"), out_channels=8, kernel=1)
