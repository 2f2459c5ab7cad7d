"""Deep Compression's estimate: Huffman code lengths are optimal, sparse indices decode back to
the kept positions, and the bytes shrink stage by stage."""

import heapq

import torch

from designer.compress.deep_compression import (compress_layer, deep_compression, huffman_lengths,
                                                sparse_entries)
from designer.core.compile import compile_graph
from designer.core.presets import load_design


def test_huffman_lengths_are_a_complete_prefix_code_of_minimal_cost():
    frequencies = {"a": 45, "b": 13, "c": 12, "d": 16, "e": 9, "f": 5}   # CLRS's example
    lengths = huffman_lengths(frequencies)
    assert sum(2.0 ** -length for length in lengths.values()) == 1.0     # Kraft equality
    assert sum(frequencies[s] * lengths[s] for s in frequencies) == 224


def test_relative_indices_with_fillers_decode_to_the_kept_positions():
    mask = torch.zeros(100, dtype=torch.bool)
    kept = [0, 3, 40, 41, 99]
    mask[kept] = True
    gaps, fillers = sparse_entries(mask, index_bits=3)        # gaps of at most 7
    assert max(gaps) <= 7
    positions, position = [], -1
    for gap in gaps:
        position += gap
        positions.append(position)
    # Fillers land on positions that hold a zero; the real entries are the kept ones.
    assert [p for p in positions if mask[p]] == kept
    assert len(gaps) - len(kept) == fillers > 0


def test_stages_shrink_and_the_pruned_quantised_weights_have_the_promised_levels():
    torch.manual_seed(0)
    weight = torch.randn(64, 32)
    stages, pruned, quantised, kept = compress_layer(weight, amount=0.9, bits=4, index_bits=5)
    assert kept == round(weight.numel() * 0.1)
    assert int((pruned != 0).sum()) == kept
    assert len(torch.unique(quantised[quantised != 0])) <= 16
    assert stages["dense"] > stages["pruned"] > stages["quantized"] > stages["huffman"]
    model = compile_graph(load_design("lenet5")).eval()
    rows, totals, _, _ = deep_compression(model)
    assert totals["dense"] == sum(t.numel() * 4 for t in model.state_dict().values())
    assert totals["dense"] / totals["huffman"] > 8
