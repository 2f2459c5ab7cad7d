"""Attention across branches: the Selective Kernel unit (Li et al. 2019) and ResNeSt's
split-attention convolution (Zhang et al. 2020). Both run several branches of the same width,
sum them, squeeze the sum to one vector, and weight each branch channel by channel with a
softmax across the branches before adding them up.

Their insides are catalogue layers: the branches' softmax is a Reshape that puts the branches on
the first dimension after the batch, the catalogue's Softmax over it and a Reshape back, so the
per-branch gates are a channel Split of one tensor. Inner names follow timm's modules
(`SelectiveKernel`: `paths.0.conv`, `attn.fc_select`; `SplitAttn`: `conv`, `bn0`, `fc1`, `fc2`)
so their weights load by name.
"""

from ..builder import GraphBuilder
from ..errors import ShapeError
from ..lazy import lazy_module
from ..paramlib import out_channels
from ..params import Param
from ..registry import BlockSpec, NotImportable, class_name, register
from ..shapes import require_image

nn = lazy_module("torch.nn")

_BATCH_NORM = "torch.nn.modules.batchnorm.BatchNorm2d"
_IDENTITY = "torch.nn.modules.linear.Identity"
STRIDE = Param("stride", "int", 1, "Stride (2 halves height and width)", min=1, max=2)
GROUPS = Param("groups", "int", 1, "Groups of each branch's convolution (cardinality)",
               min=1, max=1024)
ATTN_CHANNELS = Param("attn_channels", "int", 32, "Width of the squeezed vector between the "
                      "two attention layers", min=1, max=8192)


def _branch_softmax(b, prefix, gates, branches, channels, groups=1):
    """Softmax across `branches` of a (branches·channels)×1×1 tensor of gate logits laid out
    branch-major (groups-major first when `groups` > 1, as ResNeSt lays out its cardinal
    groups), returned as one C×1×1 gate per branch."""
    if groups > 1:
        gates = b.add("Reshape", f"{prefix}.groups", gates,
                      shape=(groups, branches, channels // groups))
        gates = b.add("Permute", f"{prefix}.branches_first", gates, dims=(1, 0, 2))
    else:
        gates = b.add("Reshape", f"{prefix}.branches", gates, shape=(branches, channels))
    gates = b.add("Softmax", f"{prefix}.softmax", gates)
    gates = b.add("Reshape", f"{prefix}.flat", gates, shape=(branches * channels, 1, 1))
    return b.add("Split", f"{prefix}.per_branch", gates, sections=branches)


def _weighted_sum(b, branches, gates):
    scaled = [b.add("Multiply", f"scale{i}", x, g) for i, (x, g) in enumerate(zip(branches,
                                                                                  gates))]
    return b.add("Add", "sum", *scaled, num_inputs=len(scaled))


# ---- Selective Kernel ---------------------------------------------------------------------------

def _expand_selective_kernel(p, shapes):
    c = require_image(shapes[0])[0]
    b = GraphBuilder("SelectiveKernel")
    x = b.block_input("in")
    inputs = [x] * p.paths
    if p.split_input:
        if c % p.paths:
            raise ShapeError(f"{c} input channels do not split into {p.paths} equal paths")
        inputs = b.add("Split", "split", x, sections=p.paths)
    paths = [b.conv_norm_act(inputs[i], (f"paths.{i}.conv", f"paths.{i}.bn", f"paths.{i}.act"),
                             out_channels=p.out_channels, kernel=3, stride=p.stride,
                             padding=i + 1, dilation=i + 1, groups=p.groups)
             for i in range(p.paths)]
    u = b.add("Add", "fuse", *paths, num_inputs=p.paths)
    s = b.add("GlobalAvgPool2d", "attn.pool", u)
    s = b.conv_norm_act(s, ("attn.fc_reduce", "attn.bn", "attn.act"),
                        out_channels=p.attn_channels, kernel=1)
    s = b.add("Conv2d", "attn.fc_select", s, out_channels=p.out_channels * p.paths, kernel=1,
              padding=0, bias=False)
    gates = _branch_softmax(b, "attn", s, p.paths, p.out_channels)
    b.output(_weighted_sum(b, paths, gates), "out", name="out")
    return b.finish()


def _relu_batch_norm(bn, what):
    """A timm BatchNormAct2d with ReLU (or a plain BatchNorm2d) at the default eps."""
    act = getattr(bn, "act", None)
    drop = getattr(bn, "drop", None)
    if act is not None and type(act) is not nn.ReLU or \
            drop is not None and class_name(drop) != _IDENTITY or bn.eps != 1e-5:
        raise NotImportable(f"{what} whose norm is not batch norm (eps 1e-5) with ReLU")


def _import_timm_selective_kernel(m, shape):
    paths = list(m.paths)
    for i, path in enumerate(paths):
        conv = path.conv
        if class_name(conv) != "torch.nn.modules.conv.Conv2d" or conv.kernel_size != (3, 3) or \
                conv.dilation != (i + 1, i + 1) or conv.padding != (i + 1, i + 1) or \
                conv.bias is not None:
            raise NotImportable("a selective kernel path that is not a 3×3 convolution of "
                                f"dilation {i + 1}")
        if getattr(path, "aa", None) is not None and class_name(path.aa) != _IDENTITY:
            raise NotImportable("a selective kernel path with anti-aliasing")
        _relu_batch_norm(path.bn, "a selective kernel path")
    attn = m.attn
    if type(attn.act) is not nn.ReLU or class_name(attn.bn) != _BATCH_NORM:
        raise NotImportable("a selective kernel attention other than batch norm and ReLU")
    first = paths[0].conv
    return dict(out_channels=first.out_channels, stride=first.stride[0], paths=len(paths),
                groups=first.groups, attn_channels=attn.fc_reduce.out_channels,
                split_input=bool(m.split_input))


register(BlockSpec(
    type="SelectiveKernel", category="attention", title="Selective kernel",
    help="The Selective Kernel unit (Li et al. 2019): parallel 3×3 convolutions of growing "
         "dilation (receptive fields of 3×3, 5×5, ...), each with batch norm and ReLU, are "
         "summed; global pooling and a small bottleneck (C → d → paths·C) give, for each "
         "channel, a softmax across the paths, and the paths are added with those weights. "
         "Each neuron so chooses its own receptive field for the image at hand. With split "
         "input each path sees only its share of the input channels (timm's SKNet), which "
         "keeps the parameter count near a plain convolution's.",
    params=(out_channels(64, "Output channels"), STRIDE,
            Param("paths", "int", 2, "Paths (path i is a 3×3 convolution of dilation i + 1)",
                  min=2, max=4),
            GROUPS, ATTN_CHANNELS,
            Param("split_input", "bool", False, "Give each path its own share of the input "
                  "channels (timm's SKNet) instead of all of them (the paper)")),
    expand=_expand_selective_kernel,
    summary=lambda p: f"{p.out_channels}, {p.paths} paths" + (f" /{p.stride}"
                                                              if p.stride > 1 else ""),
    imports={"timm.layers.selective_kernel.SelectiveKernel": _import_timm_selective_kernel},
))


# ---- ResNeSt split attention --------------------------------------------------------------------

def _expand_split_attention(p, shapes):
    require_image(shapes[0])
    if p.out_channels % p.groups:
        raise ShapeError(f"{p.groups} groups do not divide {p.out_channels} output channels")
    wide = p.out_channels * p.radix
    b = GraphBuilder("SplitAttention")
    x = b.block_input("in")
    x = b.conv_norm_act(x, ("conv", "bn0", "act0"), out_channels=wide, kernel=p.kernel,
                        stride=p.stride, padding=p.dilation * (p.kernel - 1) // 2,
                        dilation=p.dilation, groups=p.groups * p.radix)
    splits = b.add("Split", "splits", x, sections=p.radix) if p.radix > 1 else (x,)
    s = b.add("Add", "gap_sum", *splits, num_inputs=p.radix) if p.radix > 1 else x
    s = b.add("GlobalAvgPool2d", "pool", s)
    s = b.add("Conv2d", "fc1", s, out_channels=p.attn_channels, kernel=1, padding=0,
              groups=p.groups, bias=True)
    s = b.add("ReLU", "act1", b.add("BatchNorm", "bn1", s))
    s = b.add("Conv2d", "fc2", s, out_channels=wide, kernel=1, padding=0, groups=p.groups,
              bias=True)
    if p.radix > 1:
        gates = _branch_softmax(b, "rsoftmax", s, p.radix, p.out_channels, p.groups)
        y = _weighted_sum(b, splits, gates)
    else:
        y = b.add("Multiply", "scale", x, b.add("Sigmoid", "rsoftmax", s))
    b.output(y, "out", name="out")
    return b.finish()


def _import_timm_split_attn(m, shape):
    conv = m.conv
    if class_name(conv) != "torch.nn.modules.conv.Conv2d" or conv.bias is not None or \
            conv.kernel_size[0] != conv.kernel_size[1] or len(set(conv.stride)) != 1 or \
            len(set(conv.dilation)) != 1:
        raise NotImportable("a split attention whose convolution is not square without bias")
    kernel, dilation = conv.kernel_size[0], conv.dilation[0]
    if conv.padding != (dilation * (kernel - 1) // 2,) * 2:
        raise NotImportable("a split attention whose convolution does not keep the size")
    if class_name(m.bn0) != _BATCH_NORM or class_name(m.bn1) != _BATCH_NORM or \
            class_name(m.drop) != _IDENTITY:
        raise NotImportable("a split attention without batch norm, or with drop block")
    if type(m.act0) is not nn.ReLU or type(m.act1) is not nn.ReLU:
        raise NotImportable("a split attention whose activation is not ReLU")
    return dict(out_channels=conv.out_channels // m.radix, kernel=kernel, stride=conv.stride[0],
                dilation=dilation, groups=conv.groups // m.radix, radix=m.radix,
                attn_channels=m.fc1.out_channels)


register(BlockSpec(
    type="SplitAttention", category="attention", title="Split attention",
    help="ResNeSt's split-attention convolution (Zhang et al. 2020): one grouped convolution "
         "makes `radix` splits of the output (each with batch norm and ReLU); their sum is "
         "pooled and passed through a two-layer bottleneck whose output gets a softmax across "
         "the splits, per channel and cardinal group, and the splits are added with those "
         "weights (radix 1: a sigmoid gate, as in squeeze-and-excitation). It is the 3×3 "
         "convolution of a ResNeSt bottleneck: attention across feature-map groups at about "
         "the cost of a ResNeXt block.",
    params=(out_channels(64, "Output channels"),
            Param("kernel", "int", 3, "Kernel of the convolution (odd)", min=1, max=15),
            STRIDE,
            Param("dilation", "int", 1, "Dilation of the convolution", min=1, max=16),
            GROUPS,
            Param("radix", "int", 2, "Splits weighted by the attention (R)", min=1, max=8),
            ATTN_CHANNELS),
    expand=_expand_split_attention,
    summary=lambda p: f"{p.out_channels}, radix {p.radix}" + (f", {p.groups} groups"
                                                              if p.groups > 1 else ""),
    imports={"timm.layers.split_attn.SplitAttn": _import_timm_split_attn},
))
