"""Versioned JSON design files.

Reading is two steps, as in Orange's readwrite: parse the JSON into plain records checking types
field by field, then resolve layer types and parameters against the registry. Any problem raises
one `DesignFileError` whose message names the field (e.g. `nodes[3].params.kernel: ...`). Files
are data only: nothing in them is executed. Saving writes a temporary file and renames it over the
target, so a crash never leaves half a design on disk.
"""

import json
import os
from pathlib import Path
import tempfile

from .errors import DesignFileError, DesignError, ParamError, PortError, UnknownLayerError
from .graph import Graph, Node, NODE_ID, validate_params
from .params import ParamValues
from .registry import Role, get_spec

FORMAT = "cnn-designer"
VERSION = 1
MIGRATIONS = {}  # version -> function(document) -> document of version + 1


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
    return {"format": FORMAT, "version": VERSION, **_body(graph)}


def dumps(graph):
    return json.dumps(to_document(graph), indent=1, ensure_ascii=False) + "\n"


def save(graph, path):
    """Atomic save: write beside the target, flush to disk, then rename over it."""
    path = Path(path)
    text = dumps(graph)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---- reading ------------------------------------------------------------------------------

def _expect(value, kind, where):
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        names = {dict: "an object", list: "a list", str: "text", int: "an integer", float: "a number"}
        raise DesignFileError(f"{where}: expected {names[kind]}, got {json.dumps(value)[:60]}")
    return value


def _parse_body(doc, where):
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
        }
        if len(record["pos"]) != 2:
            raise DesignFileError(f"{at}.pos: expected [x, y]")
        for j, v in enumerate(record["pos"]):
            _expect(v, float, f"{at}.pos[{j}]")
        if "subgraph" in raw:
            record["subgraph"] = _parse_body(_expect(raw["subgraph"], dict, f"{at}.subgraph"),
                                             f"{at}.subgraph.")
        node_records.append(record)
    edge_records = []
    for i, raw in enumerate(edges):
        at = f"{where}edges[{i}]"
        _expect(raw, dict, at)
        edge_records.append({k: _expect(raw.get(k), str, f"{at}.{k}")
                             for k in ("src", "src_port", "dst", "dst_port")} | {"where": at})
    return name, description, node_records, edge_records


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
            if spec.role is Role.GROUP and subgraph is None:
                raise DesignFileError(f"{at}.subgraph: a Group node needs its subgraph")
            # Out-of-range values load as they are; inference reports them on the node.
            node = Node(node_id, spec.type, params, tuple(float(v) for v in record["pos"]), subgraph)
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
    if doc.get("format") != FORMAT:
        raise DesignFileError(f"format: expected {FORMAT!r}, got {doc.get('format')!r}: "
                              "this is not a CNN Designer file")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise DesignFileError(f"version: expected an integer, got {version!r}")
    if version > VERSION:
        raise DesignFileError(f"version: the file is version {version}; this CNN Designer reads "
                              f"up to version {VERSION}, please update it")
    while version < VERSION:
        if version not in MIGRATIONS:
            raise DesignFileError(f"version: unknown version {version}")
        doc = MIGRATIONS[version](doc)
        version += 1
    return _resolve(_parse_body(doc, ""))


def loads(text):
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise DesignFileError(f"not valid JSON (line {error.lineno}, column {error.colno}: "
                              f"{error.msg}); the file may be truncated") from None
    return from_document(doc)


def load(path):
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DesignFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DesignFileError(f"{path}: cannot be read ({error})") from None
    try:
        return loads(text)
    except DesignFileError as error:
        raise DesignFileError(f"{path.name}: {error}") from None
