"""A design as a standalone, readable PyTorch source file.

The file defines one `nn.Module` class per block type the design uses (named after the block, e.g.
`BasicBlock`) and one top-level class named after the design; it imports only torch. Its modules
sit at the same paths as in the compiled model, so `model.load_state_dict(...)` takes the compiled
model's (or an exported) state_dict with matching keys:

- a node id with dots becomes a container: a chain `layer1.0 -> layer1.1 -> ...` whose links feed
  nothing else becomes `self.layer1 = nn.Sequential(...)` called once, as torchvision writes it;
  other dotted ids become `nn.ModuleDict` entries (`self.stage["a"]`);
- every instance of a block with the same inside shares a class; the constructor arguments that
  differ between instances become the class's parameters, named after the block's own parameters
  where the values match (`out_channels`, `stride`, `in_channels`, or `out_channels * 4`);
  instances with a different inside (a projection shortcut, say) get a class of their own
  (`BasicBlockDownsample`);
- custom modules of `designer` (Concat, Add, ChannelShuffle, ...) are copied into the file.

Only what feeds the main outputs is written, exactly like the compiled inference model.
"""

import heapq
import inspect
import keyword
import textwrap
from dataclasses import dataclass, field

import torch
from torch import nn

from designer.core.compile import compile_graph, output_nodes
from designer.core.infer import analyze, input_states
from designer.core.registry import Role

from .files import ExportError

_NO_DEFAULT = inspect.Parameter.empty
# torch.nn arguments that accept an int for a square (h, w) pair.
_PAIR_ARGS = {"kernel_size", "stride", "padding", "dilation", "output_padding", "output_size"}
_SKIPPED_ARGS = {"device", "dtype"}


# ---- constructor arguments of one module ---------------------------------------------------

@dataclass(frozen=True)
class _Arg:
    name: str
    value: object
    default: object      # _NO_DEFAULT when the argument is required (written positionally)


def _separable_args(module):
    d, p = module.depthwise, module.pointwise
    return {"in_channels": d.in_channels, "out_channels": p.out_channels,
            "kernel_size": d.kernel_size, "stride": d.stride, "padding": d.padding,
            "dilation": d.dilation, "bias": p.bias is not None}


# Modules that do not keep their constructor arguments as attributes of the same name.
_SPECIAL_ARGS = {"SeparableConv2d": _separable_args}


def _constructor_args(module):
    """The arguments that rebuild `module` (its parameters' values come from the state_dict)."""
    cls = type(module)
    special = _SPECIAL_ARGS.get(cls.__name__) if cls.__module__.startswith("designer.") else None
    known = special(module) if special else None
    args = []
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or name in _SKIPPED_ARGS or param.kind in (param.VAR_POSITIONAL,
                                                                    param.VAR_KEYWORD):
            continue
        if known is not None:
            value = known[name]
        elif name == "bias" and isinstance(getattr(module, "bias", None), (torch.Tensor, type(None))):
            value = module.bias is not None
        elif hasattr(module, name):
            value = getattr(module, name)
            value = list(value) if isinstance(value, list) else value
        elif param.default is not _NO_DEFAULT:
            continue  # not recorded (e.g. PReLU's init): the default, the state_dict sets values
        else:
            raise ExportError(f"cannot write Python source for {cls.__name__}: it does not keep "
                              f"its constructor argument {name!r}")
        args.append(_Arg(name, value, param.default))
    return args


def _square(arg):
    """torch.nn takes `3` for `(3, 3)`: write the short form (and match block parameters)."""
    value = arg.value
    if arg.name in _PAIR_ARGS and isinstance(value, tuple) and value and len(set(value)) == 1 \
            and type(value[0]) is int:
        return _Arg(arg.name, value[0], arg.default)
    return arg


def _same(a, b):
    return type(a) is type(b) and a == b


class _Classes:
    """The module classes the file uses and how the file refers to each."""

    def __init__(self):
        self.copied = []      # designer classes whose source is copied into the file
        self.imports = []     # "from x import Y" lines for other third-party classes
        self.checked = set()

    def reference(self, cls):
        if getattr(nn, cls.__name__, None) is cls:
            return f"nn.{cls.__name__}"
        if cls.__module__.startswith("designer.") or cls.__module__ == "designer":
            for base in cls.__mro__[1:]:
                if base.__module__.startswith("designer.") and base not in self.copied:
                    self.reference(base)
            if cls not in self.copied:
                self.copied.append(cls)
            return cls.__name__
        line = f"from {cls.__module__} import {cls.__name__}"
        if line not in self.imports:
            self.imports.append(line)
        return cls.__name__

    def verify(self, module, args):
        """ExportError unless the extracted arguments rebuild an equivalent module."""
        cls = type(module)
        key = (cls, repr([(a.name, a.value) for a in args]))
        if key in self.checked:
            return
        with torch.device("meta"):
            try:
                rebuilt = cls(**{a.name: a.value for a in args})
            except Exception as error:
                raise ExportError(f"cannot write Python source for {cls.__name__}: rebuilding it "
                                  f"from its attributes failed ({error})") from None
        same_state = {k: tuple(v.shape) for k, v in rebuilt.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in module.state_dict().items()}
        if repr(rebuilt) != repr(module) or not same_state:
            raise ExportError(f"cannot write Python source for {cls.__name__}: its constructor "
                              "arguments cannot be recovered from the built module")
        self.checked.add(key)


# ---- the inside of a class: members in call order ------------------------------------------

@dataclass
class _Member:
    id: str                    # node id (dots allowed), or a container name for a Sequential
    kind: str                  # "layer", "block" or "seq"
    inputs: list               # value keys (node id, port) it consumes, in port order
    outputs: list              # value keys it produces that are used, in port order
    ports: list = field(default_factory=list)  # every output port (for unpacking)
    cls_ref: str = ""
    args: list = field(default_factory=list)   # layer: [_Arg]
    list_input: bool = False
    instance: object = None    # block: its _Instance
    children: list = field(default_factory=list)  # seq: its _Members in order

    def structure(self):
        if self.kind == "layer":
            inner = (self.cls_ref, tuple(a.name for a in self.args), self.list_input, len(self.ports))
        elif self.kind == "block":
            inner = (id(self.instance.variant),)
        else:
            inner = tuple(c.structure() for c in self.children)
        return (self.id, self.kind, inner, tuple(self.inputs), tuple(self.outputs))

    def slots(self, prefix=""):
        """(key, value, default) for every constructor argument in this member."""
        key = prefix + self.id
        if self.kind == "layer":
            return [((key, a.name), a.value, a.default) for a in self.args]
        if self.kind == "block":
            return [((key, name), self.instance.args[name], _NO_DEFAULT)
                    for name in self.instance.variant.params]
        return [s for c in self.children for s in c.slots(key + "/")]


@dataclass
class _Body:
    inputs: list               # (value key, variable base name)
    members: list
    outputs: list              # value keys returned, in order

    def signature(self):
        return (tuple(k for k, _ in self.inputs), tuple(m.structure() for m in self.members),
                tuple(self.outputs))

    def slots(self):
        return [s for m in self.members for s in m.slots()]


@dataclass(eq=False)
class _Instance:
    variant: object
    body: _Body
    candidates: dict           # names the class's parameters may take -> this instance's value
    args: dict = field(default_factory=dict)


@dataclass(eq=False)
class _Variant:
    base: str                  # the block's name
    doc: str
    template: _Body
    instances: list = field(default_factory=list)
    name: str = ""
    params: list = field(default_factory=list)
    exprs: dict = field(default_factory=dict)   # slot key -> expression of the parameters

    def finalize(self):
        """Choose the class's parameters: the constructor arguments that differ between
        instances, named after the block's parameters where the values agree."""
        per_instance = [inst.body.slots() for inst in self.instances]
        keys = [s[0] for s in per_instance[0]]
        chosen = {}          # parameter name -> values per instance
        for j, key in enumerate(keys):
            values = [slots[j][1] for slots in per_instance]
            if all(_same(values[0], v) for v in values[1:]):
                continue
            self.exprs[key] = self._name_for(key, values, chosen)
        order = list(self.instances[0].candidates)
        self.params = sorted(chosen, key=lambda n: order.index(n) if n in order else len(order))
        for i, inst in enumerate(self.instances):
            inst.args = {name: chosen[name][i] for name in self.params}

    def _name_for(self, key, values, chosen):
        cands = [inst.candidates for inst in self.instances]
        for name in cands[0]:
            if all(_same(v, c[name]) for v, c in zip(values, cands)):
                chosen[name] = values
                return name
        if all(type(v) is int for v in values):
            for name in cands[0]:
                base = [c[name] for c in cands]
                if not all(type(b) is int and b > 0 for b in base):
                    continue
                if all(v % b == 0 for v, b in zip(values, base)):
                    ratios = {v // b for v, b in zip(values, base)}
                    if len(ratios) == 1 and (k := ratios.pop()) > 1:
                        chosen[name] = base
                        return f"{name} * {k}"
                if all(v > 0 and b % v == 0 for v, b in zip(values, base)):
                    ratios = {b // v for v, b in zip(values, base)}
                    if len(ratios) == 1 and (k := ratios.pop()) > 1:
                        chosen[name] = base
                        return f"{name} // {k}"
        for name, existing in chosen.items():
            if name not in cands[0] and all(_same(a, b) for a, b in zip(existing, values)):
                return name
        name = _identifier(f"{key[0].replace('/', '_')}_{key[1]}")
        while name in chosen or name in cands[0]:
            name += "_"
        chosen[name] = values
        return name


# ---- naming ---------------------------------------------------------------------------------

def _identifier(text):
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in text) or "v"
    if name[0].isdigit():
        name = "v" + name
    if keyword.iskeyword(name) or name in ("self", "nn", "torch", "F", "List"):
        name += "_"
    return name


def _camel(text, fallback):
    words = "".join(c if c.isalnum() else " " for c in text).split()
    name = "".join(w[:1].upper() + w[1:] for w in words) or fallback
    return name if name[0].isalpha() else fallback + name


def _literal(value):
    if isinstance(value, float) and value != value:
        return 'float("nan")'
    return repr(value)


# ---- reading the design ---------------------------------------------------------------------

def _reading_order(graph):
    """A topological order that keeps the order the nodes were added in wherever the edges allow,
    so parallel branches read in the order they were drawn (branch1, branch2, ...)."""
    rank = {nid: i for i, nid in enumerate(graph.nodes)}
    waiting = {nid: len(graph.in_edges(nid)) for nid in graph.nodes}
    ready = [(rank[nid], nid) for nid, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, nid = heapq.heappop(ready)
        order.append(nid)
        for edge in graph.out_edges(nid):
            waiting[edge.dst] -= 1
            if waiting[edge.dst] == 0:
                heapq.heappush(ready, (rank[edge.dst], edge.dst))
    return order


def _ancestors(graph, targets):
    live, stack = set(), list(targets)
    while stack:
        nid = stack.pop()
        if nid not in live:
            live.add(nid)
            stack.extend(e.src for e in graph.in_edges(nid))
    return live


class _Reader:
    def __init__(self, compiled):
        self.compiled = compiled
        self.modules = dict(compiled.named_modules())
        self.classes = _Classes()
        self.variants = []          # in creation order: inner blocks before the blocks holding them
        self._by_signature = {}

    def body(self, graph, results, prefix, targets, input_nodes):
        """The members of `graph` that feed the Output nodes `targets` (value keys returned)."""
        order = _reading_order(graph)  # compile refuses cycles, so every node is in it
        live = _ancestors(graph, [t.id for t in targets])
        members = []
        for nid in order:
            node = graph.nodes[nid]
            if nid not in live or node.role in (Role.INPUT, Role.BLOCK_INPUT, Role.OUTPUT):
                continue
            inputs = [(e.src, e.src_port) for e in (graph.in_edge(nid, p) for p in node.input_ports())]
            used = [p for p in node.output_ports()
                    if any(e.src_port == p and e.dst in live for e in graph.out_edges(nid))]
            if node.is_block:
                instance = self.block(graph, results, prefix, node, used)
                members.append(_Member(nid, "block", inputs, [(nid, p) for p in used],
                                       ports=used, instance=instance))
            else:
                module = self.modules.get(prefix + nid)
                if module is None:
                    raise ExportError(f"internal: {prefix + nid} is missing from the compiled model")
                args = _constructor_args(module)
                self.classes.verify(module, args)
                if getattr(nn, type(module).__name__, None) is type(module):
                    args = [_square(a) for a in args]
                members.append(_Member(nid, "layer", inputs, [(nid, p) for p in used],
                                       ports=node.output_ports(),
                                       cls_ref=self.classes.reference(type(module)), args=args,
                                       list_input=node.spec.list_input))
        outputs = []
        for target in targets:
            edge = graph.in_edge(target.id, "in")
            outputs.append((edge.src, edge.src_port))
        return _Body(input_nodes, _group_sequentials(members, outputs), outputs)

    def block(self, graph, results, prefix, node, used_ports):
        states = list(input_states(graph, results, node.id).values())
        shapes = [s.shape for s in states]
        inner = node.block_graph(shapes)
        inner_results = analyze(inner, dict(zip(node.input_ports(), states)))
        block_inputs = {n.params["name"]: n for n in inner.nodes_of_role(Role.BLOCK_INPUT)}
        ports = node.input_ports()
        inputs = [((block_inputs[p].id, "out"), _input_var(p, len(ports))) for p in ports]
        outputs = {n.params["name"]: n for n in inner.nodes_of_role(Role.OUTPUT)}
        body = self.body(inner, inner_results, f"{prefix}{node.id}.",
                         [outputs[p] for p in used_ports], inputs)

        if node.subgraph is not None:
            base = _camel(node.params.get("label") or node.subgraph.name, "Block")
            doc = "A block of the design (a group of layers made in the editor)."
            candidates = {}
        else:
            base = _camel(node.type, "Block")
            doc = (node.spec.help or node.spec.title).strip().split("\n")[0]
            candidates = {k: v for k, v in node.params.items()
                          if isinstance(v, (int, float, tuple, str)) and not isinstance(v, bool)
                          and _identifier(k) == k}
        first = shapes[0] if shapes else ()
        if first:
            name = "in_channels" if len(first) == 3 else "in_features"
            candidates = {name: first[0], **{k: v for k, v in candidates.items() if k != name}}
        key = (base, body.signature())
        variant = self._by_signature.get(key)
        if variant is None:
            variant = _Variant(base, doc, body)
            self._by_signature[key] = variant
            self.variants.append(variant)
        instance = _Instance(variant, body, candidates)
        variant.instances.append(instance)
        return instance


def _input_var(port, count):
    if count == 1:
        return "x"
    if port.startswith("in") and port[2:].isdigit():
        return "x" + port[2:]
    return _identifier(port)


def _group_sequentials(members, returned):
    """Replace each chain `name.0 -> name.1 -> ...` (links used by nothing else) with one
    Sequential member called `name`; the other members keep their dotted ids."""
    uses = {}
    for m in members:
        for key in m.inputs:
            uses[key] = uses.get(key, 0) + 1
    for key in returned:
        uses[key] = uses.get(key, 0) + 1
    groups = {}
    for m in members:
        if "." in m.id:
            groups.setdefault(m.id.split(".")[0], []).append(m)
    replaced = {}
    for name, group in groups.items():
        parts = [m.id.split(".") for m in group]
        if not all(len(p) == 2 and p[1].isdigit() and str(int(p[1])) == p[1] for p in parts):
            continue
        chain = sorted(group, key=lambda m: int(m.id.split(".")[1]))
        if [int(m.id.split(".")[1]) for m in chain] != list(range(len(chain))):
            continue
        single = all(len(m.inputs) == 1 and len(m.outputs) == 1 and len(m.ports) == 1
                     and not m.list_input for m in chain)
        linked = single and all(b.inputs[0] == a.outputs[0] and uses.get(a.outputs[0]) == 1
                                for a, b in zip(chain, chain[1:]))
        if linked:
            replaced[chain[0].id] = _Member(name, "seq", chain[0].inputs, chain[-1].outputs,
                                            ports=["out"], children=chain)
            for m in chain[1:]:
                replaced[m.id] = None
    result = []
    for m in members:
        if m.id in replaced:
            if replaced[m.id] is not None:
                result.append(replaced[m.id])
        else:
            result.append(m)
    return result


# ---- writing --------------------------------------------------------------------------------

def _access(member_id):
    """The expression for a member module inside `self`."""
    first, *rest = member_id.split(".")
    head = f"getattr(self, {first!r})" if keyword.iskeyword(first) else f"self.{first}"
    return head + "".join(f'["{part}"]' for part in rest)


class _Writer:
    def constructor(self, member, exprs, prefix=""):
        key = prefix + member.id
        if member.kind == "seq":
            inner = ", ".join(self.constructor(c, exprs, key + "/") for c in member.children)
            return f"nn.Sequential({inner})"
        parts = []
        if member.kind == "layer":
            for arg in member.args:
                expr = exprs.get((key, arg.name))
                value = arg.value
                if expr is None:
                    if arg.default is not _NO_DEFAULT and _same(value, arg.default):
                        continue
                    expr = _literal(value)
                parts.append(expr if arg.default is _NO_DEFAULT else f"{arg.name}={expr}")
            return f"{member.cls_ref}({', '.join(parts)})"
        variant = member.instance.variant
        for name in variant.params:
            expr = exprs.get((key, name)) or _literal(member.instance.args[name])
            parts.append(f"{name}={expr}")
        return f"{variant.name}({', '.join(parts)})"

    def init_lines(self, body, exprs):
        lines, containers = [], set()
        for m in body.members:
            parts = m.id.split(".")
            for depth in range(1, len(parts)):
                container = ".".join(parts[:depth])
                if container not in containers:
                    containers.add(container)
                    lines.append(self._assign(container, "nn.ModuleDict()"))
            line = self._assign(m.id, self.constructor(m, exprs))
            if m.kind == "seq" and len(line) > 88:
                head = line[:line.index("nn.Sequential(") + len("nn.Sequential(")]
                lines.append(head)
                lines += [f"    {self.constructor(c, exprs, m.id + '/')}," for c in m.children]
                lines.append(")")
            else:
                lines.append(line)
        return lines

    @staticmethod
    def _assign(member_id, expr):
        first = member_id.split(".")[0]
        if "." not in member_id and keyword.iskeyword(first):
            return f"self.add_module({first!r}, {expr})"
        return f"{_access(member_id)} = {expr}"

    def forward_lines(self, body):
        uses = {}
        for m in body.members:
            for key in m.inputs:
                uses[key] = uses.get(key, 0) + 1
        for key in body.outputs:
            uses[key] = uses.get(key, 0) + 1
        names = {key: var for key, var in body.inputs}
        taken = set(names.values())
        # Values that continue one chain share a variable; the chain that is returned reads
        # `out` as in hand-written blocks, side branches (a shortcut) are named after their node.
        root = {key: key for key, _ in body.inputs}
        for m in body.members:
            for key in m.outputs:
                root[key] = key
            if len(m.ports) == 1 and m.inputs and uses.get(m.inputs[0]) == 1:
                root[m.outputs[0]] = root[m.inputs[0]]
        main = {root[k] for k in body.outputs} if len(body.outputs) == 1 else set()

        def fresh(text):
            name = _identifier(text)
            candidate, n = name, 2
            while candidate in taken:
                candidate, n = f"{name}_{n}", n + 1
            taken.add(candidate)
            return candidate

        lines = []
        for m in body.members:
            args = [names[k] for k in m.inputs]
            call = f"{_access(m.id)}([{', '.join(args)}])" if m.list_input else \
                f"{_access(m.id)}({', '.join(args)})"
            if len(m.ports) == 1:
                key = m.outputs[0]
                if m.inputs and uses.get(m.inputs[0]) == 1:
                    names[key] = names[m.inputs[0]]   # a chain reuses its variable
                else:
                    names[key] = fresh("out" if key in main and "out" not in taken else m.id)
                lines.append(f"{names[key]} = {call}")
            else:
                targets = []
                for port in m.ports:
                    key = (m.id, port)
                    if key in m.outputs:
                        names[key] = fresh(f"{m.id}_{port}")
                        targets.append(names[key])
                    else:
                        targets.append("_")
                lines.append(f"{', '.join(targets)} = {call}")
        returned = [names[k] for k in body.outputs]
        lines.append("return " + (returned[0] if len(returned) == 1 else f"({', '.join(returned)})"
                                  if returned else "None"))
        return lines

    def class_text(self, name, doc, body, params, exprs):
        signature = ", ".join(["self"] + list(params))
        inputs = ", ".join(["self"] + [var for _, var in body.inputs])
        doc_lines = textwrap.wrap(f'"""{doc}"""', 92, initial_indent="    ", subsequent_indent="    ")
        out = [f"class {name}(nn.Module):", *doc_lines, "",
               f"    def __init__({signature}):", "        super().__init__()"]
        out += ["        " + line for line in self.init_lines(body, exprs)]
        out += ["", f"    def forward({inputs}):"]
        out += ["        " + line for line in self.forward_lines(body)]
        return "\n".join(line for line in out if line is not None)


def _docstring_text(text):
    return " ".join(text.replace('"""', "'''").replace("\\", "\\\\").split())


def generate_source(graph, compiled=None):
    """The design as Python source text (str). `compiled` is `compile_graph(graph,
    include_auxiliary=False)` when the caller has it already."""
    if compiled is None:
        compiled = compile_graph(graph, include_auxiliary=False)
    results = analyze(graph)
    reader = _Reader(compiled)
    order, _ = graph.topological_order()
    inputs = [graph.nodes[nid] for nid in order if graph.nodes[nid].role is Role.INPUT]
    top_inputs = [((n.id, "out"), "x" if len(inputs) == 1 else _identifier(n.id)) for n in inputs]
    top = reader.body(graph, results, "", output_nodes(graph, include_auxiliary=False), top_inputs)

    top_name = type(compiled).__name__
    copied_names = {cls.__name__ for cls in reader.classes.copied}
    if top_name in copied_names:
        top_name += "Network"
    taken = {top_name} | copied_names
    for variant in reader.variants:
        variant.finalize()
    # The variant with the fewest members keeps the plain block name; the others are named after
    # the members only they have (e.g. BasicBlockDownsample).
    by_base = {}
    for variant in reader.variants:
        by_base.setdefault(variant.base, []).append(variant)
    for base, variants in by_base.items():
        variants.sort(key=lambda v: len(v.template.slots()))
        plain = {m.id.split(".")[0] for m in variants[0].template.members}
        for i, variant in enumerate(variants):
            own = [m.id.split(".")[0] for m in variant.template.members]
            extra = [part for part in dict.fromkeys(own) if part not in plain]
            name = base if i == 0 else base + "".join(_camel(p, "") for p in extra)
            candidate, n = name, 2
            while candidate in taken:
                candidate, n = f"{base}{n}", n + 1
            variant.name = candidate
            taken.add(candidate)

    writer = _Writer()
    # A block class is written from its first instance with the varying arguments replaced by
    # parameter expressions, so every instance's constructor call rebuilds it exactly.
    blocks = [writer.class_text(v.name, v.doc, v.template, v.params, v.exprs)
              for v in reader.variants]
    top_doc = _docstring_text(graph.description) if graph.description else f"{graph.name}."
    network = writer.class_text(top_name, top_doc, top, [], {})

    shapes = ", ".join("×".join(map(str, n.params["shape"])) for n in inputs)
    header = [f'"""{_docstring_text(graph.name)}, written by CNN Designer as plain PyTorch.', "",
              f"Input: a batch of {shapes} tensors. Build and load weights with:", "",
              f"    model = {top_name}()",
              '    model.load_state_dict(torch.load("weights.pth", weights_only=True))',
              '    model.eval()', '"""', ""]
    # The copied designer modules use List and F; a plain network needs only torch and nn.
    copied = [inspect.getsource(cls).rstrip() for cls in reader.classes.copied]
    imports = (["from typing import List", ""] if copied else []) + ["import torch"] + \
        (["import torch.nn.functional as F"] if copied else []) + ["from torch import nn"] + \
        reader.classes.imports
    text = "\n".join(header + imports) + "\n\n\n" + "\n\n\n".join(copied + blocks + [network]) + "\n"
    _check_keys(text, top_name, compiled)
    return text


def _check_keys(text, class_name, compiled):
    """The generated class must hold the compiled model's tensors under the same names."""
    namespace = {"__name__": "designer_export_check"}
    exec(compile(text, "<generated>", "exec"), namespace)  # our own generated text
    with torch.device("meta"):
        model = namespace[class_name]()
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    want = {k: tuple(v.shape) for k, v in compiled.state_dict().items()}
    if got != want:
        diff = sorted(set(got) ^ set(want)) or [k for k in want if got[k] != want[k]]
        raise ExportError(f"internal: the generated source does not reproduce the model's "
                          f"state_dict ({', '.join(diff[:5])})")
