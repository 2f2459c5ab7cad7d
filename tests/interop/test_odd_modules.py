"""Modules written in the ways real model code is written (issue 27): each imports as a design that
computes what the module computes, or `designer import` ends in exit 2 with one sentence naming
the module path, never a traceback. The patterns come from timm's res2net/cspresnet/mixnet (split
and chunk inside a block), DLA (a default argument), HRNet (a list changed in place), NFNet
(scaled weights and gains) and DenseNet (a block fed a list); the real timm blocks are built at
tiny sizes beside the hand-written reproducers."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from designer.cli import main
from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.interop.pytorch import import_model

SHAPE = (8, 8, 8)


class SplitHalves(nn.Module):
    """torch.split inside a block that returns both halves: a Group with two outputs."""

    def __init__(self, c=8):
        super().__init__()
        self.a = nn.Conv2d(c // 2, c // 2, 3, padding=1)
        self.b = nn.Conv2d(c // 2, c // 2, 3, padding=1)

    def forward(self, x):
        x1, x2 = torch.split(x, x.shape[1] // 2, dim=1)
        return self.a(x1), self.b(x2)


class SplitUser(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = SplitHalves()
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        a, b = self.block(x)
        return self.head(torch.cat([a, b], 1))


class UnequalSplit(nn.Module):
    """MixNet's mixed kernels: sections of unequal sizes, each its own conv."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(2, 2, 5, padding=2),
                                    nn.Conv2d(2, 2, 1)])

    def forward(self, x):
        parts = x.split([4, 2, 2], 1)
        return torch.cat([conv(parts[i]) for i, conv in enumerate(self.convs)], 1)


class ChunkScales(nn.Module):
    """Res2Net's hierarchy: chunk, then each section added to the previous one's output."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(2, 2, 3, padding=1) for _ in range(3)])

    def forward(self, x):
        parts = x.chunk(4, dim=1)
        out, previous = [], None
        for i, conv in enumerate(self.convs):
            previous = conv(parts[i] if previous is None else parts[i] + previous)
            out.append(previous)
        return torch.cat(out + [parts[3]], 1)


class DefaultShortcut(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x, shortcut=None):
        shortcut = x if shortcut is None else shortcut
        return self.conv(x) + shortcut


class DefaultArgument(nn.Module):
    """DLA: one block called with its default, one with a second tensor."""

    def __init__(self):
        super().__init__()
        self.b1 = DefaultShortcut()
        self.b2 = DefaultShortcut()

    def forward(self, x):
        return self.b2(self.b1(x), x)


class ListInPlace(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.branches = nn.ModuleList([nn.Conv2d(c, c, 3, padding=1) for _ in range(2)])

    def forward(self, xs):
        for i, branch in enumerate(self.branches):
            xs[i] = branch(xs[i])
        xs[0] = xs[0] + xs[1]
        return xs


class ListMutation(nn.Module):
    """HRNet's fuse: a block that assigns into the list it was given."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(8, 8, 1)
        self.fuse = ListInPlace()

    def forward(self, x):
        x = self.stem(x)
        return self.fuse([x, x * 0.5])[0]


class ScaledGain(nn.Module):
    """A scalar parameter multiplied by a number (NFNet's skipinit gain)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.gain = nn.Parameter(torch.tensor(0.3))

    def forward(self, x):
        return self.conv(x) * (self.gain * 2.0)


class StandardisedConv(nn.Conv2d):
    """NFNet's scaled weight standardisation: the weight is computed from parameters alone."""

    def __init__(self):
        super().__init__(8, 4, 3, padding=1)
        self.gain = nn.Parameter(torch.rand(4, 1, 1, 1) + 0.5)

    def forward(self, x):
        weight = F.batch_norm(self.weight.reshape(1, 4, -1), None, None,
                              weight=(self.gain * 0.5).view(-1), training=True, momentum=0.0,
                              eps=1e-5).reshape_as(self.weight)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding)


class ScaledWeight(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = StandardisedConv()

    def forward(self, x):
        return self.conv(x)


class TypeBranch(nn.Module):
    """DenseNet's layer: `isinstance(x, Tensor)` decides how to read its input."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        features = [x] if isinstance(x, torch.Tensor) else x
        return self.conv(torch.cat(features, 1))


class ListFed(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = TypeBranch()

    def forward(self, x):
        features = [x]
        features.append(self.layer(features))
        return torch.cat(features, 1)


class ValueBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        x = self.conv(x)
        return x * 2 if x.sum() > 0 else x


class DataDependent(nn.Module):
    """Control flow on tensor values: no design can hold it; reported at body."""

    def __init__(self):
        super().__init__()
        self.body = ValueBranch()

    def forward(self, x):
        return self.body(x)


class LoopedSplit(nn.Module):
    """fx cannot iterate over a split's sections nor branch on a shape; torch.export can, so
    this block is imported from torch.export's graph (ATen ops, mapped as fx's are)."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(2, 2, 5, padding=2),
                                    nn.Conv2d(2, 2, 1)])
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        parts = x.split([4, 2, 2], 1)
        y = torch.relu(self.bn(torch.cat([c(p) for c, p in zip(self.convs, parts)], 1)))
        if y.shape[-1] > 4:
            y = F.max_pool2d(y, 2)
        return self.fc(y.mean((2, 3)))


class ExportedInside(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(8, 8, 1)
        self.mix = LoopedSplit()

    def forward(self, x):
        return self.mix(self.stem(x))


class FirstChannels(nn.Module):
    """GhostNet's trim: x[:, :n] is a ChannelSlice."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 12, 1)

    def forward(self, x):
        return self.conv(x)[:, :6]


class ChannelRanges(nn.Module):
    """ReXNet's and DPN's partial residual: the first channels summed with the input, the rest
    (and a range from the end) concatenated as they are: ChannelSlices from a start."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 12, 1)

    def forward(self, x):
        y = self.conv(x)
        return torch.cat([y[:, 0:8] + x, y[:, 8:], y[:, -3:-1]], dim=1)


class BranchyRanges(ChannelRanges):
    """The same ranges where fx cannot trace (a branch on a shape): torch.export's aten.slice."""

    def forward(self, x):
        y = super().forward(x)
        return y[:, 2:] if y.shape[-1] > 4 else y


class ExportedRanges(nn.Module):
    def __init__(self):
        super().__init__()
        self.ranges = BranchyRanges()

    def forward(self, x):
        return self.ranges(x)


class SumFromZero(nn.Module):
    """MobileOne's train-time block: a sum that starts at the number 0."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 1)])

    def forward(self, x):
        out = 0
        for conv in self.convs:
            out += conv(x)
        return out + 0


def _timm_blocks():
    """Real timm blocks of the five causes, at tiny sizes (name: factory, input shape)."""
    timm = pytest.importorskip("timm")
    from timm.layers import BlurPool2d, ScaledStdConv2d
    from timm.models import densenet, dla, res2net
    return {
        "timm Bottle2neck": (lambda: res2net.Bottle2neck(64, 16, base_width=16, scale=4,
                                                         norm_layer=nn.BatchNorm2d), (64, 8, 8)),
        "timm DlaTree": (lambda: dla.DlaTree(1, dla.DlaBasic, 8, 8), (8, 8, 8)),
        "timm ScaledStdConv2d": (lambda: ScaledStdConv2d(8, 4, 3, padding=1), (8, 8, 8)),
        "timm DenseBlock": (lambda: densenet.DenseBlock(2, 8, 2, 4), (8, 8, 8)),
        "timm BlurPool2d": (lambda: nn.Sequential(nn.Conv2d(8, 8, 1), BlurPool2d(8, 3, 2)),
                            (8, 8, 8)),
        "timm mixnet": (lambda: timm.create_model("mixnet_s", num_classes=4).blocks[1],
                        (16, 8, 8)),
    }


IMPORT_EQUAL = {"split in a block": SplitUser, "unequal split": UnequalSplit,
                "chunk scales": ChunkScales, "default argument": DefaultArgument,
                "list mutation": ListMutation, "scaled gain": ScaledGain,
                "scaled weight": ScaledWeight, "list fed": ListFed,
                "fx cannot, torch.export can": ExportedInside, "first channels": FirstChannels,
                "channel ranges": ChannelRanges, "channel ranges, exported": ExportedRanges,
                "sum from zero": SumFromZero}


def _check_equal(model, shape):
    result = import_model(model, shape)
    assert Analyzer(result.graph).totals.errors == 0
    compiled = compile_graph(result.graph).eval()
    compiled.load_state_dict(result.state_dict, strict=True)
    x = torch.randn((2,) + shape)
    with torch.no_grad():
        expected, got = model(x), compiled(x)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-4), (got - expected).abs().max()


@pytest.mark.parametrize("name", sorted(IMPORT_EQUAL))
def test_odd_module_imports_equal(name):
    torch.manual_seed(0)
    _check_equal(IMPORT_EQUAL[name]().eval(), SHAPE)


@pytest.mark.parametrize("name", ["timm Bottle2neck", "timm DlaTree", "timm ScaledStdConv2d",
                                  "timm DenseBlock", "timm BlurPool2d", "timm mixnet"])
def test_timm_block_of_each_cause_imports_equal(name):
    factory, shape = _timm_blocks()[name]
    torch.manual_seed(0)
    model = factory().eval()
    _check_equal(model, shape)


def test_timm_blur_pool_becomes_the_catalogue_blur_pool():
    factory, shape = _timm_blocks()["timm BlurPool2d"]
    result = import_model(factory().eval(), shape)
    assert [n.type for n in result.graph.nodes.values()] == ["Input", "Conv2d", "BlurPool",
                                                            "Output"]


def test_what_fx_cannot_trace_comes_from_torch_export():
    torch.manual_seed(0)
    result = import_model(ExportedInside().eval(), SHAPE)
    group = result.graph.nodes["mix"]
    inside = {n.type for n in group.subgraph.nodes.values()}
    assert {"Split", "Conv2d", "BatchNorm", "MaxPool2d", "GlobalAvgPool2d", "Linear"} <= inside


def test_data_dependent_module_is_one_sentence_naming_it(tmp_path, capsys):
    rc = main(["import", f"module:{__file__}:DataDependent", "--input", "8x8x8",
               "-o", str(tmp_path / "d.json")])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "body (ValueBranch)" in err and "data-dependent" in err
    assert not (tmp_path / "d.json").exists()


class BrokenInside(nn.Module):
    """A block whose forward fails when run: the sentence names the block's path."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(8, 8, 1)
        self.inner = nn.Sequential(nn.Conv2d(8, 8, 1), _Fails())

    def forward(self, x):
        return self.inner(self.stem(x))


class _Fails(nn.Module):
    def forward(self, x):
        raise StopIteration   # what a handler bug looked like before: not even a message


def test_a_module_that_fails_when_run_is_one_sentence_naming_it(tmp_path, capsys):
    rc = main(["import", f"module:{__file__}:BrokenInside", "--input", "8x8x8",
               "-o", str(tmp_path / "b.json")])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert "inner.1" in err and "StopIteration" in err
