"""Layered top-to-bottom DAG layout (Sugiyama-style, kept simple and fast).

Layers come from the longest path from a source, so a residual shortcut spans layers instead of
squeezing its branch; within a layer, nodes are ordered by the barycentre of their parents, so the
branches of an Inception or residual block stay side by side.
"""

NODE_WIDTH = 190.0
NODE_HEIGHT = 74.0
H_GAP = 40.0
V_GAP = 46.0


def layered_positions(graph):
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
    return positions


def layered_layout(graph):
    """Move every node of `graph` to its layered position (one batch of moves)."""
    for nid, pos in layered_positions(graph).items():
        graph.move(nid, pos)
