"""The fuzz suite of issue 10 (bounded examples so it stays quick):

- random graphs, some with a random selection grouped into a block and with branches that reach
  no output: the analysis's shapes and totals are exactly what the compiled torch module has
  (shapes, parameters, multiply-adds through a meta-device forward), and they save and load back
  byte for byte;
- mutated design files, structurally (a field deleted, replaced by any JSON value, NaN, a lone
  surrogate, a duplicate) and byte by byte (cut, bytes inserted): every one either loads and then
  survives analysis, summary and saving, or is refused with a DesignFileError: never another
  exception, never a hang.
"""

import json
from pathlib import Path
import tempfile

from hypothesis import HealthCheck, given, settings, strategies as st

from designer.core import fileformat
from designer.core.compile import compile_graph
from designer.core.errors import DesignError, DesignFileError
from designer.core.grouping import GroupingError, group_command
from designer.core.infer import Analyzer
from designer.core.presets import preset_path
from designer.core.summary import format_table, summarize

from .strategies import random_graphs
from .torch_truth import meta_truth

FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---- random graphs against torch ---------------------------------------------------------------

@st.composite
def graphs_with_groups(draw):
    graph = draw(random_graphs())
    inner = [nid for nid, n in graph.nodes.items() if n.type not in ("Input", "Output")]
    if inner and draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(inner), min_size=1, max_size=len(inner), unique=True))
        try:
            group_command(graph, chosen, "blk").redo()
        except GroupingError:
            pass          # a selection with a path leaving and re-entering it: refused, fine
    return graph


@settings(FAST, max_examples=25)
@given(graph=graphs_with_groups())
def test_random_graphs_inferred_equals_torch(graph):
    analyzer = Analyzer(graph)
    assert analyzer.problems() == []
    module = compile_graph(graph)
    shapes, params, macs = meta_truth(module, [graph.nodes["input"].params["shape"]])
    assert shapes == [analyzer.results["output"].output_shape]
    # Layers reaching no output are left out of both the totals and the module.
    assert params == analyzer.totals.params
    assert macs == analyzer.totals.macs


@settings(FAST, max_examples=15)
@given(graph=graphs_with_groups())
def test_random_graphs_save_and_load_byte_for_byte(graph):
    text = fileformat.dumps(graph)
    assert fileformat.dumps(fileformat.loads(text)) == text


# ---- mutated design files ------------------------------------------------------------------------

def _seed_documents():
    lenet = json.loads(preset_path("lenet5").read_text())
    from .test_hostile_files import group_doc
    return [lenet, group_doc()]


SEEDS = _seed_documents()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8)
    | st.sampled_from(["\ud800", "x\udfff", "Conv2d", "Group", "Input", "out", "in", "same"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, path + (i,))


@st.composite
def mutated_texts(draw):
    doc = json.loads(json.dumps(draw(st.sampled_from(SEEDS))))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        path = draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "duplicate", "swap"]))
        if action == "replace":
            parent[key] = draw(json_values)
        elif action == "delete":
            del parent[key]
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(key, json.loads(json.dumps(parent[key])))
        elif action == "swap" and isinstance(parent, dict) and len(parent) > 1:
            other = draw(st.sampled_from(sorted(k for k in parent if k != key)))
            parent[key], parent[other] = parent[other], parent[key]
    text = json.dumps(doc)
    if draw(st.booleans()):    # a key written twice, as a hand edit or a merge might leave it
        text = text.replace('"id": ', '"id": "twice", "id": ', 1)
    return text


def _survives(graph):
    """What the editor and the CLI do with a loaded design must not raise either."""
    analyzer = Analyzer(graph)
    analyzer.problems()
    format_table(summarize(graph))
    text = fileformat.dumps(graph)
    assert fileformat.dumps(fileformat.loads(text)) == text
    if not analyzer.errors() and analyzer.totals.params < 200_000:
        try:
            compile_graph(graph)
        except DesignError:
            pass               # e.g. no Input: a sentence, not a crash


@settings(FAST, max_examples=100)
@given(text=mutated_texts())
def test_mutated_files_load_or_fail_with_a_design_file_error(text):
    try:
        graph = fileformat.loads(text)
    except DesignFileError as error:
        assert str(error) and "\n" not in str(error)
        return
    _survives(graph)


@settings(FAST, max_examples=60)
@given(seed=st.sampled_from([json.dumps(d, indent=1) for d in SEEDS]), cut=st.integers(0, 10**6),
       junk=st.binary(max_size=8), keep_tail=st.booleans())
def test_damaged_bytes_load_or_fail_with_a_design_file_error(seed, cut, junk, keep_tail):
    data = seed.encode("utf-8")
    cut %= len(data) + 1
    data = data[:cut] + junk + (data[cut:] if keep_tail else b"")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.json"
        path.write_bytes(data)
        try:
            graph = fileformat.load(path)
        except DesignFileError as error:
            assert str(error).startswith(f"{path.name}: ") or str(error).startswith(str(path))
            return
    _survives(graph)
