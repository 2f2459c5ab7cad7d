"""A design's search space: the node parameters a structure search may vary, kept with the design.

`graph.search` maps a node id to {parameter: Searchable}: explicit choices (a kernel of 3, 5 or
7) or a range low..high by step (out_channels 8..32 by 8), and the pseudo-parameter `type`: the
node's block type among others that take the same inputs (BasicBlock / Bottleneck /
InvertedResidual / GhostBottleneck). `designer sweep --space design` samples it (one Optuna
parameter `NODE.PARAM` each); a sample that makes the design invalid is recorded with its sentence
and never trained. The file format keeps it under "search" (version 2; designer.core.fileformat).
Entries of nodes that were deleted stay in the dict (so undoing the delete brings them back) and
are left out of files and samples.
"""

from dataclasses import dataclass
import json
import math

from .commands import Command
from .errors import DesignError, ParamError
from .registry import REGISTRY, Role, get_spec

TYPE = "type"     # the pseudo-parameter: the node's block type


class SpaceError(DesignError):
    """A searchable parameter that cannot be: the sentence says which and why."""


@dataclass(frozen=True)
class Searchable:
    """Values one parameter may take: `choices`, or `low`..`high` by `step` (inclusive)."""
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    step: float | None = None

    @property
    def is_range(self):
        return not self.choices

    def values(self):
        """Every value, in order (a range's from low to high)."""
        if self.choices:
            return list(self.choices)
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        integral = all(isinstance(v, int) for v in (self.low, self.step))
        return [int(self.low + i * self.step) if integral else self.low + i * self.step
                for i in range(count)]

    def to_json(self):
        if self.choices:
            return {"choices": [list(v) if isinstance(v, tuple) else v for v in self.choices]}
        return {"low": self.low, "high": self.high, "step": self.step}

    def text(self):
        """'3, 5, 7' or '8:32:8', as `parse` reads it."""
        if self.choices:
            return ", ".join(json.dumps(list(v) if isinstance(v, tuple) else v).strip('"')
                             for v in self.choices)
        return f"{self.low:g}:{self.high:g}:{self.step:g}"


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def from_json(raw, where="search"):
    """A Searchable from its JSON form, or SpaceError naming `where`."""
    if not isinstance(raw, dict):
        raise SpaceError(f"{where}: expected {{\"choices\": [...]}} or {{\"low\", \"high\", "
                         "\"step\"}")
    if "choices" in raw:
        choices = raw["choices"]
        if not isinstance(choices, list) or not choices:
            raise SpaceError(f"{where}.choices: expected a list of at least one value")
        return Searchable(tuple(tuple(v) if isinstance(v, list) else v for v in choices))
    low, high, step = raw.get("low"), raw.get("high"), raw.get("step", 1)
    if not all(_number(v) for v in (low, high, step)):
        raise SpaceError(f"{where}: a range needs numbers low, high and step")
    if step <= 0 or high < low:
        raise SpaceError(f"{where}: a range needs high ≥ low and step > 0")
    return Searchable(low=low, high=high, step=step)


def parse(text):
    """'3,5,7' (choices) or '8:32:8' (low:high:step) -> Searchable; SpaceError otherwise."""
    text = text.strip()
    if ":" in text and "," not in text:
        parts = text.split(":")
        try:
            numbers = [json.loads(p) for p in parts]
        except ValueError:
            numbers = None
        if len(parts) not in (2, 3) or numbers is None:
            raise SpaceError(f"{text!r}: a range is LOW:HIGH or LOW:HIGH:STEP, numbers")
        return from_json(dict(zip(("low", "high", "step"), numbers)), repr(text))
    values = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise SpaceError(f"{text!r}: expected values separated by commas, or LOW:HIGH:STEP")
        try:
            values.append(json.loads(part))
        except ValueError:
            values.append(part)
    return from_json({"choices": values}, repr(text))


def compatible_types(node):
    """Block types that may replace `node`'s: catalogue blocks with its input and output ports."""
    ports = (tuple(node.input_ports()), tuple(node.output_ports()))
    found = []
    for spec in REGISTRY.specs():
        if not spec.is_block or spec.role is Role.GROUP:
            continue
        defaults = spec.defaults()
        if (tuple(spec.input_ports(defaults)), tuple(spec.output_ports(defaults))) == ports:
            found.append(spec.type)
    return found


def checked(graph, node_id, param, searchable):
    """`searchable` with each value coerced by the parameter (choices of `type`: block types
    with the node's ports), or SpaceError with the sentence."""
    node = graph.node(node_id)
    where = f"{node_id}.{param}"
    if param == TYPE:
        if searchable.is_range:
            raise SpaceError(f"{where}: a block type is chosen from a list, not a range")
        allowed = compatible_types(node) if node.is_block else []
        for value in searchable.choices:
            if value not in allowed:
                listed = ", ".join(allowed[:12]) or "none: only a catalogue block's type varies"
                raise SpaceError(f"{where}: {value!r} cannot replace a {node.type} (blocks with "
                                 f"its ports: {listed})")
        return searchable
    schema = node.spec.param_map
    if param not in schema:
        raise SpaceError(f"{where}: {node.type} has no parameter {param!r}")
    spec = schema[param]
    if searchable.is_range:
        if spec.kind not in ("int", "float", "count"):
            raise SpaceError(f"{where}: a range needs a number parameter; {param} is a "
                             f"{spec.kind} (give choices)")
        for value in (searchable.low, searchable.high):
            _coerce(spec, value, where)
        return searchable
    return Searchable(tuple(_coerce(spec, v, where) for v in searchable.choices))


def _coerce(spec, value, where):
    try:
        return spec.coerce(value)
    except ParamError as error:
        raise SpaceError(f"{where}: {error}") from None


def entries(graph):
    """[(node id, parameter, Searchable)] of the nodes and parameters that still exist."""
    found = []
    for node_id, params in graph.search.items():
        node = graph.nodes.get(node_id)
        if node is None:
            continue
        for param, searchable in params.items():
            if param == TYPE or param in node.spec.param_map:
                found.append((node_id, param, searchable))
    return found


def replace_type(graph, node_id, type_name):
    """Make `node_id` a `type_name` block in place: the same id, position and connections (by
    port name), the parameters both types have carried over."""
    node = graph.node(node_id)
    if type_name == node.type:
        return
    spec = get_spec(type_name)
    carried = {k: v for k, v in node.params.items() if k in spec.param_map}
    edges = graph.edges_of(node_id)
    search = graph.search.get(node_id)
    with graph.batch():
        graph.remove_node(node_id)
        graph.add_node(type_name, node_id, carried, node.pos)
        for e in edges:
            graph.connect(e.src, e.src_port, e.dst, e.dst_port)
    if search is not None:
        graph.search[node_id] = search


class SetSearchable(Command):
    """Mark (or with None unmark) a node's parameter as searchable; undo restores the earlier."""

    def __init__(self, graph, node_id, param, searchable):
        super().__init__(graph)
        self.node_id, self.param = node_id, param
        self.searchable = checked(graph, node_id, param, searchable) if searchable else None
        self.before = graph.search.get(node_id, {}).get(param)
        self.text = (f"Search {node_id}.{param}" if searchable else
                     f"Stop searching {node_id}.{param}")

    def _redo(self):
        self.graph.set_searchable(self.node_id, self.param, self.searchable)

    def _undo(self):
        self.graph.set_searchable(self.node_id, self.param, self.before)
