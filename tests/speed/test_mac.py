"""Memory access cost: ShuffleNet V2's 1×1 formula, hand counts for other layers, the peaks."""

import json

import pytest

from designer.core.builder import GraphBuilder
from designer.core.infer import analyze
from designer.speed import mac
from designer.speed.hints import one_by_one_mac


def _traffic(build, shape, batch=1, dtype="float32"):
    b = GraphBuilder("t")
    x = b.input(shape)
    b.output(build(b, x))
    graph = b.finish()
    results = analyze(graph)
    assert not [r.error for r in results.values() if r.error]
    return mac.graph_traffic(graph, results, batch, dtype)


@pytest.mark.parametrize("c1,c2,h,w", [(16, 192, 14, 14), (64, 64, 8, 8), (96, 24, 7, 9)])
def test_one_by_one_conv_is_shuffle_v2_formula(c1, c2, h, w):
    t = _traffic(lambda b, x: b.add("Conv2d", "pw", x, out_channels=c2, kernel=1, padding=0,
                                   bias=False), (c1, h, w))["pw"]
    elements = h * w * (c1 + c2) + c1 * c2
    assert t.bytes_read + t.bytes_written == 4 * elements
    assert one_by_one_mac(h * w, c1, c2) == elements
    assert t.macs == h * w * c1 * c2
    assert t.intensity == pytest.approx(h * w * c1 * c2 / (4 * elements))


def test_pointwise_layer_and_half_precision_batch():
    t = _traffic(lambda b, x: b.add("PointwiseConv2d", "pw", x, out_channels=32), (8, 5, 5),
                 batch=3, dtype="float16")["pw"]
    # activations scale with the batch, the weights are read once
    assert t.bytes_read == 2 * (3 * 8 * 25 + 8 * 32)
    assert t.bytes_written == 2 * 3 * 32 * 25


def test_hand_counts_of_other_layers():
    def net(b, x):
        x = b.add("Conv2d", "conv", x, out_channels=8, kernel=3, padding=1)      # bias on
        x = b.add("BatchNorm", "bn", x)
        x = b.add("ReLU", "relu", x)
        x = b.add("MaxPool2d", "pool", x, kernel=2, stride=2)
        x = b.add("Flatten", "flat", x)
        return b.add("Linear", "fc", x, out_features=10)
    t = _traffic(net, (4, 6, 6))
    assert (t["conv"].bytes_read, t["conv"].bytes_written) == (4 * (4 * 36 + 8 * 4 * 9 + 8), 4 * 8 * 36)
    assert (t["bn"].bytes_read, t["bn"].bytes_written) == (4 * (8 * 36 + 2 * 8), 4 * 8 * 36)
    assert (t["relu"].bytes_read, t["relu"].bytes_written) == (4 * 288, 4 * 288)
    assert (t["pool"].bytes_read, t["pool"].bytes_written) == (4 * 288, 4 * 72)
    assert t["flat"].bytes == 0                     # a view moves nothing
    assert (t["fc"].bytes_read, t["fc"].bytes_written) == (4 * (72 + 72 * 10 + 10), 4 * 10)
    assert t["conv"].macs == 8 * 36 * 4 * 9 and t["fc"].macs == 720


def test_block_is_the_sum_of_its_layers():
    t = _traffic(lambda b, x: b.add("BasicBlock", "block", x, out_channels=16), (16, 8, 8))["block"]
    n = 16 * 64                       # one feature map
    conv = (n + 16 * 16 * 9, n)       # read input + weights, write output
    bn = (n + 32, n)
    relu = (n, n)
    add = (2 * n, n)
    parts = [conv, bn, relu, conv, bn, add, relu]
    assert t.bytes_read == 4 * sum(r for r, _ in parts)
    assert t.bytes_written == 4 * sum(w for _, w in parts)


def test_peak_is_measured_once_and_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(mac, "_peaks", {})
    calls = []
    real = mac._measure
    monkeypatch.setattr(mac, "_measure", lambda device: calls.append(device) or real(device))
    peak = mac.device_peak("cpu")
    assert peak.macs_per_s > 1e8 and peak.bytes_per_s > 1e8
    stored = json.loads((tmp_path / "cnn-designer" / "peaks.json").read_text())
    assert list(stored.values())[0]["macs_per_s"] == peak.macs_per_s
    monkeypatch.setattr(mac, "_peaks", {})          # a new process reads the file
    assert mac.device_peak("cpu") == peak
    assert calls == ["cpu"]
    # the ridge splits memory- from compute-bound layers
    low = mac.Traffic(macs=1, bytes_read=1000, bytes_written=1000)
    high = mac.Traffic(macs=int(peak.ridge * 10_000), bytes_read=1000, bytes_written=1000)
    assert peak.bound(low) == "memory" and peak.bound(high) == "compute"
