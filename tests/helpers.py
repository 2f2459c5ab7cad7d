"""Helpers shared by the tests: a tiny trainable network, one-block designs, and the checks that
compare a design with a reference implementation (weights copied by name, outputs compared)."""

import json
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from designer.core.builder import GraphBuilder
from designer.core.compile import compile_graph
from designer.core.infer import Analyzer


def param_count(module):
    return sum(p.numel() for p in module.parameters())


def shape_of(analyzer, node_id, port="out"):
    return analyzer.results[node_id].outputs[port].shape


@contextmanager
def torch_threads(count):
    """torch at `count` intra-op threads inside the block, its count before restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def single_thread():
    """Small models on a shared two-core machine run fastest (by far) on one torch thread."""
    return torch_threads(1)


def tiny_digits_net(aux=False):
    """The smallest network that trains on the bundled 8×8 digits (and an auxiliary head)."""
    b = GraphBuilder("tiny")
    x = b.input((1, 8, 8))
    x = b.add("Conv2d", "conv", x, out_channels=4, kernel=3, padding=1)
    x = b.add("ReLU", "relu", x)
    f = b.add("Flatten", "flatten", x)
    y = b.add("Linear", "fc", f, out_features=10)
    b.output(y)
    if aux:
        a = b.add("Linear", "aux_fc", f, out_features=10)
        b.output(a, "aux", role="auxiliary", loss_weight=0.3)
    return b.finish()


def one_block_design(type_name, shape, node_id="block", **params):
    """Input -> one layer or block (at the path `node_id`) -> Output."""
    b = GraphBuilder(type_name)
    x = b.input(shape)
    b.output(b.add(type_name, node_id, x, **params))
    return b.finish(layout=False)


class Holder(nn.Module):
    """Puts a reference block at the path `block`, as `one_block_design` has it."""

    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, x):
        return self.block(x)


def randomise_batch_norms(model):
    """Non-trivial BN statistics and affine terms (references initialise every BN alike), so two
    same-sized norms swapped by name would show in the outputs."""
    generator = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=generator) * 0.2 - 0.1)
            m.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=generator) * 0.2 - 0.1)


def compiled_with_reference_weights(graph, state_dict):
    """The compiled design in eval mode, with a reference's state_dict loaded strictly."""
    compiled = compile_graph(graph)
    compiled.load_state_dict(state_dict, strict=True)
    return compiled.eval()


def _outputs(compiled, reference, x, forward=None):
    """(compiled output, reference output) on `x` with the reference in eval mode (`forward`
    replaces the reference's own)."""
    reference.eval()
    with torch.no_grad():
        expected = (forward or reference)(x)
        got = compiled(x)
    assert got.shape == expected.shape
    return got, expected


def max_output_difference(compiled, reference, shape, seed=0):
    torch.manual_seed(seed)
    got, expected = _outputs(compiled, reference, torch.randn(shape))
    return (got - expected).abs().max().item()


def relative_output_difference(compiled, reference, shape, seed=0):
    """Max abs difference over the largest output magnitude: for references whose default
    initialisation (Kaiming uniform, no zero-init of residual norms) grows activations to ~1e5,
    where float32 rounding alone exceeds 1e-4 absolute."""
    torch.manual_seed(seed)
    got, expected = _outputs(compiled, reference, torch.randn(shape))
    return ((got - expected).abs().max() / expected.abs().max().clamp(min=1.0)).item()


def assert_same_network(graph, reference, size, forward=None, atol=1e-4):
    """A reference's weights load strictly into the compiled design, and in eval mode both give
    the same outputs on a random 2×3×size×size batch (`forward` replaces the reference's own)."""
    compiled = compiled_with_reference_weights(graph, reference.state_dict())
    got, expected = _outputs(compiled, reference, torch.randn(2, 3, size, size), forward)
    assert (got - expected).abs().max().item() <= atol


def assert_same_outputs(graph, reference, shape, atol=1e-5):
    """`reference` (its modules at the design's node paths), with non-trivial BatchNorms: its
    weights load strictly into the compiled design, and both give the same eval outputs on a
    random batch of two `shape` samples."""
    randomise_batch_norms(reference)
    compiled = compiled_with_reference_weights(graph, reference.state_dict())
    got, expected = _outputs(compiled, reference, torch.randn((2,) + tuple(shape)))
    assert (got - expected).abs().max().item() <= atol


def assert_block_matches(graph, reference_block, shape, atol=1e-5):
    """A one-block design against a reference block: weights load strictly, same outputs in eval
    mode, same parameter count."""
    torch.manual_seed(0)
    reference = Holder(reference_block)
    assert_same_outputs(graph, reference, shape, atol)
    assert Analyzer(graph).totals.params == param_count(reference)


METRICS_HEADER = ("epoch,train_loss,train_top1_error,train_top5_error,val_loss,val_top1_error,"
                  "val_top5_error,lr,images_per_s,epoch_time_s,peak_memory_mb\n")


def fake_run(root, folder, graph, errors=(0.5, 0.3, 0.4), epochs=5, status="stopped", **info):
    """A run folder as the Trainer leaves it, written by hand: run.json, settings.json,
    design.json, metrics.csv (one row per error, 10 s an epoch) and a best.pt of 1000 bytes."""
    from designer.core import fileformat
    from designer.train import runs
    path = Path(root) / folder
    path.mkdir(parents=True)
    (path / "metrics.csv").write_text(METRICS_HEADER + "".join(
        f"{i},1.0,0.5,0.1,1.0,{e},0.1,0.01,100,10.0,\n" for i, e in enumerate(errors, 1)))
    (path / runs.SETTINGS_FILE).write_text(json.dumps({"epochs": epochs, "dataset": "digits"}))
    fileformat.save(graph, path / runs.DESIGN_FILE)
    (path / "best.pt").write_bytes(b"x" * 1000)
    fields = {"name": f"{graph.name} · digits · {folder}", "design": graph.name,
              "design_hash": fileformat.design_hash(graph), "dataset": "digits",
              "status": status, "message": "", "started": "2024-03-05T14:02:11"} | info
    (path / runs.INFO_FILE).write_text(json.dumps({k: v for k, v in fields.items()
                                                   if v is not None}))
    return path
