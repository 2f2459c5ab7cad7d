"""Layered top-to-bottom DAG layout (Sugiyama-style, kept simple and fast).

Layers come from the longest path from a source, so a residual shortcut spans layers instead of
squeezing its branch; within a layer, nodes are ordered by the barycentre of their parents, so the
branches of an Inception or residual block stay side by side. Given the aspect ratio of the window,
a long network wraps into side-by-side columns, cut only where the network narrows to one node
and no shortcut crosses the cut (so every column reads top to bottom on its own).
"""

import heapq
import math

NODE_WIDTH = 190.0
NODE_HEIGHT = 74.0
H_GAP = 40.0
V_GAP = 46.0
COLUMN_GAP = 140.0
MIN_WRAP_ROWS = 12


def layered_positions(graph, aspect=None):
    """Node id -> (x, y). With `aspect` (width / height of the space to fill), a long network
    wraps into columns whose overall shape comes close to it."""
    order, rest = graph.topological_order()
    layer = {}
    for nid in order + rest:
        parents = [p for p in graph.predecessors(nid) if p in layer]
        layer[nid] = 1 + max((layer[p] for p in parents), default=-1)
    rows = {}
    for nid in order + rest:
        rows.setdefault(layer[nid], []).append(nid)
    slot = {}
    positions = {}
    for depth in sorted(rows):
        row = rows[depth]
        if depth > 0:
            def barycentre(nid):
                xs = [slot[p] for p in graph.predecessors(nid) if p in slot]
                return sum(xs) / len(xs) if xs else 0.0
            row.sort(key=barycentre)
            wanted = [barycentre(nid) for nid in row]
        else:
            wanted = [float(i) for i in range(len(row))]
        # Place each node near its parents' centre without overlapping the previous one.
        placed = []
        for w in wanted:
            x = w if not placed else max(w, placed[-1] + 1.0)
            placed.append(x)
        shift = (sum(placed) - sum(wanted)) / len(placed) if placed else 0.0
        for nid, x in zip(row, placed):
            slot[nid] = x - shift
            positions[nid] = (slot[nid] * (NODE_WIDTH + H_GAP), depth * (NODE_HEIGHT + V_GAP))
    if aspect:
        positions = _wrapped(graph, positions, layer, rows, aspect)
    return positions


def _wrapped(graph, positions, layer, rows, aspect):
    depth_count = len(rows)
    if depth_count < MIN_WRAP_ROWS:
        return positions
    xs = [x for x, _ in positions.values()]
    width = max(xs) - min(xs) + NODE_WIDTH + COLUMN_GAP
    height = depth_count * (NODE_HEIGHT + V_GAP)
    columns = max(1, round(math.sqrt(height * aspect / width)))
    if columns < 2:
        return positions
    # A cut after depth d is clean when every edge crossing it goes from d to d + 1 and both
    # rows hold one node: the column ends on one node and the next starts from its successor.
    reach = {}
    for edge in graph.edges:
        top, bottom = layer[edge.src], layer[edge.dst]
        for d in range(top, bottom):
            reach[d] = max(reach.get(d, 0), bottom - top)
    clean = [d for d in range(depth_count - 1)
             if reach.get(d, 1) == 1 and len(rows[d]) == 1 and len(rows[d + 1]) == 1]
    if not clean:
        return positions
    per_column = depth_count / columns
    cuts = []
    for k in range(1, columns):
        want = k * per_column
        best = min(clean, key=lambda d: abs(d + 1 - want))
        if abs(best + 1 - want) <= per_column / 2 and (not cuts or best > cuts[-1]):
            cuts.append(best)
    starts = [0] + [d + 1 for d in cuts]
    left = min(xs)
    column_of = {}
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else depth_count
        for depth in range(start, end):
            column_of[depth] = (index, start)
    moved = {}
    for nid, (x, y) in positions.items():
        index, start = column_of[layer[nid]]
        moved[nid] = (x - left + index * width, (layer[nid] - start) * (NODE_HEIGHT + V_GAP))
    return moved


def layered_layout(graph):
    """Move every node of `graph` to its layered position (one batch of moves)."""
    for nid, pos in layered_positions(graph).items():
        graph.move(nid, pos)


_REACH = (NODE_WIDTH + H_GAP / 2, NODE_HEIGHT + V_GAP / 2)


def _clash(a, b):
    """Two nodes (top-left corners) closer than half the layout's gaps: one is in the other's
    way. Neighbours laid out by `layered_positions` never clash."""
    return abs(a[0] - b[0]) < _REACH[0] and abs(a[1] - b[1]) < _REACH[1]


def make_room(positions, placed, fixed=True):
    """The moves that clear `placed` (node id -> (x, y): nodes added or moved there) of the
    nodes in `positions` (node id -> (x, y), every node of the design) without moving any node
    that need not move: a node in the way moves down below the one it clashes with, and in turn
    so does a node in the way of one moved, so a column beside keeps its place and a chain below
    shifts only as far as it must. `fixed`: the placed nodes stay where they are; otherwise a
    placed node lower than one it clashes with moves below it instead (a layer dropped onto a
    wire settles below the layer above it and pushes the ones below).

    Returns {node id: (x, y)} for every node that moves, placed ones included."""
    pos = {nid: (float(x), float(y)) for nid, (x, y) in positions.items()}
    pos.update((nid, (float(x), float(y))) for nid, (x, y) in placed.items())
    stays = set(placed) if fixed else set()
    start = dict(pos)
    cells = {}      # nodes by grid cell one clash distance wide: a clash is with a cell around

    def cell(nid):
        x, y = pos[nid]
        return int(x // _REACH[0]), int(y // _REACH[1])

    for nid in pos:
        cells.setdefault(cell(nid), set()).add(nid)

    def near(nid):
        cx, cy = cell(nid)
        return [other for dx in (-1, 0, 1) for dy in (-1, 0, 1)
                for other in cells.get((cx + dx, cy + dy), ())]

    def move(nid, y):
        cells[cell(nid)].discard(nid)
        pos[nid] = (pos[nid][0], y)
        cells.setdefault(cell(nid), set()).add(nid)

    def in_way(a):
        return [b for b in sorted(near(a)) if b != a and _clash(pos[a], pos[b])
                and not (a in stays and b in stays)]

    queue = [(pos[nid][1], nid) for nid in placed]   # nodes placed or moved: only they push
    heapq.heapify(queue)
    budget = 20 * len(pos) + 100                      # every move is down: a guard, not a limit
    while queue and budget:
        y, a = heapq.heappop(queue)
        if y != pos[a][1]:
            continue        # moved again since: it is in the queue at its new place
        while a not in stays and budget:   # first below what it must stay below, then push
            above = [b for b in in_way(a) if b in stays or pos[b][1] < pos[a][1]]
            if not above:
                break
            move(a, max(pos[b][1] for b in above) + NODE_HEIGHT + V_GAP)
            budget -= 1
        for b in in_way(a):
            move(b, pos[a][1] + NODE_HEIGHT + V_GAP)
            heapq.heappush(queue, (pos[b][1], b))
            budget -= 1
    return {nid: p for nid, p in pos.items() if p != start[nid] or nid in placed}
