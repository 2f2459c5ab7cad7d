"""Huge and negative input sizes (issue 10, fix 5): refused with the numbers before anything is
allocated, and `-1x5x5` gets a sentence instead of argparse's "expected one argument"."""

import pytest

from designer.cli import main
from designer.core import memory
from designer.core.compile import compile_graph
from designer.core.presets import load_design


def test_export_refuses_a_huge_input_with_the_number(tmp_path, capsys):
    out = tmp_path / "m.pth"
    code = main(["export", "lenet5", "-f", "state_dict", "-o", str(out), "--input", "3x100000x100000"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("designer: exporting needs at least ") and "TiB" in err
    assert "of activations per sample × batch 2" in err and "is free" in err
    assert not out.exists()


def test_train_refuses_a_huge_input_before_loading_data(tmp_path, capsys):
    code = main(["train", "reactor_digits", "--input", "1x30000x30000", "--epochs", "1",
                 "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("designer: training needs at least ") and "× batch 64" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("argv, words", [
    (["resnet18", "--input", "3x100000x100000"], "of activations per sample × batch 1)"),
    (["lenet5", "--batch", "1000000"], "of activations per sample × batch 1000000)"),
    (["lenet5", "--threads", "-1"], "CPU threads must be at least 1; got -1"),
])
def test_profile_refuses_what_cannot_fit_before_allocating(argv, words, capsys, monkeypatch):
    """Issue 28, items 9 and 11: activations × batch are checked as export and train do."""
    monkeypatch.setattr(memory, "available_memory", lambda device=None: 8 << 30)  # any machine
    code = main(["profile", *argv, "--repeats", "1", "--warmup", "0"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("designer: ") and words in err, err


@pytest.mark.parametrize("argv", [["--input", "-1x5x5"], ["--input=-1x5x5"]])
def test_negative_sizes_get_a_real_message(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(["summary", "lenet5", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --input: '-1x5x5': every size must be at least 1, not -1" in err
    assert "expected one argument" not in err


def test_zero_size_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["summary", "lenet5", "--input", "1x0x5"])
    assert "every size must be at least 1, not 0" in capsys.readouterr().err


def test_check_fits_compares_weights_and_a_batch_of_activations():
    params, per_sample = memory.design_needs(load_design("lenet5"))
    need = params * 4 + per_sample * 8
    memory.check_fits(params, per_sample, 8, "training", available=need)       # exactly fits
    with pytest.raises(memory.MemoryLimitError) as info:
        memory.check_fits(params, per_sample, 8, "training", available=need - 1)
    assert f"of activations per sample × batch 8) but only {memory.format_bytes(need - 1)} is free" \
        in str(info.value)


def test_compiling_refuses_weights_that_cannot_fit(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda device=None: 100_000)
    with pytest.raises(memory.MemoryLimitError, match=r"building the model needs at least 241\.0 KiB"):
        compile_graph(load_design("lenet5"))      # 61,706 fp32 weights


def test_available_memory_is_known_here():
    free = memory.available_memory()
    assert free is None or free > 0


def test_a_container_limit_counts_its_page_cache_as_free(monkeypatch):
    import io
    files = {"/sys/fs/cgroup/memory.max": "1000000\n", "/sys/fs/cgroup/memory.current": "900000\n",
             "/sys/fs/cgroup/memory.stat": "anon 300000\nfile 600000\n",
             "/proc/meminfo": "MemTotal: 999999 kB\nMemAvailable: 999999 kB\n"}
    monkeypatch.setattr(memory, "open", lambda path, *a, **k: io.StringIO(files[path]), raising=False)
    assert memory.available_memory() == 1000000 - 900000 + 600000     # the cgroup, not the host
    files["/sys/fs/cgroup/memory.max"] = "max\n"
    assert memory.available_memory() == 999999 * 1024
