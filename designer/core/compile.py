"""Compile a valid graph to a `torch.fx.GraphModule`.

Module paths follow node names, blocks nest: a block node `layer1_0` holding a layer `conv1`
becomes the submodule `layer1_0.conv1`, so state_dict keys read like hand-written PyTorch. The
result scripts with TorchScript. A model with auxiliary outputs returns a tuple (main outputs
first, then auxiliary ones); `include_auxiliary=False` drops the auxiliary heads entirely.
"""

import keyword
import operator
import unicodedata

from torch import fx, nn

from .errors import CompileError
from .infer import analyze, input_states, live_sums
from .memory import check_fits
from .registry import Role


def _check(graph, results):
    errors = [(nid, r.error) for nid, r in results.items() if r.error]
    if errors:
        listed = "; ".join(f"{nid}: {text}" for nid, text in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise CompileError(f"the design has {len(errors)} error(s): {listed}{more}")


def _placeholder_name(node_id):
    return node_id.replace(".", "_")


class _Compiler:
    def __init__(self):
        self.root = nn.Module()
        self.fx_graph = fx.Graph()
        self.paths = set()

    def _register(self, path, module):
        parts = path.split(".")
        parent = self.root
        for part in parts[:-1]:
            child = getattr(parent, part, None) if part in parent._modules else None
            if child is None:
                child = nn.Module()
                parent.add_module(part, child)
            elif not type(child) is nn.Module:
                raise CompileError(f"the name {path!r} nests inside the layer {part!r}")
            parent = child
        if parts[-1] in parent._modules:
            raise CompileError(f"two layers compile to the module name {path!r}")
        parent.add_module(parts[-1], module)

    def emit(self, graph, results, prefix, inputs):
        """Emit fx nodes for `graph`; `inputs` maps BlockInput names to fx values. Returns the
        values of the graph's Output nodes, by node id."""
        order, _ = graph.topological_order()
        values = {}          # (node id, port) -> fx value
        outputs = {}
        for nid in order:
            node = graph.nodes[nid]
            path = f"{prefix}{nid}"
            args = []
            for port in node.input_ports():
                edge = graph.in_edge(nid, port)
                args.append(values[(edge.src, edge.src_port)])
            states = list(input_states(graph, results, nid).values())  # all known: no errors
            if node.role is Role.INPUT:
                values[(nid, "out")] = self.fx_graph.placeholder(_placeholder_name(path))
            elif node.role is Role.BLOCK_INPUT:
                values[(nid, "out")] = inputs[node.params["name"]]
            elif node.role is Role.OUTPUT:
                outputs[nid] = args[0]
            elif node.is_block:
                inner = node.block_graph([s.shape for s in states])
                inner_results = analyze(inner, dict(zip(node.input_ports(), states)))
                inner_out = self.emit(inner, inner_results, path + ".",
                                      dict(zip(node.input_ports(), args)))
                for out_node in inner.nodes_of_role(Role.OUTPUT):
                    values[(nid, out_node.params["name"])] = inner_out[out_node.id]
            else:
                self._register(path, node.spec.build(node.params, [s.shape for s in states]))
                call_args = (args,) if node.spec.list_input else tuple(args)
                value = self.fx_graph.call_module(path, call_args)
                ports = node.output_ports()
                if len(ports) == 1:
                    values[(nid, ports[0])] = value
                else:
                    for i, port in enumerate(ports):
                        values[(nid, port)] = self.fx_graph.call_function(operator.getitem, (value, i))
        return outputs


def output_nodes(graph, include_auxiliary=True):
    """Output nodes in the order the compiled model returns them: main, then auxiliary."""
    outs = graph.nodes_of_role(Role.OUTPUT)
    main = [n for n in outs if n.params["role"] == "main"]
    aux = [n for n in outs if n.params["role"] == "auxiliary"]
    return main + (aux if include_auxiliary else [])


def compile_graph(graph, include_auxiliary=True):
    """The graph as a `torch.fx.GraphModule`, or CompileError naming what is wrong."""
    results = analyze(graph)
    _check(graph, results)
    if not graph.nodes_of_role(Role.INPUT):
        raise CompileError("the design has no Input node")
    returned = output_nodes(graph, include_auxiliary)
    if not returned:
        raise CompileError("the design has no main Output node")
    # The weights are allocated below: refuse a design whose weights cannot fit, with the number.
    check_fits(live_sums(graph, results)[0], 0, 0, "building the model")
    compiler = _Compiler()
    outputs = compiler.emit(graph, results, "", {})
    values = [outputs[n.id] for n in returned]
    compiler.fx_graph.output(values[0] if len(values) == 1 else tuple(values))
    module = fx.GraphModule(compiler.root, compiler.fx_graph, class_name=_class_name(graph.name))
    # Drop what feeds no returned output (auxiliary heads when they are excluded).
    if module.graph.eliminate_dead_code():
        module.delete_all_unused_submodules()
        module.recompile()
    return module


def _class_name(name):
    words = "".join(c if c.isalnum() else " " for c in name).split()
    text = "".join(w[:1].upper() + w[1:] for w in words) or "Network"
    text = text if text[0].isalpha() else "Net" + text
    # Python refuses "²" in names and folds "ﬀ" to "ff" (NFKC); keywords are not names either.
    usable = text.isidentifier() and unicodedata.normalize("NFKC", text) == text
    return text if usable and not keyword.iskeyword(text) else "Network"
