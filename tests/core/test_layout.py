"""Making room for placed nodes (designer.core.layout.make_room): only the nodes in the way move,
down, and in turn the ones in theirs."""

from designer.core.layout import (
    H_GAP,
    NODE_HEIGHT,
    NODE_WIDTH,
    V_GAP,
    _clash,
    make_room,
)

ROW = NODE_HEIGHT + V_GAP
COLUMN = NODE_WIDTH + 140


def _column(name, x, rows):
    return {f"{name}{i}": (x, i * ROW) for i in range(rows)}


def test_a_chain_below_shifts_and_a_column_beside_keeps_its_place():
    positions = {**_column("a", 0, 5), **_column("b", COLUMN, 5)}
    moves = make_room(positions, {"new": (0, ROW)})          # onto a1, fixed there
    assert moves.pop("new") == (0, ROW)
    assert moves == {f"a{i}": (0, (i + 1) * ROW) for i in range(1, 5)}


def test_a_placed_node_that_may_move_settles_below_the_one_above_it():
    positions = _column("a", 0, 4)
    moves = make_room(positions, {"new": (10, ROW * 1.6)}, fixed=False)  # between a1 and a2
    assert moves["new"] == (10, 2 * ROW)
    assert moves["a2"] == (0, 3 * ROW) and moves["a3"] == (0, 4 * ROW)
    assert "a0" not in moves and "a1" not in moves
    final = {**positions, **moves}
    assert not any(_clash(final[p], final[q]) for p in final for q in final if p < q)


def test_nodes_clear_of_the_placed_ones_stay_even_below_them():
    positions = {"far": (3 * NODE_WIDTH, 5 * ROW), "beside": (NODE_WIDTH + H_GAP, 0)}
    assert make_room(positions, {"x": (0, 0), "y": (0, ROW)}) == {"x": (0, 0), "y": (0, ROW)}
