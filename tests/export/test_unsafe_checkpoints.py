"""Unsafe checkpoints are refused in one plain sentence (issue 10, fix 11): the file is not a
weights-only checkpoint, and why; never torch's page of advice with terminal colour codes."""

import collections

import pytest
import torch

from designer.cli import main
from designer.train.loop import TrainingError, load_checkpoint
from designer.weights import WeightsError, read_state_dict


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.fixture
def unsafe(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "cnn-designer-checkpoint", "model": Payload()}, path)
    return path


def _is_one_plain_sentence(text):
    return "\x1b" not in text and "\n" not in text and text.count(". ") == 0 and len(text) < 300


@pytest.mark.parametrize("reader, error", [(read_state_dict, WeightsError),
                                           (load_checkpoint, TrainingError)])
def test_unsafe_checkpoint_is_refused_in_one_sentence(unsafe, reader, error, capsys):
    with pytest.raises(error) as info:
        reader(unsafe)
    message = str(info.value)
    assert message.startswith(f"{unsafe}: not a weights-only checkpoint (it refers to print)")
    assert "loading would run as code, so it is refused" in message
    assert _is_one_plain_sentence(message), message
    assert "this must never run" not in capsys.readouterr().out


def test_a_file_that_is_not_torch_at_all(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("hello\n\x1b[1mbold\x1b[0m")
    with pytest.raises(WeightsError) as info:
        read_state_dict(path)
    assert "not a PyTorch weights file that can be read" in str(info.value)
    assert "\x1b" not in str(info.value) and "\n" not in str(info.value)


def test_cli_prints_the_sentence_and_exits_2(unsafe, tmp_path, capsys):
    code = main(["export", "lenet5", "-f", "state_dict", "-o", str(tmp_path / "m.pth"),
                 "--weights", str(unsafe)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("designer: ") and err.count("\n") == 1 and "\x1b" not in err
    assert not (tmp_path / "m.pth").exists()


def test_torch_refusal_without_a_global_keeps_only_the_reason(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not weights")                   # torch: "... Unsupported operand 110 ..."
    with pytest.raises(WeightsError) as info:
        read_state_dict(path)
    assert str(info.value) == (f"{path}: not a PyTorch weights file that can be read "
                               "(Unsupported operand 110)")
