"""Versioned JSON design files.

Reading is two steps, as in Orange's readwrite: parse the JSON into plain records checking types
field by field, then resolve layer types and parameters against the registry. Any problem raises
one `DesignFileError` whose message names the field (e.g. `nodes[3].params.kernel: ...`). Files
are data only: nothing in them is executed. Saving writes a temporary file and renames it over the
target, so a crash never leaves half a design on disk.
"""

import hashlib
import json
import os
from pathlib import Path
import stat

from . import atomic, space
from .errors import DesignFileError, DesignError, ParamError, PortError, UnknownLayerError
from .graph import Graph, Node, NODE_ID, check_lr_factor
from .params import ParamValues
from .registry import Role, get_spec

FORMAT = "cnn-designer"
# 2: the search space, "search": {node id: {param: {"choices": [...]} | {"low", "high", "step"}}}
# (designer.core.space). A design without one is still written as version 1, which it is, so
# earlier versions of the app keep opening it (and the preset files stay as they are).
VERSION = 2
MIGRATIONS = {1: lambda doc: {**doc, "version": 2}}  # version -> document of version + 1


def graph_to_dict(graph):
    nodes = []
    for node in graph.nodes.values():
        spec = node.spec
        record = {
            "id": node.id,
            "type": node.type,
            "params": {p.name: p.to_json(node.params[p.name]) for p in spec.params},
            "pos": [round(node.pos[0], 2), round(node.pos[1], 2)],
        }
        # Written only when set, so files of designs that train every node stay as they were.
        if node.frozen:
            record["frozen"] = True
        if node.lr_factor != 1.0:
            record["lr_factor"] = node.lr_factor
        if node.subgraph is not None:
            record["subgraph"] = _body(node.subgraph)
        nodes.append(record)
    return nodes


def _body(graph):
    return {
        "name": graph.name,
        "description": graph.description,
        "nodes": graph_to_dict(graph),
        "edges": [{"src": e.src, "src_port": e.src_port, "dst": e.dst, "dst_port": e.dst_port}
                  for e in graph.edges],
    }


def to_document(graph):
    search = {}
    for node_id, param, searchable in space.entries(graph):
        search.setdefault(node_id, {})[param] = searchable.to_json()
    document = {"format": FORMAT, "version": VERSION if search else 1, **_body(graph)}
    if search:
        document["search"] = search
    return document


def _resolve_search(graph, raw):
    """The file's "search" into graph.search, each entry checked as the inspector checks it."""
    _expect(raw, dict, "search")
    for node_id, params in raw.items():
        if node_id not in graph.nodes:
            raise DesignFileError(f"search.{node_id}: no node named {node_id!r}")
        _expect(params, dict, f"search.{node_id}")
        for param, value in params.items():
            where = f"search.{node_id}.{param}"
            try:
                searchable = space.checked(graph, node_id, param, space.from_json(value, where))
            except DesignError as error:
                text = str(error)
                raise DesignFileError(text if text.startswith(where) else f"{where}: {text}") \
                    from None
            graph.search.setdefault(node_id, {})[param] = searchable


def dumps(graph):
    return json.dumps(to_document(graph), indent=1, ensure_ascii=False) + "\n"


def design_hash(graph):
    """A stable digest of what a design computes: each node's id, type and parameters, and each
    connection, inside groups too. Positions, the name and the description are left out, so a
    design moved around or renamed keeps its hash; a run's checkpoints fit exactly the designs
    with its hash (node ids name the weights)."""
    text = json.dumps(_content(graph), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _content(graph):
    nodes = {}
    for node in graph.nodes.values():
        record = {"type": node.type,
                  "params": {p.name: p.to_json(node.params[p.name]) for p in node.spec.params}}
        if node.subgraph is not None:
            record["subgraph"] = _content(node.subgraph)
        nodes[node.id] = record
    edges = sorted([e.src, e.src_port, e.dst, e.dst_port] for e in graph.edges)
    return {"nodes": nodes, "edges": edges}


def save(graph, path):
    """Atomic save: write beside the target, flush to disk, then rename over it."""
    atomic.write_text(path, dumps(graph))


# ---- reading ------------------------------------------------------------------------------

MAX_FILE_BYTES = 256 * 2**20   # a 250,000-node design is about 60 MiB
MAX_COORDINATE = 1e9           # canvas positions beyond this are corrupt, not a layout
MAX_NESTING = 32               # groups inside groups
INT64 = 2**63


class _NonFinite:
    """What the parser leaves for NaN/Infinity (not JSON), so the check can name its field."""

    def __init__(self, text):
        self.text = text


class _Object(dict):
    """A JSON object that remembers a key it saw twice (json keeps only the last silently)."""

    duplicate = None


def _object(pairs):
    obj = _Object()
    for key, value in pairs:
        if key in obj and obj.duplicate is None:
            obj.duplicate = key
        obj[key] = value
    return obj


def _bad_text(text):
    """A sentence when `text` holds a lone surrogate (not Unicode: cannot be saved), else None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return (f"holds {text[error.start]!r} at character {error.start}, half of a UTF-16 "
                "surrogate pair, which is not valid text")
    return None


def _check_values(doc):
    """Walk the whole document (iteratively: depth cannot overflow) and refuse what JSON or Python
    would accept but a design cannot hold: NaN/Infinity, keys given twice, lone surrogates, and
    integers beyond 64 bits. Errors name the field."""
    stack = [(doc, "document")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            if getattr(value, "duplicate", None) is not None:   # plain dicts: from_document
                raise DesignFileError(f"{where}: the key {value.duplicate!r} appears twice")
            for key, item in value.items():
                problem = _bad_text(key)
                if problem:
                    raise DesignFileError(f"{where}: a key {problem}")
                stack.append((item, key if where == "document" else f"{where}.{key}"))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(value))
        elif isinstance(value, _NonFinite):
            raise DesignFileError(f"{where}: {value.text} is not a number a design can hold")
        elif isinstance(value, str):
            problem = _bad_text(value)
            if problem:
                raise DesignFileError(f"{where}: the text {problem}")
        elif isinstance(value, int) and not isinstance(value, bool) and not -INT64 <= value < INT64:
            raise DesignFileError(f"{where}: the integer {str(value)[:20]}... is too large "
                                  f"({len(str(abs(value)))} digits)")


def _expect(value, kind, where):
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        names = {dict: "an object", list: "a list", str: "text", int: "an integer", float: "a number"}
        raise DesignFileError(f"{where}: expected {names[kind]}, got {_sample(value)}")
    return value


def _sample(value):
    try:
        return json.dumps(value)[:60]
    except (TypeError, ValueError):
        return type(value).__name__


def _parse_body(doc, where, depth=0):
    """Plain records: (name, description, [node records], [edge records])."""
    name = _expect(doc.get("name", "untitled"), str, f"{where}name")
    description = _expect(doc.get("description", ""), str, f"{where}description")
    nodes = _expect(doc.get("nodes"), list, f"{where}nodes")
    edges = _expect(doc.get("edges", []), list, f"{where}edges")
    node_records = []
    for i, raw in enumerate(nodes):
        at = f"{where}nodes[{i}]"
        _expect(raw, dict, at)
        record = {
            "id": _expect(raw.get("id"), str, f"{at}.id"),
            "type": _expect(raw.get("type"), str, f"{at}.type"),
            "params": _expect(raw.get("params", {}), dict, f"{at}.params"),
            "pos": _expect(raw.get("pos", [0, 0]), list, f"{at}.pos"),
            "subgraph": None,
            "where": at,
            "frozen": raw.get("frozen", False),
            "lr_factor": _expect(raw.get("lr_factor", 1.0), float, f"{at}.lr_factor"),
        }
        if not isinstance(record["frozen"], bool):
            raise DesignFileError(f"{at}.frozen: expected true or false, got "
                                  f"{_sample(record['frozen'])}")
        if len(record["pos"]) != 2:
            raise DesignFileError(f"{at}.pos: expected [x, y]")
        for j, v in enumerate(record["pos"]):
            _expect(v, float, f"{at}.pos[{j}]")
            if not abs(v) <= MAX_COORDINATE:
                raise DesignFileError(f"{at}.pos[{j}]: {_sample(v)[:20]} is off the canvas "
                                      f"(positions lie within ±{MAX_COORDINATE:.0e})")
        if "subgraph" in raw:
            if record["type"] != "Group":
                raise DesignFileError(f"{at}.subgraph: only a Group node holds a subgraph; "
                                      f"{record['type']!r} does not")
            if depth + 1 > MAX_NESTING:
                raise DesignFileError(f"{at}.subgraph: groups nest more than {MAX_NESTING} deep")
            record["subgraph"] = _parse_body(_expect(raw["subgraph"], dict, f"{at}.subgraph"),
                                             f"{at}.subgraph.", depth + 1)
        node_records.append(record)
    edge_records = []
    for i, raw in enumerate(edges):
        at = f"{where}edges[{i}]"
        _expect(raw, dict, at)
        edge_records.append({k: _expect(raw.get(k), str, f"{at}.{k}")
                             for k in ("src", "src_port", "dst", "dst_port")} | {"where": at})
    return name, description, node_records, edge_records


def _check_group(graph, at, label):
    """Refuse a group's inside that no network could use: an Input node (the compiled model would
    take a second input) or two ports with the same name. (A group with no Output is allowed:
    the editor makes one from a branch that feeds nothing, and it is flagged as reaching no
    output like any such layer.)"""
    for role, kind in ((Role.BLOCK_INPUT, "input"), (Role.OUTPUT, "output")):
        names = [n.params["name"] for n in graph.nodes_of_role(role)]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise DesignFileError(f"{at}.subgraph: the group {label} has two {kind} ports named "
                                  f"{twice[0]!r}")
    for node in graph.nodes_of_role(Role.INPUT):
        raise DesignFileError(f"{at}.subgraph: the group {label} contains the Input node "
                              f"{node.id!r}; a network's inputs stay outside groups (a group "
                              "takes its inputs through BlockInput nodes)")


def _resolve(parsed):
    name, description, node_records, edge_records = parsed
    graph = Graph(name, description)
    with graph.batch():
        for record in node_records:
            at = record["where"]
            node_id = record["id"]
            if not NODE_ID.match(node_id):
                raise DesignFileError(f"{at}.id: {node_id!r} is not a valid node name")
            if node_id in graph.nodes:
                raise DesignFileError(f"{at}.id: a node named {node_id!r} appears twice")
            try:
                spec = get_spec(record["type"])
            except UnknownLayerError:
                raise DesignFileError(f"{at}.type: unknown layer type {record['type']!r}") from None
            params = ParamValues(spec.defaults())
            schema = spec.param_map
            for key, value in record["params"].items():
                if key not in schema:
                    raise DesignFileError(f"{at}.params.{key}: {spec.type} has no such parameter")
                try:
                    params[key] = schema[key].coerce(value, check_range=False)
                except ParamError as error:
                    raise DesignFileError(f"{at}.params.{error}") from None
            subgraph = _resolve(record["subgraph"]) if record["subgraph"] else None
            if spec.role is Role.GROUP:
                if subgraph is None:
                    raise DesignFileError(f"{at}.subgraph: a Group node needs its subgraph")
                _check_group(subgraph, at, repr(node_id))
            # Out-of-range values load as they are; inference reports them on the node.
            node = Node(node_id, spec.type, params, tuple(float(v) for v in record["pos"]), subgraph)
            node.frozen = record["frozen"]
            try:
                node.lr_factor = check_lr_factor(record["lr_factor"], node_id)
            except ParamError as error:
                raise DesignFileError(f"{at}.lr_factor: {error}") from None
            graph.nodes[node_id] = node
            graph.node_added.emit(node)
        for record in edge_records:
            at = record["where"]
            for end in ("src", "dst"):
                if record[end] not in graph.nodes:
                    raise DesignFileError(f"{at}.{end}: no node named {record[end]!r}")
            try:
                graph.connect(record["src"], record["src_port"], record["dst"], record["dst_port"])
            except (PortError, DesignError) as error:
                raise DesignFileError(f"{at}: {error}") from None
        graph._batch.dirty |= set(graph.nodes)
    graph.version = 0
    return graph


def from_document(doc):
    _expect(doc, dict, "document")
    _check_values(doc)
    if doc.get("format") != FORMAT:
        raise DesignFileError(f"format: expected {FORMAT!r}, got {_sample(doc.get('format'))}: "
                              "this is not a CNN Designer file")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise DesignFileError(f"version: expected an integer, got {_sample(version)}")
    if version > VERSION:
        raise DesignFileError(f"version: the file is version {version}; this CNN Designer reads "
                              f"up to version {VERSION}, please update it")
    while version < VERSION:
        if version not in MIGRATIONS:
            raise DesignFileError(f"version: unknown version {version}")
        doc = MIGRATIONS[version](doc)
        version += 1
    graph = _resolve(_parse_body(doc, ""))
    _resolve_search(graph, doc.get("search", {}))
    return graph


def loads(text):
    try:
        doc = json.loads(text, object_pairs_hook=_object, parse_constant=_NonFinite)
    except json.JSONDecodeError as error:
        raise DesignFileError(f"not valid JSON (line {error.lineno}, column {error.colno}: "
                              f"{error.msg}); the file may be truncated") from None
    except RecursionError:
        raise DesignFileError("not a design: its lists and objects nest too deeply to read") from None
    return from_document(doc)


def read_text(path, limit=None):
    """The text of a regular file of at most `limit` bytes, else DesignFileError. Anything else
    (a folder, a named pipe, a device such as /dev/zero) is refused before a byte is read, so it
    can neither block nor fill memory."""
    limit = MAX_FILE_BYTES if limit is None else limit
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DesignFileError(f"{path}: no such file") from None
    except OSError as error:
        raise DesignFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    if not stat.S_ISREG(info.st_mode):
        raise DesignFileError(f"{path}: not a regular file ({_file_kind(info.st_mode)}); "
                              "open a design saved as a .json file")
    if info.st_size > limit:
        raise DesignFileError(f"{path}: {info.st_size / 2**20:,.0f} MiB is larger than the "
                              f"{limit / 2**20:,.0f} MiB a design file may be")
    try:
        # O_NONBLOCK: had the path become a pipe since the check, opening must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise DesignFileError(f"{path}: not a regular file")
            data = handle.read(limit + 1)
    except OSError as error:
        raise DesignFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    if len(data) > limit:
        raise DesignFileError(f"{path}: larger than the {limit / 2**20:,.0f} MiB a design file may be")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DesignFileError(f"{path}: not UTF-8 text (byte {error.start}); a design file is "
                              "JSON text") from None


def _file_kind(mode):
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a plain file"


def load(path):
    path = Path(path)
    text = read_text(path)
    atomic.remove_stale_temps(path.parent)  # leftovers of saves that were killed
    try:
        return loads(text)
    except DesignFileError as error:
        raise DesignFileError(f"{path.name}: {error}") from None
