"""`designer export` on the command line: writes the file and prints what it did; bad input is a
one-line error with exit status 2."""

import torch

from designer.cli import main
from designer.core.compile import compile_graph
from designer.core.presets import load_design


def test_export_preset_to_torchscript(tmp_path, capsys):
    out = tmp_path / "lenet5.pt"
    assert main(["export", "lenet5", "--format", "torchscript", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out} (TorchScript, scripted)"
    assert torch.jit.load(str(out))(torch.randn(2, 1, 32, 32)).shape == (2, 10)


def test_export_with_weights_and_input(tmp_path, capsys):
    graph = load_design("lenet5")
    torch.manual_seed(3)
    module = compile_graph(graph).eval()
    torch.save({"model": module.state_dict(), "epoch": 1}, tmp_path / "ckpt.pt")
    out = tmp_path / "lenet.py"
    assert main(["export", "lenet5", "-f", "python", "-o", str(out),
                 "--weights", str(tmp_path / "ckpt.pt")]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out} (PyTorch source) and {tmp_path / 'lenet.pth'}" in printed
    assert "loaded 10 of 10 tensors" in printed
    saved = torch.load(tmp_path / "lenet.pth", weights_only=True)
    assert all(torch.equal(saved[k], v) for k, v in module.state_dict().items())


def test_design_file_with_errors(tmp_path, capsys):
    from designer.core import fileformat
    from .designs import broken_net
    fileformat.save(broken_net(), tmp_path / "broken.json")
    assert main(["export", str(tmp_path / "broken.json"), "-f", "onnx",
                 "-o", str(tmp_path / "b.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("designer: the design has 1 error(s) to fix before export:")
    assert "conv:" in err
    assert not (tmp_path / "b.onnx").exists()


def test_mismatched_weights_and_bad_paths(tmp_path, capsys):
    (tmp_path / "w.pth").write_bytes(b"garbage")
    assert main(["export", "lenet5", "-f", "state_dict", "-o", str(tmp_path / "x.pth"),
                 "--weights", str(tmp_path / "w.pth")]) == 2
    assert "not a PyTorch weights file" in capsys.readouterr().err
    assert main(["export", "lenet5", "-f", "onnx", "-o", str(tmp_path / "no" / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert "the folder" in err and "does not exist" in err
    assert main(["export", "nosuchpreset", "-f", "onnx", "-o", str(tmp_path / "x.onnx")]) == 2
    assert "neither a design file nor a preset" in capsys.readouterr().err
