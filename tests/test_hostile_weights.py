"""Weights files that load but cannot be used (issue 28, item 8): a checkpoint marked as this
project's with odd fields, and weights holding NaN or Inf, end in one sentence and exit 2 in
every verb that reads weights; a checkpoint naming fewer classes than the model has outputs
still inspects. The files are made here from LeNet-5's initial weights (no training)."""

import pytest
import torch

from designer.cli import main
from designer.core.compile import compile_graph
from designer.core.presets import load_design
from designer.train.loop import CHECKPOINT_FORMAT
from designer.weights import WeightsError, check_finite, read_state_dict

from .helpers import single_thread


@pytest.fixture(scope="module")
def state():
    torch.manual_seed(0)
    return compile_graph(load_design("lenet5")).state_dict()


def _checkpoint(state, **fields):
    checkpoint = {"format": CHECKPOINT_FORMAT, "version": 1, "model": state,
                  "config": {"dataset": "digits"}, "classes": [str(i) for i in range(10)]}
    for key, value in fields.items():
        if value is None:
            checkpoint.pop(key)
        else:
            checkpoint[key] = value
    return checkpoint


ODD_CHECKPOINTS = {
    "no config": ({"config": None}, 'without its training settings (no "config")'),
    "a list config": ({"config": [1, 2]}, '("config") are a list, not a table'),
    "a text config": ({"config": "digits"}, '("config") are a str, not a table'),
    "classes as one text": ({"classes": "cat"}, '("classes") are a str, not a list'),
}


@pytest.mark.parametrize("case", sorted(ODD_CHECKPOINTS))
def test_inspect_refuses_a_checkpoint_with_odd_fields(case, state, tmp_path, capsys):
    fields, words = ODD_CHECKPOINTS[case]
    path = tmp_path / "odd.pt"
    torch.save(_checkpoint(state, **fields), path)
    code = main(["inspect", "lenet5", "--weights", str(path), "--dataset", "digits",
                 "--out", str(tmp_path / "views"), "--node", "c1"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("designer: ") and words in err, err


def test_a_checkpoint_naming_one_class_still_inspects(state, tmp_path, capsys):
    path = tmp_path / "one_class.pt"
    torch.save(_checkpoint(state, classes=["cat"]), path)
    with single_thread():
        code = main(["inspect", "lenet5", "--weights", str(path), "--dataset", "digits",
                     "--out", str(tmp_path / "views"), "--node", "c1", "--gradcam", "c3"])
    assert code == 0, capsys.readouterr().err
    assert "prediction (true class " in capsys.readouterr().out


VERBS = {
    "inspect": ["inspect", "lenet5", "--dataset", "digits", "--out", "{tmp}/views"],
    "prune": ["prune", "lenet5", "-o", "{tmp}/pruned.json"],
    "quantize": ["quantize", "lenet5", "--scheme", "weight:4:kmeans", "-o", "{tmp}/q.json"],
    "factorize": ["factorize", "lenet5", "--energy", "0.9", "-o", "{tmp}/f.json"],
    "compress-report": ["compress-report", "lenet5"],
    "export": ["export", "lenet5", "--format", "onnx", "-o", "{tmp}/lenet5.onnx"],
    "train": ["train", "lenet5", "--dataset", "digits", "--epochs", "1", "--out", "{tmp}/run"],
}


@pytest.mark.parametrize("value", ["nan", "inf"])
@pytest.mark.parametrize("verb", sorted(VERBS))
def test_weights_holding_nan_or_inf_are_refused_naming_the_tensors(verb, value, state, tmp_path,
                                                                   capsys):
    bad = {k: v.clone() for k, v in state.items()}
    bad["c1.weight"][0, 0, 0, 0] = float(value)
    bad["f6.bias"][1] = -float(value)
    path = tmp_path / "bad.pt"
    torch.save(_checkpoint(bad), path)
    argv = [a.format(tmp=tmp_path) for a in VERBS[verb]] + ["--weights", str(path)]
    code = main(argv)
    err = capsys.readouterr().err
    kind = "NaN" if value == "nan" else "Inf"
    assert code == 2 and err.startswith("designer: "), err
    assert "hold NaN or infinite values" in err and f"c1.weight ({kind})" in err, err
    assert f"f6.bias ({kind})" in err


def test_check_finite_passes_finite_and_integer_tensors(state):
    assert check_finite(state) is state
    with pytest.raises(WeightsError, match=r"in x \(NaN\)"):
        check_finite({"x": torch.tensor([1.0, float("nan")]), "n": torch.tensor(3)})


def test_a_run_folder_is_read_as_its_best_checkpoint(state, tmp_path, capsys):
    """The compress verbs read a training run's folder as inspect does (issue 28, item 11)."""
    torch.save(_checkpoint(state), tmp_path / "last.pt")
    assert set(read_state_dict(tmp_path)) == set(state)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WeightsError, match="a folder, not a weights file"):
        read_state_dict(empty)
    assert main(["factorize", "lenet5", "--weights", str(tmp_path), "--rank", "2",
                 "-o", str(tmp_path / "f.json")]) == 0, capsys.readouterr().err
