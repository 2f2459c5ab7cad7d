"""Python-source export of any name and description a person can type (issue 10, fix 6)."""

from hypothesis import given, settings, strategies as st
import pytest

from designer.core.builder import GraphBuilder
from designer.export.python_source import generate_source

# Any text a design file can hold: everything but lone surrogates (refused at load).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


def tiny(name, description):
    b = GraphBuilder(name, description)
    b.output(b.add("ReLU", "relu", b.input((1, 4, 4))))
    return b.finish(layout=False)


def _network_doc(name, description):
    text = generate_source(tiny(name, description))
    namespace = {"__name__": "exported"}
    exec(compile(text, "<exported>", "exec"), namespace)   # a SyntaxError is the bug
    classes = [v for v in namespace.values() if isinstance(v, type) and v.__module__ == "exported"]
    return text, " ".join(classes[-1].__doc__.split())


@pytest.mark.parametrize("description", [
    'ends in a quote"', 'a """triple""" quote', 'backslash at the end\\', '\\"', '"',
    "nul\x00 and bell\x07", "x" * 300 + '"',
])
def test_description_ending_in_a_quote_and_other_hostile_text(description):
    _, doc = _network_doc("Net", description)
    assert doc == " ".join(description.split())


@pytest.mark.parametrize("name", ['LeNet "5"', "None", "class", "Net²", "Net0ﬀ", "Réseau", "3x3", '"""', ""])
def test_any_design_name_gives_a_valid_module(name):
    text, _ = _network_doc(name, "")
    assert text.startswith('"""')


@settings(max_examples=40, deadline=None)
@given(name=TEXT, description=TEXT)
def test_any_text_round_trips_into_the_docstring(name, description):
    _, doc = _network_doc(name, description)
    assert doc == " ".join((description or f"{name}.").split())
