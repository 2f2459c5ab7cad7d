"""The Selective Kernel block against timm's SelectiveKernel and the split-attention block
against timm's SplitAttn (ResNeSt): weights copied by name, outputs and parameter counts
compared, with the params read from the timm module by the block's own import converter."""

import pytest
from timm.layers import SelectiveKernel, SplitAttn
from torch import nn

from designer.core.blocks.branch_attention import (_import_timm_selective_kernel,
                                                    _import_timm_split_attn)
from designer.core.infer import Analyzer
from designer.core.registry import NotImportable
from ...helpers import assert_block_matches, one_block_design


@pytest.mark.parametrize("kwargs, channels", [
    (dict(out_channels=16, rd_channels=8), 16),                               # timm's SKNet split
    (dict(out_channels=8, stride=2, rd_channels=4, split_input=False), 16),   # the paper's
    (dict(out_channels=16, kernel_size=[3, 5, 7], groups=2, rd_channels=8), 12),  # three paths
])
def test_selective_kernel_is_timms(kwargs, channels):
    shape = (channels, 8, 8)
    reference = SelectiveKernel(channels, **kwargs)
    params = _import_timm_selective_kernel(reference, shape)
    assert params["paths"] == len(reference.paths)
    assert_block_matches(one_block_design("SelectiveKernel", shape, **params), reference, shape)


@pytest.mark.parametrize("kwargs", [
    dict(radix=2),                          # resnest14d's
    dict(radix=4, groups=2, stride=2),      # cardinal groups: the softmax per group
    dict(radix=1, dilation=2, padding=2),   # radix 1: a sigmoid gate
])
def test_split_attention_is_timms(kwargs):
    shape = (16, 8, 8)
    reference = SplitAttn(16, 16, norm_layer=nn.BatchNorm2d, **kwargs)
    params = _import_timm_split_attn(reference, shape)
    assert params["radix"] == kwargs["radix"]
    assert_block_matches(one_block_design("SplitAttention", shape, **params), reference, shape)


def test_the_converters_refuse_what_the_blocks_cannot_hold():
    with pytest.raises(NotImportable, match="dilation 2"):
        _import_timm_selective_kernel(SelectiveKernel(8, 8, keep_3x3=False), (8, 8, 8))
    with pytest.raises(NotImportable, match="without batch norm"):
        _import_timm_split_attn(SplitAttn(8, 8), (8, 8, 8))


def test_split_input_needs_channels_the_paths_divide():
    graph = one_block_design("SelectiveKernel", (9, 8, 8), paths=2, split_input=True)
    assert "do not split into 2 equal paths" in " ".join(e for _, e in Analyzer(graph).errors())
