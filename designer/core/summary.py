"""The per-layer table and totals of a design, like torchinfo or MATLAB's analyzeNetwork."""

from .infer import Analyzer, graph_problems
from .params import format_shape
from .registry import Role


def summarize(graph):
    """The summary as plain data (the `designer summary --json` object)."""
    analyzer = Analyzer(graph)
    analyzer.detach()
    totals = analyzer.totals
    inputs = graph.nodes_of_role(Role.INPUT)
    nodes = []
    for nid in sorted(graph.nodes, key=analyzer._index.get):
        node, result = graph.nodes[nid], analyzer.results[nid]
        record = {
            "id": nid,
            "type": node.type,
            "output_shape": list(result.output_shape) if result.output_shape else None,
            "params": result.params,
            "macs": result.macs,
            "memory_bytes": result.memory,
            "receptive_field": list(result.receptive_field) if result.receptive_field else None,
            "error": result.message or None,
            "reaches_output": nid not in analyzer.unused,
        }
        if len(result.outputs) > 1:
            record["output_shapes"] = {port: list(s.shape) for port, s in result.outputs.items()}
        nodes.append(record)
    frozen = frozen_params(graph, analyzer.results, analyzer.unused)
    return {
        "name": graph.name,
        "input_shape": list(inputs[0].params["shape"]) if inputs else None,
        "total_params": totals.params,
        "trainable_params": totals.params - frozen,
        "frozen_params": frozen,
        "total_macs": totals.macs,
        "train_only_macs": totals.train_only_macs,
        "activation_memory_bytes": totals.memory,
        "errors": totals.errors,
        "unused_nodes": [n["id"] for n in nodes if not n["reaches_output"]],
        "unused_params": sum(n["params"] for n in nodes if not n["reaches_output"]),
        "problems": graph_problems(graph),
        "nodes": nodes,
    }


def frozen_params(graph, results, unused=()):
    """The parameters of the nodes marked frozen (that reach an output, as the totals count)."""
    return sum(results[nid].params for nid in graph.frozen_nodes()
               if nid in results and nid not in unused)


def human(n):
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def format_table(summary):
    header = ("Layer", "Type", "Output shape", "Params", "MACs", "RF")
    rows = []
    for n in summary["nodes"]:
        shape = format_shape(n["output_shape"]) if n["output_shape"] else "—"
        rf = format_shape(n["receptive_field"]) if n["receptive_field"] else ""
        rows.append((n["id"], n["type"], shape, f"{n['params']:,}", human(n["macs"]), rf))
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    def line(row):
        return "  ".join(str(v).rjust(w) if i in (3, 4) else str(v).ljust(w)
                         for i, (v, w) in enumerate(zip(row, widths))).rstrip()
    out = [line(header), "-" * len(line(header))]
    for n, row in zip(summary["nodes"], rows):
        out.append(line(row))
        if n["error"]:
            out.append(f"    ! {n['error']}")
        if not n["reaches_output"]:
            out.append("    · reaches no output: not in the compiled model or the totals")
    out.append("-" * len(line(header)))
    out.append(f"{summary['name']}: input {format_shape(summary['input_shape'])}")
    out.append(f"Total parameters: {summary['total_params']:,}")
    if summary["frozen_params"]:
        out.append(f"Trainable:        {summary['trainable_params']:,} "
                   f"({summary['frozen_params']:,} frozen)")
    out.append(f"Multiply-adds:    {summary['total_macs']:,} ({human(summary['total_macs'])})"
               + (" in eval mode" if summary["train_only_macs"] else ""))
    if summary["train_only_macs"]:
        out.append(f"Training only:    {summary['train_only_macs']:,} "
                   f"({human(summary['train_only_macs'])}) in auxiliary heads eval mode skips")
    out.append(f"Activations:      {summary['activation_memory_bytes'] / 2**20:.2f} MiB per sample (fp32)")
    if summary["unused_nodes"]:
        out.append(f"Not counted:      {len(summary['unused_nodes'])} layer(s) reach no output "
                   f"({summary['unused_params']:,} parameters)")
    if summary["errors"]:
        out.append(f"Errors:           {summary['errors']} node(s) in error")
    for problem in summary["problems"]:
        out.append(f"Problem:          {problem}")
    return "\n".join(out)
