"""The README tells the truth: every `sh` block runs as printed, synopses are fenced as `text`,
and the measured tables are what a fresh run of the commands above them gives."""

import importlib.util
from pathlib import Path
import re

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "docs" / "readme_tables.py")
readme_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme_tables)

TEXT = (ROOT / "README.md").read_text()
BLOCKS = readme_tables.code_blocks(TEXT)
GENERATED = readme_tables.generated(TEXT)
# Quick start's `make test` is the command that runs this test.
QUICK_START = TEXT.index("## Quick start"), TEXT.index("\n## ", TEXT.index("## Quick start") + 1)


def _runnable():
    feeding_tables = {body for body, *_ in GENERATED.values()}
    for info, body, end in BLOCKS:
        if info == "sh" and not QUICK_START[0] < end < QUICK_START[1] and body not in feeding_tables:
            first = readme_tables.commands(body)[0]
            yield pytest.param(body, id=f"line{TEXT[:end].count(chr(10))}:{first[:40]}")


def test_every_block_says_what_it_is():
    assert BLOCKS and all(info in ("sh", "text") for info, _, _ in BLOCKS), \
        [body[:60] for info, body, _ in BLOCKS if info not in ("sh", "text")]


def test_runnable_blocks_hold_no_synopsis():
    # `[--json]`, `a|b`, `<time>`, `...` and UPPERCASE placeholders belong in `text` blocks.
    synopsis = re.compile(r"\[-|\w\|\w|<\w+>|\.\.\.|(?<![\w-])[A-Z][A-Z_]{2,}(?![\w.])")
    for info, body, _ in BLOCKS:
        if info == "sh":
            for command in readme_tables.commands(body):
                code = command.split(" #")[0]
                assert not synopsis.search(code), f"a synopsis in an sh block: {command}"


def test_the_tables_are_generated_from_a_block():
    assert set(GENERATED) == set(readme_tables.TABLES)


@pytest.mark.parametrize("body", list(_runnable()))
def test_block_runs_as_printed(body, tmp_path):
    readme_tables.run_block(body, tmp_path)


@pytest.mark.parametrize("name", sorted(readme_tables.TABLES))
def test_table_holds_on_a_fresh_run(name):
    assert readme_tables.check(TEXT, [name]) == []


def test_a_wrong_figure_is_named():
    good = "| a | n | err |\n| --- | --- | --- |\n| x | 1,000 | 3.62 % |\n"
    assert readme_tables.differences("t", good, good.replace("3.62", "3.34")) == []
    wrong = readme_tables.differences("t", good, good.replace("3.62", "7.80"))
    assert wrong == ["t, 'x', err: README says '3.62 %', a fresh run gives '7.80 %'"]
    assert readme_tables.differences("t", good, good.replace("1,000", "1,001")) != []
    # Made on another machine, whose float sums round otherwise: looser, but not blind.
    other = {"same_machine": False}
    assert readme_tables.differences("t", good, good.replace("3.62", "7.80"), **other) == []
    assert readme_tables.differences("t", good, good.replace("1,000", "1,019"), **other) == []
    assert readme_tables.differences("t", good, good.replace("3.62", "9.62"), **other) != []
    assert readme_tables.differences("t", good, good.replace("1,000", "1,100"), **other) != []


def test_each_table_names_the_machine_it_was_made_on():
    assert all(made_on for _, _, made_on, _ in GENERATED.values())
