"""Where the app keeps its files: one user data folder, one runs folder, one way to name a run."""

from designer.home import app_home, new_run_dir, runs_root


def test_runs_folder_follows_the_home_and_its_own_override(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_DESIGNER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CNN_DESIGNER_RUNS", raising=False)
    assert app_home() == tmp_path / "home"
    assert runs_root() == tmp_path / "home" / "runs"
    monkeypatch.setenv("CNN_DESIGNER_RUNS", str(tmp_path / "elsewhere"))
    assert runs_root() == tmp_path / "elsewhere"


def test_run_folders_are_named_once_and_never_collide(tmp_path):
    first = new_run_dir("ResNet-18 (mine)", "cifar10", tmp_path)
    assert first.parent == tmp_path and first.name.startswith("resnet_18_mine_cifar10_")
    first.mkdir()
    second = new_run_dir("ResNet-18 (mine)", "cifar10", tmp_path)
    assert second != first and not second.exists()
    assert new_run_dir("", "digits", tmp_path).name.startswith("model_digits_")
