"""Quantisation: the weight-only schemes put every weight on their grid with the promised number
of levels, and int8 static/dynamic models run, load back from TorchScript and stay accurate."""

import math

import pytest
import torch
from torch import nn

from designer.compress.measure import (CompressError, calibration_batches, load_model, model_bytes,
                                       top1_error, validation_data)
from designer.compress.quantize import (PT2E, fake_quantize, int8_static, parse_scheme,
                                        quantize_dynamic, quantize_rows, sqnr_db,
                                        to_torchscript)
from designer.core.compile import compile_graph
from designer.core.presets import load_design


@pytest.fixture
def rows():
    torch.manual_seed(0)
    return torch.randn(4, 300) * torch.tensor([[0.1], [1.0], [3.0], [0.01]])


@pytest.mark.parametrize("bits", [8, 6, 4, 2])
def test_linear_symmetric_grid(rows, bits):
    q = quantize_rows(rows, bits, "linear")
    qmax = 2 ** (bits - 1) - 1
    scale = rows.abs().amax(1, keepdim=True).double() / qmax
    steps = q / scale
    assert torch.allclose(steps, steps.round(), atol=1e-6)
    assert steps.abs().max() <= qmax + 1e-6
    assert ((q - rows.double()).abs() <= scale / 2 + 1e-9).all()


@pytest.mark.parametrize("bits", [8, 4, 2])
def test_affine_uses_all_levels_and_keeps_zero_exact(bits):
    x = torch.rand(2, 500) * 3 + 0.5            # all positive: affine spends no level on negatives
    x[:, 0] = 0.0
    q = quantize_rows(x, bits, "affine")
    assert (q[:, 0] == 0).all()
    assert max(len(torch.unique(r)) for r in q) <= 2 ** bits
    assert sqnr_db(x, q) > sqnr_db(x, quantize_rows(x, bits, "linear"))


@pytest.mark.parametrize("bits", [4, 2])
def test_kmeans_codebook_has_at_most_two_to_the_bits_values(rows, bits):
    q = quantize_rows(rows, bits, "kmeans")
    for row, original in zip(q, rows):
        assert len(torch.unique(row)) <= 2 ** bits
    # Lloyd's centroids beat the uniform grid of the same size on Gaussian weights.
    assert sqnr_db(rows, q) > sqnr_db(rows, quantize_rows(rows, bits, "affine"))


def test_log2_gives_signed_powers_of_two_or_zero(rows):
    q = quantize_rows(rows, 4, "log")
    nonzero = q[q != 0].abs()
    assert torch.allclose(torch.log2(nonzero), torch.log2(nonzero).round())
    for row in q:                         # sign bit + 3 bits: 7 exponents per row, and zero
        exponents = {int(v) for v in torch.log2(row[row != 0].abs()).round().tolist()}
        assert len(exponents) <= 2 ** 3 - 1
    assert (torch.sign(q[q != 0]) == torch.sign(rows.double()[q != 0])).all()


def test_fewer_bits_lose_more_and_per_channel_helps():
    model = compile_graph(load_design("lenet5")).eval()
    with torch.no_grad():
        model.c5.weight[:60] *= 20      # channels of very different ranges
    results = {}
    for bits in (8, 6, 4, 2):
        for per_channel in (False, True):
            copy = compile_graph(load_design("lenet5")).eval()
            copy.load_state_dict(model.state_dict())
            layers = fake_quantize(copy, bits, "linear", per_channel)
            results[bits, per_channel] = {r["layer"]: r for r in layers}
    for layer in ("c1", "c5", "f6"):
        sqnr = [results[b, True][layer]["sqnr_db"] for b in (8, 6, 4, 2)]
        assert sqnr == sorted(sqnr, reverse=True)
        assert abs((sqnr[0] - sqnr[2]) / 4 - 6.02) < 1.5      # ≈ 6 dB per bit
    assert results[4, True]["c5"]["sqnr_db"] > results[4, False]["c5"]["sqnr_db"] + 1
    row = results[4, False]["c5"]
    assert row["bytes_after"] == math.ceil(row["weights"] * 4 / 8) + 4


def test_bad_schemes_are_refused():
    for text in ("int4", "weight:x:linear", "weight:4:foo", "weight:4"):
        with pytest.raises(CompressError, match="unknown scheme"):
            parse_scheme(text)
    with pytest.raises(CompressError, match="bits"):
        fake_quantize(compile_graph(load_design("lenet5")), 1, "linear")


def holds_int8_weights(module):
    """PT2E keeps int8 weight tensors between dequantize steps; fx keeps quantised tensors."""
    return any(t.dtype == torch.int8 or t.is_quantized for t in module.state_dict().values()
               if isinstance(t, torch.Tensor))


def test_int8_static_and_dynamic_run_load_and_stay_accurate(trained_lenet5, tmp_path):
    graph, weights, _ = trained_lenet5
    model = load_model(graph, weights)
    loader = validation_data("digits", graph)
    before = top1_error(model, loader)
    static, path = int8_static(model, calibration_batches("digits", graph, 10))
    assert path == PT2E
    # The bar: at most 1 point of top-1 error, weights at least 3.5× smaller.
    assert top1_error(static, loader) <= before + 0.01
    assert model_bytes(static) * 3.5 <= model_bytes(model)
    assert holds_int8_weights(static)
    path = tmp_path / "q.pt"
    to_torchscript(static, torch.zeros(1, 1, 32, 32), path)
    assert path.stat().st_size * 2.5 < model_bytes(model)     # int8 in the file, not refolded
    loaded = torch.jit.load(str(path))
    images, _ = next(iter(loader))
    assert torch.allclose(loaded(images), static(images), atol=1e-5)

    dynamic = quantize_dynamic(model)
    assert top1_error(dynamic, loader) <= before + 0.01
    assert type(dynamic.f6).__module__.startswith("torch.ao.nn.quantized.dynamic")
    assert isinstance(model.f6, nn.Linear)           # the original is untouched


def shuffle_net():
    from designer.core.builder import GraphBuilder
    b = GraphBuilder("shuffle")
    x = b.add("Conv2d", "stem", b.input((3, 16, 16)), out_channels=8, kernel=3)
    left, right = b.add("Split", "split", x, sections=2)
    right = b.add("Conv2d", "conv", right, out_channels=4, kernel=3)
    x = b.add("ChannelShuffle", "shuffle", b.add("Concat", "cat", left, right), groups=2)
    x = b.add("Flatten", "flatten", b.add("GlobalAvgPool2d", "pool", x))
    b.output(b.add("Linear", "fc", x, out_features=5))
    return b.finish()


@pytest.mark.parametrize("family", ["se_resnet", "residual", "shuffle"])
def test_int8_static_through_gates_shuffles_and_splits(family):
    """Gates, shuffles and splits (whose forward branches on shapes, which fx could not trace)
    are captured by torch.export and quantised through PT2E; the result runs and tracks fp32."""
    from tests.compress.test_prune import FAMILIES, trained_like
    graph = shuffle_net() if family == "shuffle" else FAMILIES[family]()
    model = trained_like(graph)
    x = torch.randn(8, 3, 16, 16)
    int8, path = int8_static(model, [x])
    assert path == PT2E                     # torch.export captures them: no fx fallback
    with torch.no_grad():
        reference, quantised = model(x), int8(x)
    assert (quantised - reference).norm() / reference.norm() < 0.1
    assert holds_int8_weights(int8)
