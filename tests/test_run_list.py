"""The runs of a design as the Runs panel lists them (designer.workspace): matched by the design's
content, their figures read from the files a run writes, rename and notes kept in run.json,
delete to the trash and back, and Compress results kept as variants inside their run."""

import os
import subprocess
import sys
import time

import pytest

from designer import workspace
from designer.core import fileformat
from designer.core.errors import DesignError
from designer.core.presets import load_design
from designer.train import runs

from .helpers import fake_run


@pytest.fixture
def lenet():
    return load_design("lenet5")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_DESIGNER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CNN_DESIGNER_RUNS", raising=False)
    return tmp_path / "home"


def test_a_run_folder_reads_back_its_figures_without_torch(tmp_path, lenet):
    folder = fake_run(tmp_path, "a", lenet)
    run = workspace.read_run(folder)
    assert (run.name, run.dataset, run.status) == ("LeNet-5 · digits · a", "digits", "stopped")
    assert (run.epochs_done, run.epochs) == (3, 5)
    assert (run.best_error, run.last_error, run.duration_s) == (0.3, 0.4, 30.0)
    assert run.started == time.mktime((2024, 3, 5, 14, 2, 11, 0, 0, -1))
    assert run.size == sum(p.stat().st_size for p in folder.iterdir())
    assert run.size >= 1000 and run.weights == folder / "best.pt"
    (folder / "best.pt").unlink()
    (folder / "last.pt").write_bytes(b"y")
    assert workspace.read_run(folder).weights == folder / "last.pt"
    assert workspace.read_run(tmp_path) is None           # a folder without a run
    code = ("import sys; from designer import workspace; "
            f"r = workspace.read_run({str(folder)!r}); assert r.best_error == 0.3; "
            "assert 'torch' not in sys.modules and 'PySide6' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_runs_are_matched_by_the_design_content_not_its_name(tmp_path, lenet):
    mine = fake_run(tmp_path, "mine", lenet)
    renamed = lenet.copy()
    renamed.set_metadata(name="my lenet")        # the same layers under another name: its run
    moved = fake_run(tmp_path, "renamed", renamed)
    edited = lenet.copy()
    edited.nodes["c1"].params["out_channels"] = 8     # the same name, other layers: not its run
    fake_run(tmp_path, "edited", edited)
    old = fake_run(tmp_path, "old", lenet, design_hash=None)   # before hashes: its design.json
    oldest = fake_run(tmp_path, "oldest", lenet, design_hash=None)   # without: its name
    (oldest / runs.DESIGN_FILE).unlink()
    fake_run(tmp_path, "other", load_design("alexnet"), design_hash=None)
    (tmp_path / "not-a-run").mkdir()
    found = {run.folder for run in workspace.runs_of(lenet, tmp_path)}
    assert found == {mine, moved, old, oldest}
    assert {run.folder.name for run in workspace.runs_of(edited, tmp_path)} == {"edited",
                                                                                 "oldest"}
    assert workspace.runs_of(lenet, tmp_path / "missing") == []


def test_status_of_old_and_killed_runs(tmp_path, lenet):
    older = fake_run(tmp_path, "older", lenet, errors=(0.5,) * 5, status=None)
    (older / runs.INFO_FILE).unlink()
    run = workspace.read_run(older)
    assert (run.status, run.name) == ("completed", "older")
    assert run.design_hash == fileformat.design_hash(lenet)     # from its design.json
    running = fake_run(tmp_path, "running", lenet, status="running")
    assert workspace.read_run(running).status == "running"
    quiet = time.time() - workspace.QUIET_S - 60
    for path in running.iterdir():
        os.utime(path, (quiet, quiet))
    assert workspace.read_run(running).status == "interrupted"


def test_rename_and_notes_stay_in_run_json_and_the_folder_keeps_its_name(tmp_path, lenet):
    folder = fake_run(tmp_path, "a", lenet)
    assert workspace.rename(folder, "  wide   lr ") == "wide lr"
    workspace.set_notes(folder, "try a lower lr next\n")
    run = workspace.read_run(folder)
    assert (run.name, run.notes, run.folder) == ("wide lr", "try a lower lr next", folder)
    assert runs.read_info(folder)["design_hash"] == fileformat.design_hash(lenet)   # kept
    with pytest.raises(DesignError, match="needs a name"):
        workspace.rename(folder, "   ")
    assert workspace.read_run(folder).name == "wide lr"
    with pytest.raises(DesignError, match="holds no run"):
        workspace.rename(tmp_path / "gone", "x")


def test_delete_moves_to_the_trash_and_restore_brings_it_back(tmp_path, lenet, home):
    root = tmp_path / "runs"
    folder = fake_run(root, "a", lenet)
    trashed = workspace.trash(folder)
    assert not folder.exists() and trashed.parent == home / "trash"
    assert (trashed / "best.pt").is_file() and workspace.runs_of(lenet, root) == []
    again = fake_run(root, "a", lenet)             # a second run of that folder name, trashed too
    second = workspace.trash(again)
    assert second != trashed and second.is_dir()
    assert workspace.restore(trashed) == folder.resolve()
    assert [run.folder for run in workspace.runs_of(lenet, root)] == [folder]
    with pytest.raises(DesignError, match="not in the trash"):
        workspace.restore(trashed)
    with pytest.raises(DesignError, match="exists again"):
        workspace.restore(second)                  # "a" is back: the copy stays in the trash
    assert second.is_dir()


def test_variants_land_in_the_run_they_came_from(tmp_path, lenet):
    run = fake_run(tmp_path, "a", lenet)
    assert workspace.run_of(run / "best.pt") == run.resolve()
    assert workspace.run_of(tmp_path / "elsewhere.pt") is None
    (tmp_path / "loose.pt").write_bytes(b"w")
    assert workspace.variant_folder(tmp_path / "loose.pt", "prune") is None
    folder = workspace.variant_folder(run / "best.pt", "prune")
    assert folder.parent == run.resolve() / "variants" and folder.name.startswith("prune_")
    folder.mkdir(parents=True)
    fileformat.save(lenet, folder / "design.json")
    (folder / "design.pt").write_bytes(b"z")
    report = {"technique": "prune", "method": "l1", "amount": 0.5, "params_before": 100,
              "params_after": 60, "val_top1_error_after": 0.2, "layers": [{"layer": "c1"}]}
    workspace.write_variant(folder, report, run / "best.pt", design_hash="h1")
    variant, = workspace.read_run(run).variants
    assert (variant.name, variant.technique, variant.source) == ("pruned l1 50%", "prune",
                                                                 "best.pt")
    assert variant.summary == {"params_before": 100, "params_after": 60,
                               "val_top1_error_after": 0.2} and variant.error == 0.2
    assert variant.weights == folder / "design.pt" and variant.design == folder / "design.json"
    # A variant of the variant joins the same run, naming the weights it came from.
    assert workspace.run_of(folder / "design.pt") == run.resolve()
    second = workspace.variant_folder(folder / "design.pt", "quantize")
    second.mkdir()
    (second / "model_int8.pt").write_bytes(b"q")
    workspace.write_variant(second, {"technique": "quantize", "scheme": "int8-dynamic"},
                            folder / "design.pt")
    _, int8 = workspace.list_variants(run)
    assert int8.source == f"variants/{folder.name}/design.pt" and int8.name == "int8-dynamic"
    assert int8.weights is None and int8.model == second / "model_int8.pt"
    # The variant's design lists its run; renamed, noted and trashed like a run.
    graph = lenet.copy()
    graph.nodes["c3"].params["out_channels"] = 8
    workspace.write_variant(folder, report, run / "best.pt", design_hash=fileformat.design_hash(
        graph))
    assert [r.folder for r in workspace.runs_of(graph, tmp_path)] == [run]
    workspace.rename(second, "int8 for the phone")
    workspace.set_notes(second, "fast")
    assert (workspace.list_variants(run)[1].name, workspace.list_variants(run)[1].notes) == (
        "int8 for the phone", "fast")
    assert runs.read_info(run)["name"] == "LeNet-5 · digits · a"
    workspace.trash(second)
    assert [v.folder for v in workspace.list_variants(run)] == [folder]


def test_a_real_run_is_listed_with_its_figures(lenet_run, lenet):
    folder, epochs = lenet_run
    run, = [r for r in workspace.runs_of(lenet, folder.parent) if r.folder == folder]
    assert (run.status, run.epochs_done, run.epochs, run.dataset) == ("completed", 3, 3, "digits")
    errors = [event.val_top1_error for event in epochs]
    assert run.best_error == pytest.approx(min(errors)) and run.last_error == pytest.approx(
        errors[-1])
    assert run.duration_s > 0 and run.size > (folder / "best.pt").stat().st_size
    assert run.started is not None and abs(run.started - time.time()) < 3600
    assert run.weights == folder / "best.pt"
