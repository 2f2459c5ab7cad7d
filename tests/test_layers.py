"""The package's layers hold: the import-linter contracts in pyproject.toml pass (no Qt outside
designer/ui, the engines never import the ui, the core imports no engine), and no two modules
import each other, directly or round a longer loop."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept(capsys, monkeypatch):
    cli = pytest.importorskip("importlinter.cli")
    monkeypatch.chdir(ROOT)
    code = cli.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    assert code == 0, capsys.readouterr().out[-4000:]


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
