"""The one catalogue of layer and block types.

A `LayerSpec` declares a primitive layer: its ports, typed parameters, a fast shape rule and a
`build()` to an `nn.Module`. A `BlockSpec` declares a composite block whose `expand()` turns its
parameters into a sub-graph of primitive layers (and other blocks). Catalogue modules under
`designer.core.layers` and `designer.core.blocks` register their specs on import; the registry
loads them all the first time a type is looked up and refuses duplicate names.

A spec also says which PyTorch modules it stands for (`imports`), so the PyTorch importer
(`designer.interop.pytorch`) builds its tables from the catalogue, as torchvision and timm
register a model next to its definition. Classes are named by strings: the core never imports
torchvision or timm, and a converter only reads the module's attributes.
"""

from dataclasses import dataclass, field
from enum import Enum
import importlib
from collections import OrderedDict
import pkgutil
from typing import Callable, NamedTuple

from .categories import Category, category
from .errors import UnknownLayerError
from .params import ParamValues


class Role(Enum):
    """What a spec is to the graph, for the code that treats some types specially."""
    LAYER = "layer"              # a layer or a catalogue block: shape rule, build, compile
    INPUT = "input"              # the network's input tensor
    OUTPUT = "output"            # a network output, or an output port inside a block
    BLOCK_INPUT = "block input"  # an input port inside a block
    GROUP = "group"              # a user's own block; its inside lives on the node


class NotImportable(Exception):
    """Raised by an import converter: the module uses an option this spec cannot express. The
    text says which ("padding mode 'reflect'"); the importer reports it or tries another spec."""


def class_name(obj):
    """The qualified name of an object's class (or of a class), as `imports` names it:
    "torch.nn.modules.conv.Conv2d" for an nn.Conv2d."""
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


class LayerInfo(NamedTuple):
    """What a shape rule returns for one node: output shapes (one per output port, batch dim left
    out), parameter count, multiply-accumulates, and the node's effective kernel extent and stride
    (height, width) for receptive-field arithmetic. A named tuple: made for every node on every
    re-flow, and a frozen dataclass cost three times as much to make."""
    outputs: tuple
    params: int = 0
    macs: int = 0
    kernel: tuple = (1, 1)
    stride: tuple = (1, 1)


def _ports(value, p):
    return list(value(p) if callable(value) else value)


@dataclass(eq=False)
class LayerSpec:
    type: str
    category: Category            # a Category, or its name (see designer.core.categories)
    help: str
    params: tuple = ()
    inputs: object = ("in",)       # tuple of port names, or callable(params) -> names
    outputs: object = ("out",)
    rule: Callable | None = None   # (params, input_shapes) -> LayerInfo; raises ShapeError
    build: Callable | None = None  # (params, input_shapes) -> nn.Module
    summary: Callable | None = None  # (params) -> short text such as "3×3/2, 64"
    title: str = ""
    role: Role = Role.LAYER
    list_input: bool = False       # the built module takes its inputs as one list (Concat, Add)
    # Qualified PyTorch class name -> converter(module, input shape without batch) -> this spec's
    # params, or NotImportable. A layer's converter must be exact; a block's result is checked by
    # the importer (same tensors, same outputs) before the module folds into the block.
    imports: dict = field(default_factory=dict)
    # Source state_dict keys that this block names differently (a bare parameter of the module
    # that is a layer's parameter here): {source key: key inside the block}.
    import_renames: dict = field(default_factory=dict)
    is_block = False

    def __post_init__(self):
        self.category = category(self.category)
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.type}: duplicate parameter names")
        taken = set(names) & (set(dir(ParamValues)) | {"in_range"})   # `p.items` stays a method
        if taken:
            raise ValueError(f"{self.type}: parameter names {sorted(taken)} are ParamValues attributes")
        if not self.title:
            self.title = self.type

    @property
    def param_map(self):
        return {p.name: p for p in self.params}

    def defaults(self):
        return ParamValues((p.name, p.default) for p in self.params)

    def input_ports(self, params):
        return _ports(self.inputs, params)

    def output_ports(self, params):
        return _ports(self.outputs, params)

    def describe(self, params):
        return self.summary(params) if self.summary else ""


@dataclass(eq=False)
class BlockSpec(LayerSpec):
    """A composite block. Ports are declared like a layer's (`inputs`, `outputs`);
    `expand(params, input_shapes)` returns a `Graph` with one `BlockInput` node per input port and
    one `Output` node per output port (each named by its `name` parameter). The input shapes (one
    tuple per input port, batch left out) let a block decide, say, whether its shortcut needs a
    projection, exactly as torchvision's constructors do from their channel arguments."""
    expand: Callable | None = None
    is_block = True

    def subgraph(self, params, input_shapes):
        """The expanded sub-graph, cached per (params, shapes): callers must not mutate it."""
        cache = self.__dict__.setdefault("_cache", LastUsed(EXPANSIONS_KEPT))
        key = (params.key(), tuple(input_shapes))
        graph = cache.get(key)
        if graph is None:
            graph = self.expand(params, list(input_shapes))
            cache.put(key, graph)
        return graph


# Expansions kept per block type: the exploded DenseNet-264 alone has 180 dense layers, each with
# its own input width, and an edit upstream asks for all of them again at a new width; a small
# cache emptied when full expanded every block from scratch on every such edit.
EXPANSIONS_KEPT = 4096


class LastUsed:
    """A mapping that keeps the `size` most recently used entries (an LRU cache)."""

    def __init__(self, size):
        self.size = size
        self.entries = OrderedDict()

    def get(self, key):
        value = self.entries.get(key)
        if value is not None:
            self.entries.move_to_end(key)
        return value

    def put(self, key, value):
        self.entries[key] = value
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)

    def __len__(self):
        return len(self.entries)


class Registry:
    def __init__(self):
        self._specs = {}
        self._importers = {}   # qualified PyTorch class name -> specs that import it
        self._loaded = False

    def register(self, spec):
        if spec.type in self._specs:
            raise ValueError(f"layer type {spec.type!r} is registered twice")
        self._specs[spec.type] = spec
        for class_name in spec.imports:
            self._importers.setdefault(class_name, []).append(spec)
        return spec

    def _ensure_loaded(self):
        if self._loaded:
            return
        self._loaded = True
        for package_name in ("designer.core.layers", "designer.core.blocks"):
            package = importlib.import_module(package_name)
            for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
                importlib.import_module(f"{package_name}.{info.name}")

    def get(self, type_name):
        self._ensure_loaded()
        try:
            return self._specs[type_name]
        except KeyError:
            raise UnknownLayerError(f"unknown layer type {type_name!r}") from None

    def __contains__(self, type_name):
        self._ensure_loaded()
        return type_name in self._specs

    def specs(self):
        self._ensure_loaded()
        return list(self._specs.values())

    def importers(self, class_name):
        """The specs that import the PyTorch class `class_name` ("torch.nn.modules.conv.Conv2d"),
        in the order they registered: the importer takes the first whose converter accepts."""
        self._ensure_loaded()
        return self._importers.get(class_name, ())


REGISTRY = Registry()


def register(spec):
    return REGISTRY.register(spec)


def get_spec(type_name):
    return REGISTRY.get(type_name)
