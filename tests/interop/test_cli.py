"""`designer import` and `designer diff` on the command line."""

import importlib.util
import json
import textwrap

import pytest
import torch

from designer.cli import main
from designer.core import fileformat
from designer.core.compile import compile_graph

USER_MODEL = textwrap.dedent('''
    import torch
    from torch import nn
    import torch.nn.functional as F


    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            return torch.fft.rfft(self.fc(x)).abs()


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.up = nn.Upsample(scale_factor=2)
            self.head = Head()

        def forward(self, x):
            x = F.relu(self.conv(x))
            x = self.up(x)
            x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
            return self.head(x)


    class Small(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.bn = nn.BatchNorm2d(8)
            self.fc = nn.Linear(8, 5)

        def forward(self, x):
            x = F.relu(self.bn(self.conv(x)))
            return self.fc(x.mean([2, 3]))
''')


# A small network around one timm attention module, with seeded random weights and batch norm
# statistics, so the same factory gives the same model in the CLI and in the test.
ATTENTION_MODEL = textwrap.dedent('''
    import torch
    from torch import nn
    from timm.layers import SEModule
    from timm.layers.cbam import CbamModule


    class Net(nn.Module):
        def __init__(self, attention):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(16)
            self.relu = nn.ReLU()
            self.attention = attention
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 5)

        def forward(self, x):
            x = self.attention(self.relu(self.bn(self.conv(x))))
            return self.fc(torch.flatten(self.pool(x), 1))


    def seeded(make):
        torch.manual_seed(0)
        net = Net(make())
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.uniform_(-1, 1)
                    m.running_var.uniform_(0.5, 2)
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.5, 0.5)
        return net.eval()


    def with_se():
        return seeded(lambda: SEModule(16, rd_ratio=1 / 4))


    def with_cbam():
        return seeded(lambda: CbamModule(16, rd_ratio=1 / 4))
''')


def _user_file(tmp_path):
    path = tmp_path / "user_model.py"
    path.write_text(USER_MODEL)
    return path


def test_unsupported_ops_are_listed_with_their_module_path(tmp_path, capsys):
    out = tmp_path / "net.json"
    code = main(["import", f"module:{_user_file(tmp_path)}:Net", "-o", str(out),
                 "--input", "3x8x8"])
    err = capsys.readouterr().err
    assert code == 2
    assert "nn.Upsample" in err and " at up" in err
    assert "rfft" in err and "at head" in err
    assert not out.exists() and not out.with_suffix(".pt").exists()


def test_import_user_module_writes_design_and_weights(tmp_path, capsys):
    out = tmp_path / "small.json"
    path = _user_file(tmp_path)
    assert main(["import", f"module:{path}:Small", "-o", str(out), "--input", "3x16x16"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    graph = fileformat.load(out)
    module = compile_graph(graph).eval()
    module.load_state_dict(torch.load(out.with_suffix(".pt"), weights_only=True))
    # The same weights in the user's own class give the same outputs.
    spec = importlib.util.spec_from_file_location("user_model_check", path)
    user = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(user)
    reference = user.Small().eval()
    reference.load_state_dict(torch.load(out.with_suffix(".pt"), weights_only=True))
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(module(x), reference(x), atol=1e-5)


def test_import_unknown_source(tmp_path, capsys):
    assert main(["import", "torchvision:no_such_net", "-o", str(tmp_path / "x.json")]) == 2
    assert "torchvision has no model named 'no_such_net'" in capsys.readouterr().err


def test_diff_resnet50_resnext50_json(capsys):
    assert main(["diff", "resnet50", "resnext50_32x4d", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    totals = result["totals"]
    assert totals["a"]["params"] == 25_557_032 and totals["b"]["params"] == 25_028_904
    assert totals["ratio"]["params"] == round(25_028_904 / 25_557_032, 4)
    changed = {c["id"]: c["changes"] for c in result["changed"]}
    # Every bottleneck became a ResNeXt block; the stem and head are untouched.
    assert sorted(changed) == sorted(n["id"] for n in result["nodes"]
                                     if n["a"]["type"] == "Bottleneck")
    assert changed["layer1.0"]["type"] == ["Bottleneck", "ResNeXtBlock"]
    assert "conv1" not in changed and not result["added"] and not result["removed"]
    stages = {s["stage"]: s for s in result["stages"]}
    assert stages["layer4"]["params_a"] + stages["fc"]["params_a"] < totals["a"]["params"]
    assert sum(s["params_b"] for s in stages.values()) == totals["b"]["params"]


def test_diff_text_lists_added_and_removed(capsys):
    assert main(["diff", "resnet18", "resnet34"]) == 0
    text = capsys.readouterr().out
    assert "+ layer1.2" in text and "removed" in text
    # The activation-memory total the README promises, with resnet34's larger figure second.
    line = next(x for x in text.splitlines() if x.startswith("Activation memory"))
    from designer.core import presets
    from designer.core.memory import format_bytes
    from designer.core.summary import summarize
    a, b = (summarize(presets.load_design(name))["activation_memory_bytes"]
            for name in ("resnet18", "resnet34"))
    assert a < b and line.split()[2:6] == [*format_bytes(a).split(), *format_bytes(b).split()]


@pytest.mark.parametrize("factory, block", [("with_se", "SEBlock"), ("with_cbam", "CBAM")])
def test_timm_attention_module_imports_as_one_block(tmp_path, capsys, factory, block):
    path = tmp_path / "attention_model.py"
    path.write_text(ATTENTION_MODEL)
    out = tmp_path / "net.json"
    assert main(["import", f"module:{path}:{factory}", "-o", str(out), "--input", "3x12x12"]) == 0
    graph = fileformat.load(out)
    # Folded into the one catalogue block, with no plumbing nodes or group left over.
    assert [n.type for n in graph.nodes.values()] == [
        "Input", "Conv2d", "BatchNorm", "ReLU", block, "AdaptiveAvgPool2d", "Flatten", "Linear",
        "Output"]
    module = compile_graph(graph).eval()
    module.load_state_dict(torch.load(out.with_suffix(".pt"), weights_only=True))
    spec = importlib.util.spec_from_file_location("attention_model_check", path)
    user = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(user)
    source = getattr(user, factory)()   # seeded: the very model the CLI imported
    x = torch.randn(3, 3, 12, 12)
    with torch.no_grad():
        assert torch.allclose(module(x), source(x), atol=1e-5)


TINY_MODEL = textwrap.dedent('''
    from torch import nn


    def tiny():
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
''')


def test_import_refuses_what_it_must_not_replace(tmp_path, capsys):
    """An existing output without --force, a FIFO or device, a missing folder: one sentence each,
    exit 2, and the old files, the FIFO and the device stay as they were."""
    import os
    model = tmp_path / "tiny.py"
    model.write_text(TINY_MODEL)
    source = f"module:{model}:tiny"
    out = tmp_path / "net.json"
    assert main(["import", source, "--input", "3x8x8", "-o", str(out)]) == 0
    before = (out.read_bytes(), out.with_suffix(".pt").read_bytes())
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    null = tmp_path / "null.json"
    null.symlink_to("/dev/null")
    for target, words in ((out, "net.json exists; pass --force"), (fifo, "is a FIFO"),
                          (null, "is a device"), (tmp_path / "nodir" / "a.json", "no such folder")):
        capsys.readouterr()
        assert main(["import", source, "--input", "3x8x8", "-o", str(target)]) == 2, target
        err = capsys.readouterr().err
        assert err.startswith("designer: ") and words in err and err.count("\n") == 1
    assert (out.read_bytes(), out.with_suffix(".pt").read_bytes()) == before
    assert fifo.exists() and not fifo.is_file() and os.path.realpath(null) == "/dev/null"
    assert main(["import", source, "--input", "3x8x8", "-o", str(out), "--force"]) == 0


def test_a_model_that_cannot_run_on_the_input_is_one_sentence(tmp_path, capsys):
    """A wrong --input (channels, too small) and a forward of two inputs: exit 2, no traceback."""
    model = tmp_path / "models.py"
    model.write_text(textwrap.dedent('''
        from torch import nn


        class Two(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)

            def forward(self, x, y):
                return self.fc(x + y)


        def convs():
            return nn.Sequential(nn.Conv2d(3, 4, 5), nn.ReLU(), nn.Conv2d(4, 4, 5))
    '''))
    cases = (("convs", "1x16x16", "cannot run on a 1×16×16 input"),
             ("convs", "3x6x6", "cannot run on a 3×6×6 input"),
             ("Two", "4", "forward takes 2 inputs (x, y)"))
    for name, shape, words in cases:
        code = main(["import", f"module:{model}:{name}", "--input", shape,
                     "-o", str(tmp_path / f"{name}.json")])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("designer: ") and words in err, err
        assert "Traceback" not in err and not (tmp_path / f"{name}.json").exists()
