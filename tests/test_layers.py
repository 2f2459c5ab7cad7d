"""The package's layers hold: the import-linter contracts in pyproject.toml pass (no Qt outside
designer/ui, the engines never import the ui or the cli, the core and the shared modules import no
engine), each contract fails when a forbidden import is planted in a copy of the package, and no
two modules import each other, directly or round a longer loop."""

import importlib.util
import logging
from pathlib import Path
import pkgutil
import shutil
import sys
import tomllib

import pytest

ROOT = Path(__file__).resolve().parents[1]
IMPORT_LINTER = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS = {contract["id"]: contract for contract in IMPORT_LINTER["contracts"]}


@pytest.fixture(autouse=True)
def loggers_kept():
    """import-linter's `lint_imports` configures logging with dictConfig, which disables every
    logger that already exists (designer.ui.jobs's among them, so later tests saw no log
    records): give them back their state."""
    loggers = [logger for logger in logging.root.manager.loggerDict.values()
               if isinstance(logger, logging.Logger)]
    before = [(logger, logger.disabled, logger.level) for logger in loggers]
    root_level = logging.root.level
    yield
    for logger, disabled, level in before:
        logger.disabled, logger.level = disabled, level
    logging.root.setLevel(root_level)


def test_import_contracts_are_kept(capsys, monkeypatch):
    cli = pytest.importorskip("importlinter.cli")
    monkeypatch.chdir(ROOT)
    code = cli.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    assert code == 0, capsys.readouterr().out[-4000:]


def test_the_qt_contract_covers_every_module_but_the_ui():
    top_level = {f"designer.{info.name}" for info in pkgutil.iter_modules([str(ROOT / "designer")])}
    assert set(CONTRACTS["no-qt"]["source_modules"]) == top_level - {"designer.ui"}


# One row per rule: the lines appended to files of a copy of designer/, and the contracts that must
# then be reported broken (an import of the ui breaks the Qt rule too: Qt comes through the ui).
PLANTED = {
    "Qt in an engine": ([("train/loop.py", "import PySide6")], {"no-qt"}),
    "pyqtgraph in the core": ([("core/graph.py", "import pyqtgraph")], {"no-qt"}),
    "Qt through the ui": ([("cli.py", "import designer.ui.widgets")], {"no-qt"}),
    "an engine imports the ui": ([("speed/profile.py", "import designer.ui.widgets")],
                                 {"engines", "no-qt"}),
    "an engine imports the cli": ([("compress/distill.py", "from designer.cli import main")],
                                  {"engines"}),
    "an engine reaches the cli through __main__": (
        [("interop/diff.py", "import designer.__main__")], {"engines"}),
    "a shared module imports an engine": ([("arguments.py", "import designer.speed.profile")],
                                          {"shared"}),
    "the core reaches an engine through home": ([("core/graph.py", "import designer.home"),
                                                 ("home.py", "import designer.train.augment")],
                                                {"core", "shared"}),
    "nothing planted": ([], set()),
}


def test_every_contract_has_a_planted_row():
    assert set().union(*(broken for _, broken in PLANTED.values())) == set(CONTRACTS)


@pytest.mark.parametrize("plants, expected", PLANTED.values(), ids=PLANTED.keys())
def test_a_planted_import_breaks_its_contract(tmp_path, plants, expected, capsys, monkeypatch):
    cli = pytest.importorskip("importlinter.cli")
    shutil.copytree(ROOT / "designer", tmp_path / "designer",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for file, line in plants:
        path = tmp_path / "designer" / file
        path.write_text(path.read_text() + f"\n{line}\n")
    # grimp finds the package through sys.path (and sys.modules first): point both at the copy,
    # for this test only (lint_imports also puts the working directory on sys.path).
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.delitem(sys.modules, "designer", raising=False)
    importlib.invalidate_caches()
    assert Path(importlib.util.find_spec("designer").origin).is_relative_to(tmp_path)
    code = cli.lint_imports(config_filename=str(tmp_path / "pyproject.toml"), no_cache=True,
                            no_logo=True)
    report = " ".join(capsys.readouterr().out.split())  # a long line may wrap
    broken = {key for key, contract in CONTRACTS.items() if f"{contract['name']} BROKEN" in report}
    kept = {key for key, contract in CONTRACTS.items() if f"{contract['name']} KEPT" in report}
    # Every contract was checked, so a setup that fails (the package not found, a bad config) is
    # not taken for a broken rule.
    assert broken | kept == set(CONTRACTS), report[-4000:]
    assert broken == expected, report[-4000:]
    assert code == (1 if expected else 0), report[-4000:]


def test_no_import_cycles():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("designer", cache_dir=None)
    modules = sorted(graph.modules)

    def imports(module):
        return sorted(graph.find_modules_directly_imported_by(module))

    # Tarjan's strongly connected components, iteratively; any component of two or more is a cycle.
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(imports(root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(imports(child))))
                    break
                if child in on_stack:
                    low[module] = min(low[module], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    component = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        component.append(top)
                        if top == module:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
    assert not cycles, f"modules importing each other: {cycles}"
