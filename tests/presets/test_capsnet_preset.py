"""capsnet_mnist (Sabour, Frosst & Hinton 2017): the paper's parameter count, capsule shapes,
routing by agreement, the margin and reconstruction losses, and training on the built-in digits."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from designer.core.compile import compile_graph
from designer.core.graph import validate_params
from designer.core.infer import Analyzer
from designer.core.modules import CapsuleRouting, Squashing
from designer.core.presets import load_design
from designer.core.registry import get_spec
from designer.presetlib.capsnet import capsnet_graph
from designer.train.config import TrainConfig
from designer.train.losses import MARGIN, RECONSTRUCTION, margin_loss, output_losses
from designer.train.loop import output_shapes, train


def test_capsnet_matches_the_paper():
    graph = load_design("capsnet_mnist")
    analyzer = Analyzer(graph)
    assert analyzer.errors() == []
    assert analyzer.totals.params == 8_215_568
    decoder = sum(analyzer.results[n].params for n in graph.nodes if n.startswith("decoder."))
    assert analyzer.totals.params - decoder == 6_804_224
    shapes = {nid: r.output_shape for nid, r in analyzer.results.items()}
    assert shapes["conv1"] == (256, 20, 20)
    assert shapes["primary_caps"] == (1152, 8)      # 6×6×32 capsules of 8 dimensions
    assert shapes["digit_caps"] == (10, 16)
    assert shapes["lengths"] == (10,) and shapes["decoder.sigmoid"] == (784,)
    assert graph.nodes["digit_caps"].params["iterations"] == 3
    assert output_losses(graph, (1, 28, 28), output_shapes(graph)) == [MARGIN, RECONSTRUCTION]


@pytest.mark.parametrize("type_name, params, shape", [
    ("PrimaryCapsules", {"capsules": 4, "capsule_dim": 3, "kernel": 3, "stride": 2}, (5, 9, 9)),
    ("CapsuleRouting", {"capsules": 3, "capsule_dim": 5, "iterations": 2}, (7, 4)),
    ("CapsuleLength", {}, (6, 4)),
    ("CapsuleMask", {}, (6, 4)),
])
def test_capsule_rules_match_torch(type_name, params, shape):
    spec = get_spec(type_name)
    values = validate_params(spec, params)
    info = spec.rule(values, [shape])
    module = spec.build(values, [shape])
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = module(torch.randn((2,) + shape))
    assert tuple(out.shape[1:]) == info.outputs[0]
    assert sum(p.numel() for p in module.parameters()) == info.params
    assert counter.get_total_flops() == 2 * 2 * info.macs


def test_routing_by_agreement():
    squash = Squashing().squash
    torch.manual_seed(0)
    x = squash(torch.randn(4, 12, 6))
    one = CapsuleRouting(12, 6, 5, 8, iterations=1)
    u_hat = torch.matmul(one.weight, x[:, :, None, :, None]).squeeze(-1)
    # One iteration couples each input capsule equally to the 5 outputs.
    assert torch.allclose(one(x), squash(u_hat.sum(1) / 5), atol=1e-6)
    three = CapsuleRouting(12, 6, 5, 8, iterations=3)
    three.load_state_dict(one.state_dict())
    v = three(x)
    assert (v.norm(dim=-1) < 1).all()
    # Routing moves each output towards the predictions that agree with it.
    agreement = lambda out: (u_hat * out.unsqueeze(1)).sum(-1).mean()
    assert agreement(v) > agreement(one(x))


def test_margin_loss():
    lengths = torch.tensor([[0.95, 0.05, 0.5]])
    # Only the wrong capsule that is too long costs: 0.5 · (0.5 − 0.1)².
    assert margin_loss(lengths, torch.tensor([0])).item() == pytest.approx(0.5 * 0.4 ** 2)
    assert margin_loss(lengths, torch.tensor([2])).item() == pytest.approx(
        (0.9 - 0.5) ** 2 + 0.5 * (0.95 - 0.1) ** 2)


def test_small_capsnet_trains_on_digits(tmp_path):
    # The paper's layers at a width that trains in seconds on a CPU.
    graph = capsnet_graph(conv_channels=16, capsules=4, capsule_dim=4, digit_dim=8,
                          decoder=(32, 64))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        # Adam at 1e-3, as in the paper.
        epochs, finished = train(graph, TrainConfig(epochs=3, batch_size=32, optimizer="adam",
                                                    lr=1e-3, weight_decay=0.0,
                                                    out=str(tmp_path), seed=0))
    finally:
        torch.set_num_threads(threads)
    assert finished.status == "completed", finished
    assert epochs[-1].train_loss < epochs[0].train_loss
    assert epochs[-1].val_top1_error < 0.3, epochs[-1]
    model = compile_graph(graph).eval()
    scores, reconstruction = model(torch.rand(2, 1, 28, 28))
    assert scores.shape == (2, 10) and reconstruction.shape == (2, 784)
