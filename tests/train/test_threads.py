"""A run's CPU threads (`threads`, auto or exact: set for the run, restored after) and the note
that torch.compile is unlikely to pay for a small model on the CPU."""

import json

import pytest
import torch

from designer.cli import main
from designer.core.infer import Analyzer
from designer.core.presets import load_design
from designer.train import threads
from designer.train.config import TrainConfig, TrainConfigError
from designer.train.loop import Trainer

from ..helpers import tiny_digits_net, torch_threads


@pytest.fixture
def two_threads():
    """torch at 2 threads (the test workers run at 1), restored after."""
    with torch_threads(2):
        yield


def macs(name):
    return Analyzer(load_design(name)).totals.macs


def test_threads_1_is_set_during_the_run_and_restored_after(tmp_path, two_threads):
    config = TrainConfig(epochs=1, batch_size=256, threads=1, device="cpu", out=str(tmp_path))
    seen, messages = set(), []
    for event in Trainer(tiny_digits_net(), config).run():
        seen.add(torch.get_num_threads())
        if event.kind == "message":
            messages.append(event.text)
        if event.kind == "finished":
            assert event.status == "completed"
    assert seen == {1}
    assert torch.get_num_threads() == 2
    assert "threads: 1 (as asked)" in messages
    assert json.loads((tmp_path / "settings.json").read_text())["threads"] == 1


def test_a_run_closed_early_restores_the_threads_too(tmp_path, two_threads):
    run = Trainer(tiny_digits_net(), TrainConfig(epochs=1, threads=1, out=str(tmp_path))).run()
    assert next(run).kind == "start" and torch.get_num_threads() == 1
    run.close()
    assert torch.get_num_threads() == 2


def test_threads_0_is_refused_with_a_sentence(capsys):
    with pytest.raises(TrainConfigError, match="CPU threads.*at least 1"):
        TrainConfig(threads=0).validate()
    assert main(["train", "lenet5", "--threads", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err


def test_old_settings_without_threads_load_at_auto():
    saved = TrainConfig().to_dict()
    del saved["threads"]
    assert TrainConfig.from_dict(saved).threads is None


def test_auto_is_one_thread_for_lenet5_on_the_cpu():
    assert threads.auto_threads(macs("lenet5"), "cpu", current=2) == 1
    cores = threads.physical_cores()
    big = macs("resnet18")
    assert threads.auto_threads(big, "cpu", current=2, busy=0) == min(cores, 2)
    assert threads.auto_threads(big, "cpu", current=1, busy=0) == 1   # OMP_NUM_THREADS=1 kept
    assert threads.auto_threads(big, "cpu", current=64, busy=cores) == 1   # a busy machine
    # On CUDA the threads serve the data path only: the model's size does not matter.
    assert threads.auto_threads(macs("lenet5"), "cuda", current=64, busy=0) == cores
    note = threads.thread_note(1, None, macs("lenet5"), "cpu")
    assert note.startswith("threads: 1 (auto: a small model, 0.4 M multiply-adds")


def test_under_torchrun_each_process_on_a_machine_takes_its_share(monkeypatch):
    # torchrun leaves OMP_NUM_THREADS unset with one process per node: PyTorch's count is then
    # the machine's (here 8 cores), and auto gives that process all the free cores.
    monkeypatch.setattr(threads, "physical_cores", lambda: 8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    big = macs("resnet18")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    assert threads.auto_threads(big, "cpu", current=8, busy=0) == 8
    assert threads.auto_threads(big, "cpu", current=8, busy=3) == 5
    assert threads.thread_note(8, None, big, "cpu") == (
        "threads: 8 (auto: the physical cores not busy; --threads N sets it)")
    # Two processes on the machine split the free cores ...
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert threads.auto_threads(big, "cpu", current=8, busy=0) == 4
    assert threads.auto_threads(big, "cuda", current=8, busy=2) == 3
    assert "shared by this machine's 2 training processes" in threads.thread_note(
        4, None, big, "cpu")
    # ... and keep the OMP_NUM_THREADS=1 torchrun sets for them; a small model stays at 1.
    assert threads.auto_threads(big, "cpu", current=1, busy=0) == 1
    assert threads.auto_threads(macs("lenet5"), "cpu", current=8, busy=0) == 1
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")
    assert threads.auto_threads(big, "cpu", current=8, busy=4) == 1    # never 0


def test_compile_on_the_cpu_says_it_is_unlikely_to_pay_for_a_small_model(tmp_path, monkeypatch):
    note = threads.compile_note(macs("lenet5"), "cpu")
    assert "unlikely to pay" in note and "0.52×" in note
    assert threads.compile_note(macs("lenet5"), "cuda") is None
    assert threads.compile_note(macs("resnet18"), "cpu") is None
    # The run says so among its first messages, and compiles all the same (not refused).
    compiled = []
    monkeypatch.setattr(torch, "compile", lambda f: compiled.append(f) or f)
    run = Trainer(tiny_digits_net(), TrainConfig(compile=True, out=str(tmp_path))).run()
    messages = []
    for event in run:
        if event.kind == "step":
            break
        if event.kind == "message":
            messages.append(event.text)
    run.close()
    assert len(compiled) == 2 and any("compile: unlikely to pay" in m for m in messages)
