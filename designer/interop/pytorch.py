"""Import a PyTorch model as an editable design (`designer import torchvision:NAME ...`).

The model is traced with torch.fx, one module level at a time. Every submodule that torchvision,
timm or a user wrote as a block of its own becomes a block node in the drawing: a catalogue block
when the catalogue has that block (a torchvision `Bottleneck` becomes our `Bottleneck`), checked
by compiling the catalogue block and comparing its tensors and outputs with the module's; otherwise
a `Group` node whose inside is the module's own traced graph. Containers (`nn.Sequential`) are
inlined, so node names are the model's module paths and most weights keep their names.

A module maps onto the catalogue layer or block that declares its class (each spec's `imports`,
in the spec's own file); a function or tensor method onto a handler here. What the catalogue
lacks is collected with its module path and reported all at once (`UnsupportedOpsError`), never
approximated. Weights are carried over by name into the design's own state_dict.

Shapes come from running the model once on an example input (on the meta device for models too
big to run, where tensors have shapes but no data).
"""

from dataclasses import dataclass, field
import contextlib
import importlib.util
import inspect
import io
import logging
from pathlib import Path
import sys

import torch
from torch import fx, nn

from designer.core.compile import compile_graph
from designer.core.errors import DesignError
from designer.core.graph import Graph, NODE_ID
from designer.core.layout import layered_layout
from designer.core.registry import REGISTRY, NotImportable, class_name, get_spec
from . import ModelLoadError, NodeNames, UnsupportedOpsError


@dataclass
class ImportResult:
    """The imported design, its weights under the design's own names, and the model's tensors
    that the design does not use (for example auxiliary heads that eval mode never runs)."""
    graph: Graph
    state_dict: dict
    unused: list = field(default_factory=list)


# ---- loading a model from a source string ---------------------------------------------------

def load_source(source, pretrained=False):
    """The nn.Module named by `torchvision:NAME`, `timm:NAME` or `module:path.py:ClassOrFactory`.
    `module:` runs the user's own file, which they chose to run; design files never do."""
    kind, _, rest = source.partition(":")
    if kind == "torchvision" and rest:
        import torchvision
        try:
            builder = torchvision.models.get_model_builder(rest)
        except ValueError:
            raise ModelLoadError(f"torchvision has no model named {rest!r}") from None
        if pretrained:   # read from the hub cache by torchvision itself; never downloaded
            _published(source)
        kwargs = {"weights": "DEFAULT" if pretrained else None}
        if rest in ("googlenet", "inception_v3") and not pretrained:
            kwargs.update(aux_logits=False, init_weights=False)
        try:
            return builder(**kwargs)
        except Exception as error:     # a download that failed, a checksum that did not match
            raise ModelLoadError(f"torchvision cannot build {rest!r}: {_first_line(error)}") \
                from None
    if kind == "timm" and rest:
        import timm
        overlay = {"file": str(_published(source))} if pretrained else None
        try:
            return timm.create_model(rest, pretrained=pretrained, pretrained_cfg_overlay=overlay)
        except Exception as error:     # an unknown name, a download that failed, a bad config
            raise ModelLoadError(f"timm cannot build {rest!r}: {_first_line(error)}") from None
    if kind == "module" and rest:
        path, _, name = rest.rpartition(":")
        if not path or not name:
            raise ModelLoadError(f"{source!r}: expected module:path/to/file.py:ClassOrFactory")
        path = Path(path)
        if not path.is_file():
            raise ModelLoadError(f"{path}: no such file")
        spec = importlib.util.spec_from_file_location(f"designer_user_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            raise ModelLoadError(f"{path}: running it failed ({type(error).__name__}: {error})") from None
        factory = getattr(module, name, None)
        if factory is None:
            raise ModelLoadError(f"{path} defines no {name!r}")
        try:
            model = factory()
        except Exception as error:
            raise ModelLoadError(f"{path}:{name}() failed ({type(error).__name__}: {error})") from None
        if not isinstance(model, nn.Module):
            raise ModelLoadError(f"{path}:{name}() returned a {type(model).__name__}, not an nn.Module")
        return model
    raise ModelLoadError(f"{source!r}: expected torchvision:NAME, timm:NAME, "
                         "module:path/to/file.py:ClassOrFactory or an .onnx file")


def _published(source):
    """The cached file of `source`'s published weights; ModelLoadError saying where to put it."""
    from designer.weights import WeightsError, published_weights
    try:
        return published_weights(source)
    except WeightsError as error:
        raise ModelLoadError(str(error)) from None


def default_input_shape(model, source=""):
    """A sensible input: the model's own configured size (timm), 299 for Inception v3, else 224."""
    cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None)
    if isinstance(cfg, dict) and cfg.get("input_size"):
        return tuple(cfg["input_size"])
    if "inception_v3" in source:
        return (3, 299, 299)
    return (3, 224, 224)


# ---- which catalogue spec stands for a module ---------------------------------------------------
# Each layer and block declares the PyTorch classes it imports, with a converter to its params
# (`LayerSpec.imports`, in the spec's file): the importer keeps no table of its own.

def _importers(module, blocks):
    """The catalogue layers (or blocks) that import this module's class, first choice first."""
    return [s for s in REGISTRY.importers(class_name(module)) if s.is_block == blocks]


def _convert_layer(specs, module, shape):
    """(type, params) of the first layer whose converter accepts `module`; else NotImportable
    with the last refusal."""
    for spec in specs:
        try:
            return spec.type, spec.imports[class_name(module)](module, shape)
        except NotImportable as why:
            refusal = why
    raise refusal


def block_key(kind, key):
    """The key inside catalogue block `kind` (None for a layer) of the source module's `key`."""
    return get_spec(kind).import_renames.get(key, key) if kind else key


_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _autowrapped():
    """Functions traced as one op rather than through their bodies."""
    functions = []
    try:
        from torchvision.models.shufflenetv2 import channel_shuffle
        functions.append(channel_shuffle)
    except ImportError:
        pass
    return tuple(functions)


# ---- tracing ----------------------------------------------------------------------------------

class _Tracer(fx.Tracer):
    def __init__(self, importer):
        super().__init__(autowrap_functions=_autowrapped())
        self.importer = importer

    def is_leaf_module(self, m, qualname):
        return self.importer.is_leaf(m)


class _Recorder(fx.Interpreter):
    """Runs a traced graph and keeps every node's value (the shapes the mapping reads). A
    submodule that will become a Group is traced and run here, in place of the module, so every
    op runs once however deep the groups nest; `children` keeps those (GraphModule, _Recorder)."""

    def __init__(self, gm, importer, path):
        super().__init__(gm)
        self.importer = importer
        self.path = path
        self.values = {}
        self.children = {}
        self.retrace = False       # a block here is to be traced into: trace this level again

    def run_node(self, n):
        try:
            value = self._run_group(n) if n.op == "call_module" else None
            if value is None:
                value = super().run_node(n)
        except (_Retrace, _RunFailure, DesignError):
            raise
        except Exception as error:
            # Say where: the node's own module path (fx keeps it for call_module nodes).
            where = ".".join(p for p in (self.path, n.target if n.op == "call_module" else "")
                             if p)
            raise _RunFailure(where, error) from None
        # A copy: later in-place ops (ReLU(inplace=True)) must not change what was recorded.
        if isinstance(value, torch.Tensor):
            self.values[n] = value.clone()
        elif isinstance(value, (tuple, list)) and all(isinstance(v, torch.Tensor) for v in value):
            self.values[n] = type(value)(v.clone() for v in value) if isinstance(value, list) \
                else tuple(v.clone() for v in value)
        else:
            self.values[n] = value
        return value

    def call_module(self, target, args, kwargs):
        # fx hands list arguments over as immutable lists; a module may change its list in place
        # (HRNet's fuse layers assign x[i] = ...), as it may in eager mode.
        return super().call_module(target, _mutable(args), _mutable(kwargs))

    def _run_group(self, n):
        sub = self.module.get_submodule(n.target)
        if not self.importer.becomes_group(sub):
            return None
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        if kwargs or not all(isinstance(a, torch.Tensor) for a in args):
            # Called with a list or a flag: traced into. Marked now, so one retrace of this
            # level takes in all such blocks (a DenseNet block has dozens) rather than one each.
            self.importer.inline.add(id(sub))
            self.retrace = True
            return None
        path = ".".join(p for p in (self.path, n.target) if p)
        try:
            gm = self.importer.trace(sub, path, args)
        except ModelLoadError:
            raise _Retrace(sub) from None
        child = _Recorder(gm, self.importer, path)
        value = child.run(*args)
        self.children[n] = (gm, child)
        return value


def _export(module, inputs):
    """torch.export's graph of `module` on `inputs` as an fx GraphModule, or None when it cannot
    export it either (data-dependent control flow, meta tensors it cannot run)."""
    if not all(isinstance(x, torch.Tensor) and not x.is_meta for x in inputs):
        return None
    disabled = logging.root.manager.disable
    logging.disable(logging.ERROR)   # export logs and prints pages where it fails; we say why
    try:
        with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            program = torch.export.export(module, tuple(inputs), strict=False)
        gm = program.module()
    except Exception:
        return None
    finally:
        logging.disable(disabled)
    for node in list(gm.graph.nodes):   # export's guard check: not part of the network
        if node.op == "call_module" and str(node.target).startswith("_guards_fn") and \
                not node.users:
            gm.graph.erase_node(node)
    gm.recompile()
    return gm


def _mutable(value):
    """`value` with fx's immutable lists and dicts replaced by plain copies."""
    if isinstance(value, (list, tuple)):
        copied = [_mutable(v) for v in value]
        return copied if isinstance(value, list) else tuple(copied)
    if isinstance(value, dict):
        return {k: _mutable(v) for k, v in value.items()}
    return value


def _unpassed_defaults(module, count):
    """forward's parameters after the first `count` that have defaults, as fx's concrete_args:
    a block called as `block(x)` with `forward(x, shortcut=None)` is traced with shortcut None,
    so `if shortcut is None` takes the branch the call takes."""
    try:
        parameters = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return None
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    concrete = {p.name: p.default for p in positional[count:] if p.default is not p.empty}
    return concrete or None


class _Bad:
    """The value of an unsupported node: its consumers are not reported again."""


_BAD = _Bad()
_SKIP = object()  # a non-tensor value (sizes, flags): only shape arithmetic uses it


@dataclass(frozen=True)
class _Ref:
    node: str
    port: str = "out"


@dataclass(frozen=True)
class _Attr:
    """A parameter or buffer, or a value computed from them alone (NFNet's standardised weight,
    a gain times a number): a constant in eval mode, folded into the layer that uses it.
    `sources` are the module's tensors it was computed from."""
    target: str
    value: object
    sources: tuple = ()

    def targets(self):
        return self.sources or (self.target,)


class _Retrace(Exception):
    def __init__(self, module):
        self.module = module


class _RunFailure(Exception):
    """Running the traced model failed at module path `where`."""

    def __init__(self, where, error):
        super().__init__(where, error)
        self.where = where
        self.error = error


def _first_line(error):
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0][:300]}" if text else type(error).__name__


def _clean_id(text):
    parts = [p if p else "_" for p in text.replace("-", "_").split(".")]
    if not parts[0][:1].isalpha() and parts[0][:1] != "_":
        parts[0] = "m" + parts[0]
    node_id = ".".join(parts)
    return node_id if NODE_ID.match(node_id) else "".join(c if c.isalnum() else "_" for c in text)


class _Importer:
    def __init__(self, root):
        self.root = root
        self.inline = set()          # ids of submodules traced into rather than folded
        self.unsupported = []        # (op, module path)
        self.state = {}              # design key -> tensor
        self.used = set()            # source keys carried over
        self.block_cache = {}
        self.trace_failures = {}     # module path -> why fx cannot trace it

    # -- which modules are nodes -------------------------------------------------------------
    def is_layer(self, m):
        return bool(_importers(m, blocks=False))

    def becomes_group(self, m):
        """Traced as a Group of its own (not a catalogue layer or block, not inlined)."""
        return (not self.is_layer(m) and not _importers(m, blocks=True)
                and not isinstance(m, _CONTAINERS) and not type(m).__module__.startswith("torch.nn")
                and id(m) not in self.inline)

    def is_leaf(self, m):
        if self.is_layer(m):
            return True
        if isinstance(m, _CONTAINERS) and not _importers(m, blocks=True):
            return False
        if type(m).__module__.startswith("torch.nn"):
            return True  # a torch.nn layer the catalogue lacks: reported where it is called
        return id(m) not in self.inline

    # -- converting one module level ------------------------------------------------------------
    def convert(self, module, path, inputs, graph_name, is_root=False, traced=None):
        """The graph of `module` (at source path `path`) called on `inputs`; `traced` is its
        (GraphModule, _Recorder) when it was already traced and run."""
        while True:
            try:
                return self._convert_once(module, path, inputs, graph_name, is_root, traced)
            except _Retrace as retrace:
                if retrace.module is not None:
                    self.inline.add(id(retrace.module))
                traced = None

    def trace(self, module, path, inputs):
        """fx's graph of `module` called with the positional tensors `inputs`; where fx cannot
        trace it (a loop over a split's sections, a branch on a shape), torch.export's graph of
        it, specialised to these inputs (one flat graph of ATen ops, mapped as fx's are)."""
        try:
            concrete = _unpassed_defaults(module, len(inputs))
            return fx.GraphModule(module, _Tracer(self).trace(module, concrete_args=concrete))
        except Exception as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            exported = _export(module, inputs)
            if exported is not None:
                return exported
            why = f"torch.fx cannot trace {path or 'the model'} ({type(module).__name__}): " \
                  f"{first[:300]}"
            if "cannot be used as inputs to control flow" in first:
                why = (f"{path or 'the model'} ({type(module).__name__}) branches on the values "
                       f"of its tensors (data-dependent control flow), which a design cannot "
                       f"hold: {first[:200]}")
            self.trace_failures[path] = why
            # Name the deepest module inside this one that failed: its parent, traced into it
            # afterwards, fails for the same reason.
            inside = [p for p in self.trace_failures
                      if not path or p == path or p.startswith(path + ".")]
            raise ModelLoadError(self.trace_failures[max(inside, key=len)]) from None

    def _convert_once(self, module, path, inputs, graph_name, is_root, traced):
        if traced is None:
            gm = self.trace(module, path, inputs)
            recorder = _Recorder(gm, self, path)
            with torch.no_grad():
                recorder.run(*inputs)
            if recorder.retrace:
                raise _Retrace(None)
        else:
            gm, recorder = traced
        level = _Level(self, module, path, recorder, Graph(graph_name), is_root)
        for node in gm.graph.nodes:
            level.visit(node)
        layered_layout(level.graph)
        return level.graph

    # -- catalogue blocks ------------------------------------------------------------------------
    def fold(self, module, in_value, out_value):
        """(type, params) of the first catalogue block equal to `module`, or None."""
        if not isinstance(in_value, torch.Tensor):
            return None
        shape = tuple(in_value.shape[1:])
        for spec in _importers(module, blocks=True):
            try:
                params = spec.imports[class_name(module)](module, shape)
            except (NotImportable, AttributeError, IndexError, TypeError, ZeroDivisionError):
                continue  # a variant the converter did not foresee: not this block
            key = (class_name(module), spec.type, tuple(sorted(params.items())), shape)
            if key not in self.block_cache:
                self.block_cache[key] = _block_matches(spec.type, params, module, in_value,
                                                       out_value)
            if self.block_cache[key]:
                return spec.type, params
        return None


def _block_matches(kind, params, module, in_value, out_value):
    """Does the catalogue block compile to the module's tensors and compute its output?"""
    g = Graph("check")
    try:
        with g.batch():
            g.add_node("Input", "input", {"shape": tuple(in_value.shape[1:])})
            g.add_node(kind, "b", params)
            g.add_node("Output", "output")
            g.connect("input", "out", "b", g.nodes["b"].input_ports()[0])
            g.connect("b", g.nodes["b"].output_ports()[0], "output", "in")
        compiled = compile_graph(g)
    except DesignError:
        return False
    theirs = {block_key(kind, k): v for k, v in module.state_dict().items()}
    ours = {k[2:]: tuple(v.shape) for k, v in compiled.state_dict().items()}
    if {k: tuple(v.shape) for k, v in theirs.items()} != ours:
        return False
    if in_value.is_meta or not isinstance(out_value, torch.Tensor):
        return True
    compiled.load_state_dict({f"b.{k}": v for k, v in theirs.items()})
    compiled.eval()
    with torch.no_grad():
        mine = compiled(in_value)
    scale = out_value.abs().max().item() + 1e-6
    return mine.shape == out_value.shape and (mine - out_value).abs().max().item() <= 1e-5 * scale


def _channel_range(index, channels):
    """(start, stop) when `index` is x[:, start:stop] (with any trailing full slices) of a tensor
    with `channels` channels, else None."""
    if not isinstance(index, tuple) or len(index) < 2:
        return None
    whole = slice(None)
    head, picked, rest = index[0], index[1], index[2:]
    if head != whole or not all(r == whole or r is Ellipsis for r in rest):
        return None
    if not isinstance(picked, slice) or picked.step not in (None, 1):
        return None
    return channel_bounds(picked.start, picked.stop, channels)


def channel_bounds(start, stop, channels):
    """(start, stop) of a slice of `channels` channels, as Python clamps them; None unless the
    bounds are ints (or left out) and keep at least one channel."""
    if not all(b is None or isinstance(b, int) for b in (start, stop)):
        return None
    start, stop, _ = slice(start, stop).indices(channels)
    return (start, stop) if stop > start else None


def _tensors(value):
    """A tensor, or a non-empty tuple or list of tensors (what a block may return)."""
    if isinstance(value, torch.Tensor):
        return True
    return isinstance(value, (tuple, list)) and bool(value) and \
        all(isinstance(v, torch.Tensor) for v in value)


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _normalised_op(node):
    if isinstance(node.target, torch._ops.OpOverload):    # torch.export's aten.conv2d.default
        name = node.target.__name__.split(".")[0]
        return "batch_norm_aten" if name == "batch_norm" else name.rstrip("_")
    name = node.target if node.op == "call_method" else \
        getattr(node.target, "__name__", str(node.target))
    if name in ("iadd", "imul", "isub", "itruediv"):
        name = name[1:]
    return name.rstrip("_") if name not in ("__getitem__",) else "getitem"


class _Level:
    """Maps one traced module level onto a catalogue graph."""

    def __init__(self, importer, module, path, recorder, graph, is_root):
        self.importer = importer
        self.module = module
        self.path = path
        self.values = recorder.values
        self.children = recorder.children
        self.graph = graph
        self.names = NodeNames(graph)
        self.is_root = is_root
        self.refs = {}
        self.called = set()

    # -- helpers -----------------------------------------------------------------------------------
    def where(self, node, target=None):
        inner = target if target is not None else node.meta.get("source", "")
        return ".".join(p for p in (self.path, inner) if p)

    def report(self, op, node, why="", target=None):
        label = f"{op} ({why})" if why else op
        self.importer.unsupported.append((label, self.where(node, target)))
        # Carry on past it with a stand-in of the right shape, so every unsupported op is found
        # in one pass; the design is discarded anyway.
        value = self.values.get(node)
        if isinstance(value, torch.Tensor) and 1 < value.dim() <= 4:
            stand_in = self.add("Input", f"unsupported_{node.name}", [],
                                {"shape": self.shape(value)})
            self.refs[node] = _Ref(stand_in.id)
        else:
            self.refs[node] = _BAD

    def shape(self, value):
        return tuple(value.shape[1:])

    def add(self, kind, hint, inputs, params=None, subgraph=None):
        node_id = self.names.free(_clean_id(hint))
        node = self.graph.add_node(kind, node_id, params or {}, subgraph=subgraph)
        for port, ref in zip(node.input_ports(), inputs):
            self.graph.connect(ref.node, ref.port, node_id, port)
        return node

    def design_key(self, node_id, key):
        return ".".join(p for p in (self.path, node_id, key) if p)

    def carry(self, node_id, module, source_prefix, kind=None):
        for key, tensor in module.state_dict().items():
            self.importer.state[self.design_key(node_id, block_key(kind, key))] = tensor
            self.importer.used.add(".".join(p for p in (source_prefix, key) if p))

    def tensor_inputs(self, node):
        """The refs of a node's tensor arguments, in order; None if one is unsupported."""
        refs = []
        for arg in node.all_input_nodes:
            ref = self.refs.get(arg, _SKIP)
            if ref is _BAD:
                return None
            if isinstance(ref, _Ref):
                refs.append(ref)
        return refs

    def single(self, kind, node, params=None, hint=None):
        refs = self.tensor_inputs(node)
        if refs is None:
            self.refs[node] = _BAD
            return
        x = self.refs.get(node.args[0]) if node.args and isinstance(node.args[0], fx.Node) else None
        if not isinstance(x, _Ref):
            return self.report(_normalised_op(node), node, "on a non-tensor input")
        created = self.add(kind, hint or node.name, [x], params)
        self.refs[node] = _Ref(created.id, created.output_ports()[0])

    # -- visiting fx nodes ---------------------------------------------------------------------
    def visit(self, node):
        try:
            self._visit(node)
        except (_Retrace, ModelLoadError, _RunFailure):
            raise
        except Exception as error:
            # A module or op whose form the handlers did not foresee (or values the catalogue
            # refuses): reported where it is, with the reason, like any unsupported op.
            target = node.target if node.op == "call_module" else None
            op = type(self.module.get_submodule(node.target)).__name__ \
                if node.op == "call_module" else _normalised_op(node)
            self.report(op, node, _first_line(error), target)

    def _visit(self, node):
        value = self.values.get(node)
        if node.op == "placeholder":
            if not isinstance(value, torch.Tensor):
                self.refs[node] = _SKIP
            elif self.is_root:
                created = self.add("Input", "input" if "input" not in self.graph.nodes else node.name,
                                   [], {"shape": self.shape(value)})
                self.refs[node] = _Ref(created.id)
            else:
                # A block with one input names its port "in", as the catalogue's blocks do.
                single = sum(1 for n in self.values if n.op == "placeholder") == 1
                name = "in" if single else node.name
                created = self.add("BlockInput", name, [], {"name": name})
                self.refs[node] = _Ref(created.id)
        elif node.op == "get_attr":
            self.refs[node] = _Attr(node.target, value)
        elif node.op == "call_module":
            self.call_module(node, value)
        elif node.op in ("call_function", "call_method"):
            if not isinstance(value, (torch.Tensor, tuple, list)) or (
                    isinstance(value, (tuple, list)) and not all(isinstance(v, torch.Tensor) for v in value)):
                self.refs[node] = _SKIP  # size arithmetic, flags
                return
            self.call_function(node, value)
        elif node.op == "output":
            self.output(node)

    def output(self, node):
        result = node.args[0]
        results = list(result) if isinstance(result, (tuple, list)) else [result]
        for i, item in enumerate(results):
            ref = self.refs.get(item, _SKIP) if isinstance(item, fx.Node) else _SKIP
            if ref is _BAD:
                continue
            if not isinstance(ref, _Ref):
                self.importer.unsupported.append(("a non-tensor output", self.path))
                continue
            name = ("output" if self.is_root else "out") if len(results) == 1 else (
                f"output{i}" if self.is_root else f"out{i}")
            self.add("Output", name, [ref], {"name": name})

    def call_module(self, node, value):
        target = node.target
        sub = self.module.get_submodule(target)
        source_prefix = ".".join(p for p in (self.path, target) if p)
        has_state = bool(sub.state_dict())
        if target in self.called and has_state:
            return self.report(type(sub).__name__, node, "called twice, sharing weights", target)
        self.called.add(target)
        refs = self.tensor_inputs(node)
        if refs is None:
            self.refs[node] = _BAD
            return
        args = [self.values.get(a) if isinstance(a, fx.Node) else a for a in node.args]
        shapes = [self.shape(a) for a in args if isinstance(a, torch.Tensor)]
        layers = _importers(sub, blocks=False)
        if layers:
            if node.kwargs or len(refs) != 1 or len(args) != 1:
                return self.report(type(sub).__name__, node, "called with extra arguments", target)
            try:
                kind, params = _convert_layer(layers, sub, shapes[0])
            except NotImportable as why:
                return self.report(type(sub).__name__, node, str(why), target)
            created = self.add(kind, target, refs, params)
            self.carry(created.id, sub, source_prefix)
            self.refs[node] = _Ref(created.id)
            return
        if type(sub).__module__.startswith("torch.nn") and not isinstance(sub, _CONTAINERS):
            return self.report(f"nn.{type(sub).__name__}", node, target=target)
        # A block: a catalogue block if one matches, else a group of its own traced graph.
        # One called with non-tensors (a list of features, a flag), or returning them, is
        # traced into instead.
        if node.kwargs or len(args) != len(refs) or \
                not all(isinstance(a, torch.Tensor) for a in args) or not _tensors(value):
            raise _Retrace(sub)
        folded = self.importer.fold(sub, args[0], value) \
            if len(args) == 1 and isinstance(value, torch.Tensor) else None
        if folded:
            kind, params = folded
            created = self.add(kind, target, refs, params)
            self.carry(created.id, sub, source_prefix, kind)
        else:
            try:
                inner = self.importer.convert(sub, source_prefix, args, type(sub).__name__,
                                              traced=self.children.get(node))
            except ModelLoadError:
                raise _Retrace(sub) from None
            # The group's inside was keyed under the source path; re-key under the design path.
            created = self.add("Group", target, refs, {"label": type(sub).__name__}, subgraph=inner)
            if self.design_key(created.id, "") != source_prefix:
                self._rekey(source_prefix, self.design_key(created.id, ""))
        ports = created.output_ports()
        if not ports:              # its output was behind an unsupported op, reported inside
            self.refs[node] = _BAD
        elif isinstance(value, torch.Tensor):
            self.refs[node] = _Ref(created.id, ports[0])
        else:                      # a block returning several tensors (a split's sections)
            self.refs[node] = tuple(_Ref(created.id, port) for port in ports)

    def _rekey(self, old_prefix, new_prefix):
        state = self.importer.state
        for key in [k for k in state if k.startswith(old_prefix + ".")]:
            state[new_prefix + key[len(old_prefix):]] = state.pop(key)

    # -- functions and methods -------------------------------------------------------------------
    def call_function(self, node, value):
        op = _normalised_op(node)
        sources = [self.refs.get(n, _SKIP) for n in node.all_input_nodes]
        attrs = [r for r in sources if isinstance(r, _Attr)]
        if attrs and isinstance(value, torch.Tensor) and \
                all(r is _SKIP or isinstance(r, _Attr) for r in sources):
            # Computed from parameters and numbers alone (timm's gamma.reshape(1, -1, 1, 1),
            # NFNet's standardised weight, a gain times a number): a constant in eval mode.
            targets = tuple(dict.fromkeys(t for a in attrs for t in a.targets()))
            self.refs[node] = _Attr(attrs[0].target, value, targets)
            return
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            return self.report(op if node.op == "call_function" else f"Tensor.{op}", node)
        refs = self.tensor_inputs(node)
        if refs is None:
            self.refs[node] = _BAD
            return
        try:
            handler(node, value)
        except NotImportable as why:
            self.report(op, node, str(why))

    def arg(self, node, index, name, default=None):
        if len(node.args) > index:
            return node.args[index]
        return node.kwargs.get(name, default)

    def in_shape(self, node, index=0):
        return self.shape(self.values[node.all_input_nodes[index]])

    def op_getitem(self, node, value):
        source, index = node.args
        ref = self.refs.get(source)
        picked = _channel_range(index, self.values[source].shape[1]) \
            if isinstance(ref, _Ref) else None
        if isinstance(ref, tuple) and isinstance(index, int):
            self.refs[node] = ref[index]
        elif picked is not None:
            self.channel_slice(node, ref, *picked)
        else:
            raise NotImportable("indexing a tensor other than a range of its channels")

    def channel_slice(self, node, ref, start, stop):
        """x[:, start:stop]: a ChannelSlice, or x itself when it keeps every channel."""
        if start == 0 and stop >= self.values[node.args[0]].shape[1]:
            self.refs[node] = ref
            return
        created = self.add("ChannelSlice", node.name, [ref], {"channels": stop - start,
                                                              "start": start})
        self.refs[node] = _Ref(created.id)

    def op_slice(self, node, value):
        """aten.slice (torch.export's x[:, a:b]): the whole batch, or a range of channels."""
        dim, start, end = (list(node.args[1:4]) + [0, None, None])[:3]
        step = node.args[4] if len(node.args) > 4 else 1
        source = self.values[node.args[0]]
        rank = source.dim()
        ref = self.refs.get(node.args[0])
        if isinstance(end, int) and end >= 2 ** 62:
            end = None                     # export writes x[:, a:] as an end of 2**63 - 1
        picked = channel_bounds(start, end, source.shape[1]) if dim % rank == 1 else None
        if dim % rank == 0 and not start and step == 1 and end is None:
            self.refs[node] = ref          # the whole batch
        elif picked is not None and step == 1 and isinstance(ref, _Ref):
            self.channel_slice(node, ref, *picked)
        else:
            raise NotImportable("slicing other than a range of channels")

    def op_contiguous(self, node, value):
        self.refs[node] = self.refs[node.args[0]]

    def _activation(kind):
        def handler(self, node, value):
            if node.op == "call_function" and any(
                    k not in ("inplace",) for k in node.kwargs) and kind != "GELU":
                raise NotImportable("with extra arguments")
            if kind == "GELU" and self.arg(node, 1, "approximate", "none") != "none":
                raise NotImportable("tanh approximation")
            self.single(kind, node)
        return handler

    op_relu = _activation("ReLU")
    op_relu6 = _activation("ReLU6")
    op_silu = _activation("SiLU")
    op_gelu = _activation("GELU")
    op_sigmoid = _activation("Sigmoid")
    op_tanh = _activation("Tanh")
    op_hardswish = _activation("Hardswish")
    op_hardsigmoid = _activation("Hardsigmoid")
    del _activation

    def op_dropout(self, node, value):
        self.single("Dropout", node, {"p": float(self.arg(node, 1, "p", 0.5))})

    def op_hardtanh(self, node, value):
        if (self.arg(node, 1, "min_val", -1.0), self.arg(node, 2, "max_val", 1.0)) != (0.0, 6.0):
            raise NotImportable("hardtanh other than ReLU6")
        self.single("ReLU6", node)

    def op_add(self, node, value):
        a, b = node.args[:2]
        zero = [x for x in (a, b) if isinstance(x, (int, float)) and x == 0]
        if zero and "alpha" not in node.kwargs:
            # A sum started at 0 (MobileOne's `out = 0; out += branch(x)`): the other operand.
            other = b if zero[0] is a else a
            if isinstance(other, fx.Node) and isinstance(self.refs.get(other), _Ref):
                self.refs[node] = self.refs[other]
                return
        if not (isinstance(a, fx.Node) and isinstance(b, fx.Node)) or "alpha" in node.kwargs:
            raise NotImportable("adding a constant")
        ra, rb = self.refs.get(a), self.refs.get(b)
        if not (isinstance(ra, _Ref) and isinstance(rb, _Ref)):
            raise NotImportable("adding a parameter")
        if self.values[a].shape != self.values[b].shape:
            raise NotImportable("adding tensors of different shapes (broadcast)")
        created = self.add("Add", node.name, [ra, rb])
        self.refs[node] = _Ref(created.id)

    def op_mul(self, node, value):
        a, b = node.args[:2]
        ra = self.refs.get(a) if isinstance(a, fx.Node) else a
        rb = self.refs.get(b) if isinstance(b, fx.Node) else b
        if isinstance(ra, _Attr) or isinstance(rb, _Attr):
            attr, x = (ra, rb) if isinstance(ra, _Attr) else (rb, ra)
            return self.layer_scale(node, attr, x)
        if isinstance(ra, (int, float)) or isinstance(rb, (int, float)):
            factor, x = (ra, rb) if isinstance(ra, (int, float)) else (rb, ra)
            created = self.add("Scale", node.name, [x], {"factor": float(factor)})
            self.refs[node] = _Ref(created.id)
            return
        if not (isinstance(ra, _Ref) and isinstance(rb, _Ref)):
            raise NotImportable("multiplying by a computed non-tensor")
        sa, sb = self.values[a].shape, self.values[b].shape
        if sa != value.shape:
            (ra, sa), (rb, sb) = (rb, sb), (ra, sa)
        x_shape = tuple(value.shape[1:])
        gate_shape = tuple(sb[1:])
        if sa != value.shape or gate_shape not in (x_shape, (x_shape[0], 1, 1), (x_shape[0],)):
            raise NotImportable("a broadcast other than a per-channel gate")
        created = self.add("Multiply", node.name, [ra, rb])
        self.refs[node] = _Ref(created.id)

    def mark_used(self, attr):
        for target in attr.targets():
            self.importer.used.add(".".join(p for p in (self.path, target) if p))

    def layer_scale(self, node, attr, x):
        tensor = attr.value
        if not isinstance(x, _Ref):
            raise NotImportable("multiplying a parameter by a computed non-tensor")
        if tensor.numel() == 1 and not tensor.is_meta:
            # A scalar gain (NFNet's skipinit): a Scale by its eval-mode value.
            created = self.add("Scale", attr.target, [x], {"factor": float(tensor.reshape(()))})
            self.mark_used(attr)
            self.refs[node] = _Ref(created.id)
            return
        if tensor.dim() == 4 and tensor.shape[0] == 1:
            tensor = tensor[0]
        shape = tuple(self.values[next(n for n in node.all_input_nodes if n.op != "get_attr")].shape[1:])
        if len(shape) == 3 and tuple(tensor.shape) == (shape[0], 1, 1):
            channels_last = False
        elif tuple(tensor.shape) == (shape[-1],):
            channels_last = True
        else:
            raise NotImportable(f"multiplying by a parameter of shape {tuple(tensor.shape)}")
        created = self.add("LayerScale", attr.target, [x], {"channels_last": channels_last})
        self.importer.state[self.design_key(created.id, "scale")] = tensor.detach().clone()
        self.mark_used(attr)
        self.refs[node] = _Ref(created.id)

    def op_linear(self, node, value):
        """F.linear / aten.linear with the module's own weight: a Linear."""
        x, weight = self.refs.get(node.args[0]), self.refs.get(self.arg(node, 1, "weight"))
        bias_node = self.arg(node, 2, "bias")
        bias = self.refs.get(bias_node) if isinstance(bias_node, fx.Node) else None
        if not isinstance(x, _Ref) or not isinstance(weight, _Attr) or \
                (bias_node is not None and not isinstance(bias, _Attr)):
            raise NotImportable("a linear layer whose weight is computed from its input")
        if self.values[node.args[0]].dim() != 2:
            raise NotImportable("a linear layer on more than features")
        hint = weight.target.rsplit(".", 1)[0] if "." in weight.target else node.name
        created = self.add("Linear", hint, [x], dict(out_features=weight.value.shape[0],
                                                      bias=bias is not None))
        self._adopt(node, created, weight, bias)

    def _adopt(self, node, created, weight, bias):
        """The layer made for `node` takes the module's weight (and bias) tensors as its own."""
        self.importer.state[self.design_key(created.id, "weight")] = weight.value.detach().clone()
        self.mark_used(weight)
        if bias is not None:
            self.importer.state[self.design_key(created.id, "bias")] = bias.value.detach().clone()
            self.mark_used(bias)
        self.refs[node] = _Ref(created.id)

    def op_conv2d(self, node, value):
        """F.conv2d with a weight the module holds (or computes from its parameters alone, as
        NFNet's scaled weight standardisation does): a Conv2d with that weight."""
        x = self.refs.get(node.args[0])
        weight = self.refs.get(self.arg(node, 1, "weight"))
        bias_node = self.arg(node, 2, "bias")
        bias = self.refs.get(bias_node) if isinstance(bias_node, fx.Node) else None
        if not isinstance(x, _Ref) or not isinstance(weight, _Attr) or \
                (bias_node is not None and not isinstance(bias, _Attr)):
            raise NotImportable("a convolution whose weight is computed from its input")
        padding = self.arg(node, 4, "padding", 0)
        if isinstance(padding, str):
            raise NotImportable(f"padding {padding!r}")
        kernel = tuple(weight.value.shape[2:])
        hint = weight.target.rsplit(".", 1)[0] if "." in weight.target else node.name
        created = self.add("Conv2d", hint, [x], dict(
            out_channels=weight.value.shape[0], kernel=kernel,
            stride=_pair(self.arg(node, 3, "stride", 1)), padding=_pair(padding),
            dilation=_pair(self.arg(node, 5, "dilation", 1)),
            groups=int(self.arg(node, 6, "groups", 1)), bias=bias is not None))
        self._adopt(node, created, weight, bias)

    def op_batch_norm_aten(self, node, value):
        """aten.batch_norm (torch.export): input, weight, bias, mean, var, training, momentum,
        eps; F.batch_norm's order is input, mean, var, weight, bias."""
        x, weight, bias, mean, var = node.args[:5]
        self.op_batch_norm(node, value, (mean, var, weight, bias), *node.args[5:8])

    def op_batch_norm(self, node, value, tensors=None, training=None, momentum=None, eps=None):
        names = ("running_mean", "running_var", "weight", "bias")
        tensors = tensors or [self.arg(node, i, name) for i, name in enumerate(names, 1)]
        attrs = [self.refs.get(t) for t in tensors]
        training = self.arg(node, 5, "training", False) if training is None else training
        if not all(isinstance(a, _Attr) for a in attrs) or training:
            raise NotImportable("batch norm whose statistics are not the module's own")
        eps = float(self.arg(node, 7, "eps", 1e-5) if eps is None else eps)
        momentum = float((self.arg(node, 6, "momentum", 0.1) if momentum is None else momentum)
                         or 0.1)
        hint = attrs[0].target.rsplit(".", 1)[0] if "." in attrs[0].target else node.name
        self.single("BatchNorm", node, {"eps": eps, "momentum": momentum}, hint=hint)
        node_id = self.refs[node].node
        for name, attr in zip(names, attrs):
            self.importer.state[self.design_key(node_id, name)] = attr.value
            self.mark_used(attr)
        counter = attrs[0].target.rsplit("running_mean", 1)[0] + "num_batches_tracked"
        source = dict(self.module.named_buffers()).get(counter, torch.tensor(0))
        self.importer.state[self.design_key(node_id, "num_batches_tracked")] = source
        self.importer.used.add(".".join(p for p in (self.path, counter) if p))

    def op_truediv(self, node, value):
        a, b = node.args[:2]
        if not isinstance(b, (int, float)):
            raise NotImportable("dividing by a tensor")
        created = self.add("Scale", node.name, [self.refs[a]], {"factor": 1.0 / b})
        self.refs[node] = _Ref(created.id)

    def op_cat(self, node, value):
        tensors = self.arg(node, 0, "tensors")
        dim = self.arg(node, 1, "dim", 0)
        first = self.values[tensors[0]]
        if dim % first.dim() != 1:
            raise NotImportable(f"concatenation along dimension {dim}")
        refs = [self.refs.get(t) for t in tensors]
        if not all(isinstance(r, _Ref) for r in refs):
            raise NotImportable("concatenating non-tensors")
        if len(refs) == 1:        # torch.cat of one tensor (densenet's first layer): itself
            self.refs[node] = refs[0]
            return
        created = self.add("Concat", node.name, refs, {"num_inputs": len(refs)})
        self.refs[node] = _Ref(created.id)

    def _reshape_like(self, node, value):
        in_shape, out_shape = self.in_shape(node), tuple(value.shape[1:])
        if value.shape[0] != self.values[node.all_input_nodes[0]].shape[0]:
            raise NotImportable("a reshape that mixes the batch with other dimensions")
        if len(out_shape) == 1 and len(in_shape) > 1:
            self.single("Flatten", node)
        elif out_shape == in_shape:
            self.refs[node] = self.refs[node.args[0]]
        else:
            self.single("Reshape", node, {"shape": out_shape})

    op_flatten = op_view = op_reshape = _reshape_like

    def op_permute(self, node, value):
        dims = node.args[1:] if node.op == "call_method" else self.arg(node, 1, "dims")
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = dims[0]
        rank = value.dim()
        dims = [d % rank for d in dims]
        if dims[0] != 0:
            raise NotImportable("a permutation that moves the batch")
        self.single("Permute", node, {"dims": tuple(d - 1 for d in dims[1:])})

    def op_transpose(self, node, value):
        rank = value.dim()
        a, b = (self.arg(node, 1, "dim0") % rank, self.arg(node, 2, "dim1") % rank)
        if 0 in (a, b):
            raise NotImportable("a transpose that moves the batch")
        dims = list(range(rank))
        dims[a], dims[b] = dims[b], dims[a]
        self.single("Permute", node, {"dims": tuple(d - 1 for d in dims[1:])})

    def op_split(self, node, value):
        """torch.split, Tensor.split and chunk along the channels: a Split into the sections
        the call made (equal, or of the sizes it gave)."""
        dim = self.arg(node, 2, "dim", 0)
        source = self.values[node.args[0]]
        if dim % source.dim() != 1:
            raise NotImportable(f"a split along dimension {dim}")
        sizes = [v.shape[1] for v in value]
        params = {"sections": len(sizes)} if len(set(sizes)) == 1 else {"sizes": tuple(sizes)}
        if len(sizes) == 1:        # one section: the tensor itself
            self.refs[node] = (self.refs[node.args[0]],)
            return
        created = self.add("Split", node.name, [self.refs[node.args[0]]], params)
        self.refs[node] = tuple(_Ref(created.id, port) for port in created.output_ports())

    op_chunk = op_split_with_sizes = op_split

    def op_mean(self, node, value):
        dims = self.arg(node, 1, "dim")
        keepdim = self.arg(node, 2, "keepdim", False)
        rank = self.values[node.args[0]].dim()
        if rank != 4 or sorted(d % rank for d in (dims if isinstance(dims, (list, tuple)) else [dims])) != [2, 3]:
            raise NotImportable("a mean over other dimensions than height and width")
        self.single("GlobalAvgPool2d", node, {"flatten": not keepdim})

    def op_adaptive_avg_pool2d(self, node, value):
        self.single("AdaptiveAvgPool2d", node, {"output_size": tuple(value.shape[-2:])})

    def op_adaptive_max_pool2d(self, node, value):
        self.single("AdaptiveMaxPool2d", node, {"output_size": tuple(value.shape[-2:])})

    def op_max_pool2d(self, node, value):
        kernel = _pair(self.arg(node, 1, "kernel_size"))
        stride = self.arg(node, 2, "stride", None) or kernel
        if _pair(self.arg(node, 4, "dilation", 1)) != (1, 1) or self.arg(node, 6, "return_indices", False):
            raise NotImportable("dilated max pooling or returned indices")
        self.single("MaxPool2d", node, dict(kernel=kernel, stride=_pair(stride),
                                            padding=_pair(self.arg(node, 3, "padding", 0)),
                                            ceil_mode=bool(self.arg(node, 5, "ceil_mode", False))))

    def op_avg_pool2d(self, node, value):
        kernel = _pair(self.arg(node, 1, "kernel_size"))
        stride = self.arg(node, 2, "stride", None) or kernel
        if self.arg(node, 6, "divisor_override", None):
            raise NotImportable("a divisor override")
        self.single("AvgPool2d", node, dict(
            kernel=kernel, stride=_pair(stride), padding=_pair(self.arg(node, 3, "padding", 0)),
            ceil_mode=bool(self.arg(node, 4, "ceil_mode", False)),
            count_include_pad=bool(self.arg(node, 5, "count_include_pad", True))))

    def op_channel_shuffle(self, node, value):
        self.single("ChannelShuffle", node, {"groups": int(self.arg(node, 1, "groups"))})


# ---- the entry point ----------------------------------------------------------------------------

def import_model(model, input_shape, name="imported", description="", device=None):
    """Import `model` (an nn.Module) for inputs of `input_shape` (C×H×W, batch left out).

    `device="meta"` traces without running real arithmetic (for models too large to run); the
    returned tensors then have no data. Raises UnsupportedOpsError listing every op the catalogue
    lacks, with its module path, or ModelLoadError when the model cannot be traced."""
    model = model.eval()
    if device == "meta":
        model = model.to("meta")
    example = torch.randn((2,) + tuple(input_shape), device=device)
    importer = _Importer(model)
    shape = "×".join(map(str, input_shape))
    parameters = inspect.signature(model.forward).parameters.values()
    wanted = [p.name for p in parameters
              if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(wanted) > 1 or not (wanted or any(p.kind == p.VAR_POSITIONAL for p in parameters)):
        raise ModelLoadError(f"the model's forward takes {len(wanted)} inputs "
                             f"({', '.join(wanted) or 'none'}); a design takes one image batch")
    try:
        graph = importer.convert(model, "", [example], name, is_root=True)
    except _RunFailure as failure:
        where = f" (at {failure.where})" if failure.where else ""
        raise ModelLoadError(f"the model cannot run on a {shape} input{where}; give --input the "
                             f"shape it takes ({_first_line(failure.error)})") from None
    except (ModelLoadError, UnsupportedOpsError):
        raise
    except Exception as error:   # never a traceback: say what failed, in one sentence
        raise ModelLoadError(f"importing the model failed: {_first_line(error)}") from None
    if importer.unsupported:
        raise UnsupportedOpsError(importer.unsupported)
    graph.set_metadata(name=name, description=description)
    source = model.state_dict()
    unused = [k for k in source if k not in importer.used]
    return ImportResult(graph, dict(importer.state), unused)


def import_source(source, input_shape=None, pretrained=False):
    """Load and import a `torchvision:`/`timm:`/`module:` source; (ImportResult, input shape)."""
    model = load_source(source, pretrained)
    shape = tuple(input_shape) if input_shape else default_input_shape(model, source)
    name = source.split(":")[-1]
    result = import_model(model, shape, name=name,
                          description=f"Imported from {source} by `designer import`.")
    return result, shape
