"""Everything but the ui is Qt-free at run time: importing every other module of the package, with
none of the optional extras installed, pulls in neither PySide6 nor pyqtgraph (the import-linter
contracts check the same statically, in tests/test_layers.py)."""

import subprocess
import sys

# The modules of pyproject.toml's optional dependencies (export, sweep, insight, interop,
# tensorboard): the engines import them inside the functions that need them, so each module must
# import without them.
OPTIONAL_EXTRAS = ("onnx", "onnxscript", "onnxruntime", "optuna", "matplotlib", "captum", "sklearn",
                   "timm", "tensorboard", "executorch", "torchao", "coremltools")

IMPORT_ALL_BUT_THE_UI = f"""
import importlib, pkgutil, sys
for extra in {OPTIONAL_EXTRAS!r}:
    sys.modules[extra] = None  # as if not installed: importing it raises ModuleNotFoundError
import designer
for top in pkgutil.iter_modules(designer.__path__, "designer."):
    if top.name == "designer.ui":
        continue
    package = importlib.import_module(top.name)
    if top.ispkg:
        for info in pkgutil.walk_packages(package.__path__, top.name + "."):
            importlib.import_module(info.name)
from designer.core.registry import REGISTRY; REGISTRY.specs()
from designer.cli import build_parser; build_parser()
qt = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]
assert not qt, qt
"""


def run_in_a_fresh_process(code):
    """Run `code` in a new interpreter (nothing imported yet); its assertions fail the test."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


def test_every_module_but_the_ui_imports_without_qt_or_the_extras():
    run_in_a_fresh_process(IMPORT_ALL_BUT_THE_UI)


def test_the_whole_cli_parser_is_built_without_torch():
    """`designer --help` and every verb's flags come from light modules: the settings schemas
    (train/config.py, compress/settings.py, insight/settings.py, speed/settings.py) must not
    pull in torch, or every CLI call would pay its seconds of import before parsing."""
    code = ("import sys\n"
            "from designer.cli import build_parser\n"
            "build_parser().format_help()\n"
            "heavy = [m for m in ('torch', 'torchvision', 'PySide6') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    run_in_a_fresh_process(code)


def test_summary_presets_and_diff_run_without_torch():
    """The catalogue's specs name their torch modules lazily (designer/core/lazy.py): only
    `build()` imports torch, so reading a design, its shapes, parameters and MACs, the preset list
    and a diff never pay torch's seconds of import."""
    code = ("import contextlib, io, sys\n"
            "from designer.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    assert main(['summary', 'lenet5']) == 0\n"
            "    assert main(['presets']) == 0\n"
            "    assert main(['diff', 'lenet5', 'alexnet']) == 0\n"
            "assert 'Total parameters: 61,706' in out.getvalue(), out.getvalue()[:2000]\n"
            "heavy = [m for m in ('torch', 'torchvision') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    run_in_a_fresh_process(code)
