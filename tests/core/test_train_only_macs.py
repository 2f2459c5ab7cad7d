"""Multiply-adds count what eval mode runs (issue 27): auxiliary heads, which only training runs,
are left out of `total_macs` and reported as `train_only_macs`, so the totals agree with
FlopCounterMode on the model in eval mode (and with torchvision's own GoogLeNet, which skips its
aux heads in eval mode)."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from designer.core.compile import compile_graph
from designer.core.presets import load_design
from designer.core.summary import format_table, summarize

SHAPE = (3, 96, 96)
# Inception v3's aux head needs its 17×17 grid: the smallest input that gives it is 299.
SHAPES = {"googlenet_torchvision": SHAPE, "inception_v3": (3, 299, 299)}


def _flops(model, shape=SHAPE):
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros((1,) + shape))
    return counter.get_total_flops()


@pytest.mark.parametrize("name", ["googlenet_torchvision", "inception_v3"])
def test_total_macs_are_what_eval_mode_runs(name):
    shape = SHAPES[name]
    graph = load_design(name)
    graph.set_params(graph.nodes_of_type("Input")[0].id, shape=shape)
    summary = summarize(graph)
    assert summary["train_only_macs"] > 0
    eval_model = compile_graph(graph, include_auxiliary=False).eval()
    every_head = compile_graph(graph).eval()
    assert 2 * summary["total_macs"] == _flops(eval_model, shape)
    assert 2 * (summary["total_macs"] + summary["train_only_macs"]) == _flops(every_head, shape)
    assert "Training only:" in format_table(summary)


def test_torchvision_googlenet_in_eval_mode_agrees():
    import torchvision
    graph = load_design("googlenet_torchvision")
    graph.set_params(graph.nodes_of_type("Input")[0].id, shape=SHAPE)
    model = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=False).eval()
    assert 2 * summarize(graph)["total_macs"] == _flops(model)


def test_a_design_without_auxiliary_heads_has_no_training_only_macs():
    summary = summarize(load_design("resnet18"))
    assert summary["train_only_macs"] == 0
    assert "Training only:" not in format_table(summary)
