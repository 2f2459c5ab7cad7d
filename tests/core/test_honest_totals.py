"""Honest totals (issue 10, fix 9): layers that reach no Output are flagged and left out of the
totals, as the compiled model leaves them out; a design without an Output node is a problem of
the design; `designer summary` exits non-zero when something is in error."""

import json

from designer.cli import main
from designer.core import fileformat
from designer.core.builder import GraphBuilder
from designer.core.compile import compile_graph
from designer.core.grouping import group_command
from designer.core.infer import Analyzer
from designer.core.summary import format_table, summarize


def with_dead_branch():
    b = GraphBuilder("dead branch")
    x = b.input((3, 8, 8))
    y = b.add("Conv2d", "used", x, out_channels=4)
    b.add("Conv2d", "dangling", x, out_channels=8)       # feeds nothing
    b.output(y)
    return b.finish(layout=False)


def _model_params(graph):
    return sum(p.numel() for p in compile_graph(graph).parameters())


def test_layers_reaching_no_output_are_flagged_and_left_out_of_totals():
    graph = with_dead_branch()
    analyzer = Analyzer(graph)
    assert analyzer.unused == {"dangling"}
    assert analyzer.totals.params == _model_params(graph) == 3 * 4 * 9 + 4
    assert analyzer.totals.unused == 1
    summary = summarize(graph)
    flags = {n["id"]: n["reaches_output"] for n in summary["nodes"]}
    assert flags == {"input": True, "used": True, "dangling": False, "output": True}
    assert summary["total_params"] == _model_params(graph)
    assert summary["unused_nodes"] == ["dangling"]
    assert summary["unused_params"] == 3 * 8 * 9 + 8
    table = format_table(summary)
    assert "reaches no output" in table and "1 layer(s) reach no output (224 parameters)" in table


def test_connecting_the_branch_counts_it_again():
    graph = with_dead_branch()
    analyzer = Analyzer(graph)
    graph.add_node("Output", "second", {"name": "second", "role": "auxiliary"})
    graph.connect("dangling", "out", "second", "in")
    assert analyzer.unused == set()
    assert analyzer.totals.params == _model_params(graph)


def test_a_dead_branch_inside_a_group_is_not_counted():
    b = GraphBuilder("group with a dead branch")
    x = b.input((3, 8, 8))
    y = b.add("Conv2d", "a", x, out_channels=4)
    b.add("Conv2d", "b", y, out_channels=16)               # dead once grouped with a
    y = b.add("ReLU", "c", y)
    b.output(y)
    graph = b.finish(layout=False)
    group_command(graph, ["a", "b", "c"], "blk").redo()
    assert Analyzer(graph).totals.params == _model_params(graph) == 3 * 4 * 9 + 4


def test_a_design_without_output_is_a_problem_of_the_design():
    b = GraphBuilder("no output")
    b.add("ReLU", "relu", b.input((3, 8, 8)))
    graph = b.finish(layout=False)
    analyzer = Analyzer(graph)
    assert analyzer.errors() == []
    problems = analyzer.problems()
    assert [nid for nid, _ in problems] == [None]
    assert "no Output node" in problems[0][1]
    assert analyzer.unused == set()          # nothing to reach yet: counted, not flagged
    assert analyzer.totals.params == 0 and summarize(graph)["problems"] == [problems[0][1]]
    assert Analyzer(GraphBuilder("empty").finish()).problems() == []


def test_summary_exits_non_zero_when_nodes_are_in_error_or_the_design_has_problems(tmp_path, capsys):
    good = tmp_path / "good.json"
    fileformat.save(with_dead_branch(), good)
    assert main(["summary", str(good), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unused_nodes"] == ["dangling"]
    b = GraphBuilder("no output")
    b.add("ReLU", "relu", b.input((3, 8, 8)))
    no_output = tmp_path / "no_output.json"
    fileformat.save(b.finish(), no_output)
    assert main(["summary", str(no_output)]) == 1
    assert "Problem:          the design has no Output node" in capsys.readouterr().out


def test_a_layer_feeding_only_a_groups_dead_branch_is_not_counted():
    """Found by the fuzz suite: inside the group, the second input feeds a layer that reaches
    no output, so the layer outside feeding that input is pruned from the model too."""
    b = GraphBuilder("dead group input")
    x = b.input((3, 8, 8))
    side = b.add("Conv2d", "side", x, out_channels=4, kernel=2)     # feeds the group only
    y = b.add("ReLU", "relu", x)
    b.add("Conv2d", "inner_dead", side, out_channels=2, kernel=2)
    b.output(y)
    graph = b.finish(layout=False)
    group_command(graph, ["relu", "inner_dead"], "blk").redo()
    analyzer = Analyzer(graph)
    assert analyzer.unused == {"side"}
    assert analyzer.totals.params == _model_params(graph) == 0


def test_a_block_with_a_partly_used_output_counts_only_that_part():
    b = GraphBuilder("two outputs")
    x = b.input((3, 8, 8))
    kept = b.add("Conv2d", "kept", x, out_channels=4)
    dropped = b.add("Conv2d", "dropped", x, out_channels=8)
    b.output(kept)
    b.add("ReLU", "after_dropped", dropped)                         # reaches no output
    graph = b.finish(layout=False)
    group_command(graph, ["kept", "dropped"], "blk").redo()
    assert Analyzer(graph).totals.params == _model_params(graph) == 3 * 4 * 9 + 4


def test_kept_totals_and_ports_follow_every_kind_of_edit():
    """The analyzer keeps its totals (and nodes their port lists) between edits: after each
    edit, and each undo, they equal a fresh analysis of the same graph."""
    from designer.core.commands import SetParams
    b = GraphBuilder("edits")
    x = b.input((3, 8, 8))
    a = b.add("Conv2d", "a", x, out_channels=4)
    c = b.add("Conv2d", "c", x, out_channels=6)
    y = b.add("Concat", "cat", a, c)
    b.output(b.add("ReLU", "relu", y))
    graph = b.finish(layout=False)
    analyzer = Analyzer(graph)

    def check():
        fresh = Analyzer(graph)
        assert analyzer.totals == fresh.totals and analyzer.unused == fresh.unused
        assert analyzer.results == fresh.results

    check()
    first = analyzer.totals
    assert analyzer.totals is first                       # kept while nothing changes
    widen = SetParams(graph, "a", out_channels=12)
    widen.redo()
    check()
    assert analyzer.totals.params != first.params
    more_inputs = SetParams(graph, "cat", num_inputs=3)   # a new, unconnected port
    more_inputs.redo()
    assert graph.nodes["cat"].input_ports() == ["in0", "in1", "in2"]
    check()
    assert analyzer.totals.errors == 1                    # "in2 is not connected"
    graph.connect("input", "out", "cat", "in2")
    check()
    fewer_inputs = SetParams(graph, "cat", num_inputs=2)  # drops the edge into in2
    fewer_inputs.redo()
    assert graph.nodes["cat"].input_ports() == ["in0", "in1"]
    check()
    group = group_command(graph, ["a", "c"], "blk")
    group.redo()
    check()
    graph.disconnect(graph.in_edge("output", "in"))     # nothing reaches the Output
    check()
    assert analyzer.unused == set(graph.nodes) - {"output"}
    for command in (group, fewer_inputs, more_inputs, widen):
        if command is group:
            graph.connect("relu", "out", "output", "in")
        command.undo()
        check()
    assert analyzer.totals == first
