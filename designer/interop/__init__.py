"""Import models from PyTorch and ONNX as editable designs, and compare two designs (Qt-free)."""

from designer.core.errors import DesignError


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
