"""Import models from PyTorch and ONNX as editable designs, and compare two designs (Qt-free)."""

from designer.core.errors import DesignError
from designer.core.graph import unique_id


class UnsupportedOpsError(DesignError):
    """The model uses operations the catalogue cannot hold. `items` lists (op, where) pairs: the
    operation and the module path (or ONNX node name) where it occurs."""

    def __init__(self, items):
        self.items = list(items)
        listed = "; ".join(f"{op} at {where or '(top level)'}" for op, where in self.items[:20])
        more = f" (and {len(self.items) - 20} more)" if len(self.items) > 20 else ""
        super().__init__(f"the model uses {len(self.items)} operation(s) the catalogue has no "
                         f"layer for: {listed}{more}")

    def report(self):
        """One line per unsupported op, for the CLI."""
        return "\n".join(f"  {op:<40} at {where or '(top level)'}" for op, where in self.items)


class ModelLoadError(DesignError):
    """A model source that cannot be loaded, run or traced."""


class NodeNames:
    """The ids an importer gives the nodes of one graph: each free, and none nesting inside
    another (`a.b` beside a node `a`, which the compiled module could not hold). Each is found
    in time that grows with the name's depth, not with the graph: the importers checked every
    id with `startswith`, which made a 20,000-node import take minutes."""

    def __init__(self, graph):
        self.graph = graph
        self.prefixes = set()     # every dotted prefix of a given id ("a" and "a.b" of "a.b.c")
        self.counters = {}        # unique_id's next number per base name

    def __contains__(self, node_id):
        """Taken: a node's id, or the prefix of one."""
        return node_id in self.graph.nodes or node_id in self.prefixes

    def free(self, wanted):
        """`wanted` when it is free and nests in nothing, else a free flat id made from it."""
        ancestors = _prefixes(wanted)
        if wanted in self or any(a in self.graph.nodes for a in ancestors):
            wanted = unique_id(wanted.replace(".", "_"), self, self.counters)
            ancestors = []
        self.prefixes.update(ancestors)
        return wanted


def _prefixes(node_id):
    parts = node_id.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]
