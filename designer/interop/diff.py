"""Compare two designs (`designer diff A B [--json]`): per stage and per node shapes, parameters,
multiply-adds and receptive fields; nodes added, removed and changed; totals and ratios.

Nodes match by name (the id), which is how presets and imports name them after the reference
implementations' module paths: resnet50's `layer2.0` and resnext50_32x4d's `layer2.0` are the
same position in the two networks. A stage is the first part of a name (`layer2`), or the node
itself when its name has no dot.
"""

from designer.core.memory import format_bytes
from designer.core.params import format_shape
from designer.core.summary import human, summarize


def _stage(node_id):
    return node_id.split(".", 1)[0]


def _ratio(a, b):
    return round(b / a, 4) if a else None


def _node_view(graph, record):
    node = graph.nodes[record["id"]]
    return {
        "type": record["type"],
        "params": {p.name: p.to_json(node.params[p.name]) for p in node.spec.params},
        "output_shape": record["output_shape"],
        "param_count": record["params"],
        "macs": record["macs"],
        "receptive_field": record["receptive_field"],
    }


def diff_designs(graph_a, graph_b):
    """The comparison as plain data (the `designer diff --json` object)."""
    sum_a, sum_b = summarize(graph_a), summarize(graph_b)
    nodes_a = {r["id"]: _node_view(graph_a, r) for r in sum_a["nodes"]}
    nodes_b = {r["id"]: _node_view(graph_b, r) for r in sum_b["nodes"]}
    order = [r["id"] for r in sum_a["nodes"]] + [r["id"] for r in sum_b["nodes"]
                                                 if r["id"] not in nodes_a]
    nodes, added, removed, changed = [], [], [], []
    for nid in order:
        a, b = nodes_a.get(nid), nodes_b.get(nid)
        if a is None:
            status = "added"
            added.append(nid)
        elif b is None:
            status = "removed"
            removed.append(nid)
        else:
            differences = {}
            if a["type"] != b["type"]:
                differences["type"] = [a["type"], b["type"]]
                differences["params"] = [a["params"], b["params"]]
            else:
                for name in a["params"]:
                    if a["params"][name] != b["params"][name]:
                        differences[f"params.{name}"] = [a["params"][name], b["params"][name]]
            for field in ("output_shape", "param_count", "macs", "receptive_field"):
                if a[field] != b[field]:
                    differences[field] = [a[field], b[field]]
            status = "changed" if differences else "same"
            if differences:
                changed.append({"id": nid, "changes": differences})
        nodes.append({"id": nid, "status": status, "stage": _stage(nid), "a": a, "b": b})
    stages = {}
    for entry in nodes:
        stage = stages.setdefault(entry["stage"], {"stage": entry["stage"], "params_a": 0,
                                                   "params_b": 0, "macs_a": 0, "macs_b": 0,
                                                   "output_shape_a": None, "output_shape_b": None})
        for side in ("a", "b"):
            if entry[side]:
                stage[f"params_{side}"] += entry[side]["param_count"]
                stage[f"macs_{side}"] += entry[side]["macs"]
                stage[f"output_shape_{side}"] = entry[side]["output_shape"]
    for stage in stages.values():
        stage["params_ratio"] = _ratio(stage["params_a"], stage["params_b"])
        stage["macs_ratio"] = _ratio(stage["macs_a"], stage["macs_b"])

    def totals(summary):
        return {"params": summary["total_params"], "macs": summary["total_macs"],
                "activation_memory_bytes": summary["activation_memory_bytes"],
                "nodes": len(summary["nodes"]), "errors": summary["errors"]}

    ta, tb = totals(sum_a), totals(sum_b)
    return {
        "a": sum_a["name"], "b": sum_b["name"],
        "totals": {"a": ta, "b": tb,
                   "ratio": {k: _ratio(ta[k], tb[k]) for k in ("params", "macs",
                                                              "activation_memory_bytes")}},
        "stages": list(stages.values()),
        "added": added, "removed": removed, "changed": changed,
        "nodes": nodes,
    }


def _short(value):
    if isinstance(value, dict):
        return ", ".join(f"{k}={_short(v)}" for k, v in value.items())
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return format_shape(value)
    if isinstance(value, int) and abs(value) >= 10000:
        return human(value)
    return str(value)


def format_diff(result):
    """A readable report: totals, stages, then each added, removed and changed node."""
    ta, tb, ratio = result["totals"]["a"], result["totals"]["b"], result["totals"]["ratio"]
    lines = [f"A: {result['a']}    B: {result['b']}", ""]
    for key, label in (("params", "Parameters"), ("macs", "Multiply-adds")):
        r = f"×{ratio[key]:.3f}" if ratio[key] is not None else "—"
        lines.append(f"{label:<17} {ta[key]:>16,}  {tb[key]:>16,}  {r}")
    key = "activation_memory_bytes"
    r = f"×{ratio[key]:.3f}" if ratio[key] is not None else "—"
    lines.append(f"{'Activation memory':<17} {format_bytes(ta[key]):>16}  "
                 f"{format_bytes(tb[key]):>16}  {r}")
    lines += ["", f"{'Stage':<20} {'params A':>10} {'params B':>10} {'MACs A':>10} {'MACs B':>10}  "
                  f"output A → B"]
    for s in result["stages"]:
        shapes = (f"{format_shape(s['output_shape_a']) if s['output_shape_a'] else '—'} → "
                  f"{format_shape(s['output_shape_b']) if s['output_shape_b'] else '—'}")
        lines.append(f"{s['stage']:<20} {human(s['params_a']):>10} {human(s['params_b']):>10} "
                     f"{human(s['macs_a']):>10} {human(s['macs_b']):>10}  {shapes}")
    lines.append("")
    lines.append(f"{len(result['added'])} added, {len(result['removed'])} removed, "
                 f"{len(result['changed'])} changed")
    for nid in result["added"]:
        lines.append(f"  + {nid}")
    for nid in result["removed"]:
        lines.append(f"  - {nid}")
    for entry in result["changed"]:
        parts = [f"{k} {_short(a)} → {_short(b)}" for k, (a, b) in entry["changes"].items()]
        lines.append(f"  ~ {entry['id']}: " + "; ".join(parts))
    return "\n".join(lines)
