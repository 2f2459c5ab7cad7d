"""Layered top-to-bottom DAG layout (Sugiyama-style, kept simple and fast).

Layers come from the longest path from a source, so a residual shortcut spans layers instead of
squeezing its branch; within a layer, nodes are ordered by the barycentre of their parents, so the
branches of an Inception or residual block stay side by side. Given the aspect ratio of the window,
a long network wraps into side-by-side columns, cut only where the network narrows to one node
and no shortcut crosses the cut (so every column reads top to bottom on its own).
"""

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
