"""The installable package: build the wheel, install it into an empty folder, and use it from
outside the source tree, as `pip install .` / `pipx install .` users will (presets, icons and the
bundled digits must be inside the wheel)."""

import os
from pathlib import Path
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args, cwd, env, timeout=300):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs the source tree")
def test_wheel_installs_and_runs_outside_the_source_tree(tmp_path):
    pytest.importorskip("setuptools")
    source, wheels = tmp_path / "source", tmp_path / "wheels"
    target, work = tmp_path / "site", tmp_path / "work"
    work.mkdir()
    # Build from a copy: setuptools leaves build/ and *.egg-info beside the sources it builds.
    shutil.copytree(ROOT / "designer", source / "designer",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    # Offline: no build isolation (the venv's setuptools builds it), no dependencies fetched.
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "-q", "-w", str(wheels), str(source)], cwd=tmp_path, env=dict(os.environ))
    (wheel,) = wheels.glob("cnn_designer-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "designer/presets/lenet5.json" in names
    assert "designer/resources/icons/save.svg" in names
    assert "designer/resources/data/digits.npz" in names
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target",
          str(target), str(wheel)], cwd=tmp_path, env=dict(os.environ))

    # Only the installed copy is importable: not the checkout (cwd is elsewhere, PYTHONPATH is
    # the install folder, which comes before any editable install of the project).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CNN_DESIGNER_RUNS")}
    env.update(PYTHONPATH=str(target), QT_QPA_PLATFORM="offscreen",
               CNN_DESIGNER_HOME=str(tmp_path / "home"))
    designer = [str(target / "bin" / "designer")]
    where = _run([sys.executable, "-c", "import designer; print(designer.__file__)"], work, env)
    assert Path(where.strip()).is_relative_to(target)

    assert "lenet5" in _run(designer + ["presets"], work, env).split()
    assert "25,557,032" in _run(designer + ["summary", "resnet50"], work, env)
    out = _run(designer + ["train", "lenet5", "--dataset", "digits", "--epochs", "1"], work, env)
    assert "finished 1 epochs" in out
    assert list((tmp_path / "home" / "runs").glob("lenet_5_digits_*/last.pt"))
    _run(designer + ["open", "lenet5", "--screenshot", "x.png", "--size", "800x500"], work, env)
    assert (work / "x.png").stat().st_size > 10_000
