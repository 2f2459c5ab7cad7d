"""Deep Compression's size estimate (Han et al. 2016): prune → k-means quantise → Huffman code.

Per convolution and fully connected weight tensor, as in the paper:
  dense      32-bit floats;
  pruned     the smallest-magnitude weights removed; the rest stored sparse as (32-bit value,
             relative index of `index_bits` bits), with a filler zero wherever a gap between
             kept weights exceeds what the index can say;
  quantised  every kept value replaced by its k-means centroid (2^bits shared weights per
             layer): each entry is a `bits`-bit codebook index plus the relative index, and the
             codebook is stored in fp32;
  Huffman    the codebook indices and the relative indices Huffman-coded, bytes = Σ frequency ×
             code length, plus the code tables (one byte per symbol's length).
Biases and BatchNorm tensors stay fp32 at every stage. The paper fine-tunes after pruning and
after quantisation; this estimate does not (it reports the accuracy without fine-tuning).
"""

from collections import Counter
import heapq
import math

import torch
from torch import nn

from .quantize import _kmeans_rows
from .settings import DEEP_COMPRESSION_DEFAULTS as DEFAULTS


def stage_settings(values):
    """`REPORT_SETTINGS` values (designer.compress.settings) as per-kind settings."""
    return {layers: {"amount": values[f"{kind}_amount"], "bits": values[f"{kind}_bits"],
                     "index_bits": DEFAULTS[layers]["index_bits"]}
            for kind, layers in (("conv", "conv"), ("fc", "linear"))}


def huffman_lengths(frequencies):
    """Code length per symbol of a Huffman code for {symbol: count}."""
    if len(frequencies) == 1:
        return {next(iter(frequencies)): 1}
    heap = [(count, index, [symbol]) for index, (symbol, count) in enumerate(frequencies.items())]
    heapq.heapify(heap)
    lengths = Counter()
    order = len(heap)
    while len(heap) > 1:
        a = heapq.heappop(heap)
        b = heapq.heappop(heap)
        for symbol in a[2] + b[2]:
            lengths[symbol] += 1
        heapq.heappush(heap, (a[0] + b[0], order, a[2] + b[2]))
        order += 1
    return dict(lengths)


def huffman_bytes(symbols):
    frequencies = Counter(symbols)
    if not frequencies:
        return 0
    lengths = huffman_lengths(frequencies)
    bits = sum(count * lengths[s] for s, count in frequencies.items())
    return math.ceil(bits / 8) + len(frequencies)       # payload + one length byte per symbol


def sparse_entries(flat_mask, index_bits):
    """Relative gaps between kept positions, with fillers where a gap exceeds 2^index_bits − 1:
    (gaps list, number of filler entries)."""
    positions = flat_mask.nonzero().flatten().tolist()
    limit = 2 ** index_bits - 1
    gaps, fillers, last = [], 0, -1
    for position in positions:
        gap = position - last
        while gap > limit:
            gaps.append(limit)
            fillers += 1
            gap -= limit
        gaps.append(gap)
        last = position
    return gaps, fillers


def compress_layer(weight, amount, bits, index_bits):
    """(bytes per stage dict, pruned weight, quantised weight) for one weight tensor."""
    flat = weight.detach().flatten().double()
    keep = max(1, int(round(flat.numel() * (1 - amount))))
    threshold = flat.abs().kthvalue(flat.numel() - keep + 1).values if keep < flat.numel() else -1
    mask = flat.abs() >= threshold if keep < flat.numel() else torch.ones_like(flat, dtype=torch.bool)
    pruned = torch.where(mask, flat, torch.zeros_like(flat))
    gaps, fillers = sparse_entries(mask, index_bits)
    entries = len(gaps)
    kept_values = flat[mask]
    levels = min(2 ** bits, kept_values.numel())
    quantised_values = _kmeans_rows(kept_values[None], levels)[0]
    quantised = torch.zeros_like(flat)
    quantised[mask] = quantised_values
    codebook = torch.unique(quantised_values)
    indices = torch.bucketize(quantised_values, codebook).tolist() + [len(codebook)] * fillers
    stages = {
        "dense": flat.numel() * 4,
        "pruned": math.ceil(entries * (32 + index_bits) / 8),
        "quantized": math.ceil(entries * (bits + index_bits) / 8) + len(codebook) * 4,
        "huffman": huffman_bytes(indices) + huffman_bytes(gaps) + len(codebook) * 4,
    }
    shape = weight.shape
    return stages, pruned.reshape(shape).float(), quantised.reshape(shape).float(), int(mask.sum())


def deep_compression(model, settings=None):
    """Run the three stages on `model`'s weights; returns (rows per layer, stage totals in bytes,
    pruned model state, quantised model state). The model is left untouched."""
    import copy
    settings = {**DEFAULTS, **(settings or {})}
    pruned_model, quantised_model = copy.deepcopy(model), copy.deepcopy(model)
    rows, totals = [], Counter()
    compressed = set()
    for name, module in model.named_modules():
        if not isinstance(module, (nn.Conv2d, nn.Linear)):
            continue
        kind = settings["linear" if isinstance(module, nn.Linear) else "conv"]
        stages, pruned, quantised, kept = compress_layer(module.weight, kind["amount"],
                                                         kind["bits"], kind["index_bits"])
        pruned_model.get_submodule(name).weight.data.copy_(pruned)
        quantised_model.get_submodule(name).weight.data.copy_(quantised)
        rows.append({"layer": name, "weights": module.weight.numel(), "kept": kept,
                     "bits": kind["bits"], **{f"bytes_{k}": v for k, v in stages.items()}})
        totals.update(stages)
        compressed.add(f"{name}.weight")
    other = sum(t.numel() * t.element_size() for key, t in model.state_dict().items()
                if key not in compressed)
    totals = {stage: value + other for stage, value in totals.items()}
    return rows, totals, pruned_model, quantised_model
