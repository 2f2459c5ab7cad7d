"""Import an ONNX model as an editable design (`designer import model.onnx`).

The graph is read with the onnx package (shapes by its shape inference), every node is mapped
onto a catalogue layer, and initializers become the design's weights. Operators with no catalogue
layer are reported all at once with the node's name (`UnsupportedOpsError`), never approximated.
Exporters fold batch norm into the convolutions and rename such weights (`onnx::Conv_193`), so an
imported design computes what the file computes but need not have the layers of the network that
was exported. Nodes are named after the exporter's scope (`/layer1/layer1.0/conv1/Conv` becomes
`layer1.0.conv1`).
"""

import math
from pathlib import Path

import numpy as np
import torch

from designer.core.errors import DesignError
from designer.core.graph import Graph, NODE_ID
from designer.core.layout import layered_layout
from . import ModelLoadError, NodeNames, UnsupportedOpsError
from .pytorch import ImportResult, channel_bounds


def _attrs(node):
    import onnx
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _scope_name(node):
    """A readable node id from an exporter's node name: '/layer1/layer1.0/conv1/Conv' ->
    'layer1.0.conv1'; a name without scopes gives the op type."""
    name = _text(node.name)
    parts = [p for p in name.split("/") if p][:-1] if "/" in name else []
    path = ""
    for part in parts:
        path = part if not path or part.startswith(path + ".") else f"{path}.{part}"
    if not path:
        path = node.op_type.lower()
    path = "".join(c if c.isalnum() or c in "._" else "_" for c in path).strip(".")
    if not path or not (path[0].isalpha() or path[0] == "_"):
        path = "n" + path
    return path if NODE_ID.match(path) else path.replace(".", "_")


class _Unsupported(Exception):
    pass


_STANDARD_DOMAINS = ("", "ai.onnx")
_FOUR_BIT = ("INT4", "UINT4", "FLOAT4E2M1")


def _tensor_array(tensor, where):
    """The numpy array of an ONNX tensor, after checking that the file holds the values its
    shape declares: a tensor of shape 10⁹×10⁹ with no data would otherwise be allocated (or
    fail inside numpy) before anything else is read."""
    from onnx import TensorProto, helper, numpy_helper
    name = f"{where} {tensor.name!r}" if tensor.name else where
    dims = list(tensor.dims)
    if any(d < 0 for d in dims):
        raise ModelLoadError(f"the ONNX {name} has a negative dimension {dims}")
    count = math.prod(dims)
    type_name = TensorProto.DataType.Name(tensor.data_type) \
        if tensor.data_type in TensorProto.DataType.values() else str(tensor.data_type)
    try:
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type))
    except Exception:
        raise ModelLoadError(f"the ONNX {name} has an unknown element type "
                             f"({type_name})") from None
    if tensor.HasField("raw_data") or tensor.data_type == TensorProto.STRING:
        per_value = 0.5 if type_name in _FOUR_BIT else dtype.itemsize
        needed, held, unit = math.ceil(count * per_value), len(tensor.raw_data), "bytes"
        if tensor.data_type == TensorProto.STRING:
            needed, held, unit = count, len(tensor.string_data), "values"
    else:
        per_value = 2 if dtype.kind == "c" else 0.5 if type_name in _FOUR_BIT else 1
        needed, unit = math.ceil(count * per_value), "values"
        held = max(len(tensor.float_data), len(tensor.int32_data), len(tensor.int64_data),
                   len(tensor.double_data), len(tensor.uint64_data))
    shown = "×".join(map(str, dims)) or "a scalar"
    if held < needed:
        raise ModelLoadError(f"the ONNX {name} declares shape {shown} ({needed:,} {unit}) but "
                             f"the file holds {held:,}")
    try:
        return numpy_helper.to_array(tensor)
    except Exception as error:
        raise ModelLoadError(f"the ONNX {name} cannot be read: "
                             f"{str(error).splitlines()[0] if str(error) else error}") from None


def _text(value):
    """A name from the file as text: protobuf hands over a name that is not UTF-8 as bytes."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    return str(value)


def _node_text(node):
    return f"ONNX node {_text(node.name)!r} ({node.op_type})" if node.name else \
        f"the ONNX {node.op_type} node"


def _check_names(model):
    """Every node's name and tensor names are text, as ONNX requires (protobuf hands over a
    name that is not UTF-8 as bytes, which nothing downstream expects)."""
    for index, node in enumerate(model.graph.node):
        for value in [node.name, *node.input, *node.output]:
            if isinstance(value, bytes):
                raise ModelLoadError(f"ONNX node '{_text(node.name)}' (number {index + 1}, "
                                     f"{node.op_type}) has a name that is not UTF-8 text "
                                     f"('{_text(value)}'); the file is malformed")
    for tensor in model.graph.initializer:
        if isinstance(tensor.name, bytes):
            raise ModelLoadError(f"the ONNX initializer {_text(tensor.name)!r} has a name that "
                                 "is not UTF-8 text; the file is malformed")


def _check_domains(model):
    """Every node's operator domain is declared by the model's opset imports (shape inference
    fails on one that is not, with a page of text)."""
    declared = {o.domain for o in model.opset_import} | {"", "ai.onnx"}
    for node in model.graph.node:
        if node.domain not in declared:
            raise ModelLoadError(f"{_node_text(node)} uses operator domain {node.domain!r}, "
                                 "which the model does not declare")


def _opset(model):
    versions = [o.version for o in model.opset_import if o.domain in _STANDARD_DOMAINS]
    return max(versions) if versions else 1


def _check_node(node, opset):
    """A node of the standard domain has the inputs and the attributes its operator's schema
    requires (a MaxPool without kernel_shape, a BatchNormalization with two inputs)."""
    from onnx import defs
    try:
        schema = defs.get_schema(node.op_type, opset, "")
    except Exception:
        return          # an operator onnx does not know: no handler takes it, it is reported
    where = _node_text(node)
    inputs = len(node.input)
    if not schema.min_input <= inputs <= schema.max_input:
        wanted = (f"{schema.min_input}" if schema.min_input == schema.max_input
                  else f"{schema.min_input} to {schema.max_input}")
        raise ModelLoadError(f"{where} has {inputs} inputs; the operator takes {wanted}")
    given = {a.name for a in node.attribute}
    missing = sorted(n for n, a in schema.attributes.items() if a.required and n not in given)
    if missing:
        raise ModelLoadError(f"{where} lacks the attribute {', '.join(missing)}, which the "
                             "operator requires")


def _scalar(value, what):
    """A constant that must hold one number, as a float."""
    if value.size != 1:
        raise _Unsupported(f"{what} of shape {tuple(value.shape)}, not a scalar")
    return float(value.reshape(()))


class _OnnxImporter:
    def __init__(self, model, input_shape=None):
        import onnx
        _check_names(model)
        _check_domains(model)
        try:
            self.model = onnx.shape_inference.infer_shapes(model)
        except Exception as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ModelLoadError(f"the ONNX model is not valid: its shapes cannot be inferred "
                                 f"({first[:300] or type(error).__name__})") from None
        graph = self.model.graph
        self.opset = _opset(self.model)
        self.constants = {t.name: _tensor_array(t, "initializer") for t in graph.initializer}
        self.shapes = {}
        for info in list(graph.value_info) + list(graph.input) + list(graph.output):
            dims = info.type.tensor_type.shape.dim
            self.shapes[info.name] = tuple(d.dim_value if d.HasField("dim_value") else -1
                                           for d in dims)
        self.graph = Graph(Path(graph.name or "onnx").stem)
        self.names = NodeNames(self.graph)
        self.refs = {}                # tensor name -> (node id, port)
        self.state = {}
        self.unsupported = []
        self.input_shape = input_shape
        for node in graph.node:  # constants first: patterns look ahead at them
            if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                self.constants[node.output[0]] = _tensor_array(node.attribute[0].t, "constant")
        self.consumers = {}
        self.absorbed = set()         # outputs of nodes folded into an earlier layer
        self.bad = set()              # outputs of unsupported nodes
        for node in graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)

    # -- helpers ---------------------------------------------------------------------------------
    def add(self, kind, node, inputs, params=None, weights=None):
        node_id = self.names.free(_scope_name(node))
        created = self.graph.add_node(kind, node_id, params or {})
        for port, ref in zip(created.input_ports(), inputs):
            self.graph.connect(ref[0], ref[1], node_id, port)
        for key, array in (weights or {}).items():
            if np.asarray(array).dtype.kind not in "fiub":
                raise ModelLoadError(f"{_node_text(node)} takes its {key} from a tensor of "
                                     f"{np.asarray(array).dtype} values, not numbers")
            self.state[f"{node_id}.{key}"] = torch.from_numpy(np.array(array, dtype=np.float32))
        return created

    def stand_in(self, node):
        """Carry on past an unsupported node with an input of its output's shape, so the nodes
        after it are checked too and every unsupported one is reported (the design is
        discarded). Outputs of unknown shape stop the walk along that path."""
        for name in node.output:
            shape = self.shapes.get(name)
            if shape and len(shape) >= 2 and all(d >= 1 for d in shape):
                node_id = self.names.free(f"unsupported_{len(self.unsupported)}")
                created = self.graph.add_node("Input", node_id, {"shape": tuple(shape[1:])})
                self.refs[name] = (created.id, "out")
            else:
                self.bad.add(name)

    def ref(self, name):
        if name not in self.refs:
            raise _Unsupported(f"input {name!r} is not a tensor the design computes")
        return self.refs[name]

    def const(self, name):
        if name not in self.constants:
            raise _Unsupported(f"input {name!r} must be a constant")
        return self.constants[name]

    def rank(self, name):
        return len(self.shapes.get(name, ()))

    def emit(self, kind, node, inputs, params=None, weights=None):
        created = self.add(kind, node, [self.ref(n) for n in inputs], params, weights)
        ports = created.output_ports()
        for i, name in enumerate(node.output[:len(ports)]):
            self.refs[name] = (created.id, ports[i])
        return created

    # -- the walk ----------------------------------------------------------------------------------
    def run(self):
        graph = self.model.graph
        inputs = [i for i in graph.input if i.name not in self.constants]
        if len(inputs) != 1:
            raise ModelLoadError(f"the ONNX model has {len(inputs)} inputs; designs take one")
        shape = self.input_shape or self.shapes[inputs[0].name][1:]
        if any(d < 1 for d in shape):
            raise ModelLoadError("the ONNX model's input size is not fixed: give --input CxHxW")
        self.graph.add_node("Input", "input", {"shape": tuple(shape)})
        self.refs[inputs[0].name] = ("input", "out")
        for node in graph.node:
            if node.output and node.output[0] in self.absorbed:
                continue
            if any(name in self.bad for name in node.input):
                self.bad.update(node.output)  # behind an unsupported op: reported there
                continue
            handler = getattr(self, f"op_{node.op_type}", None)
            try:
                if node.domain not in _STANDARD_DOMAINS:
                    raise _Unsupported(f"in operator domain {node.domain}")
                _check_node(node, self.opset)
                if handler is None:
                    raise _Unsupported("")
                try:
                    handler(node, _attrs(node))
                except (_Unsupported, ModelLoadError):
                    raise
                except (DesignError, ArithmeticError, LookupError, TypeError, ValueError) as error:
                    # A value no exporter writes (an out_channels of 0, a stride of -1): the
                    # node is malformed; say which, in a sentence.
                    raise ModelLoadError(f"{_node_text(node)} cannot be imported: "
                                         f"{error}") from None
            except _Unsupported as why:
                text = str(why)
                self.unsupported.append((f"{node.op_type} ({text})" if text else node.op_type,
                                         _text(node.name) or _node_text(node)))
                self.stand_in(node)
        for i, output in enumerate(graph.output):
            if output.name in self.refs:
                name = "output" if len(graph.output) == 1 else f"output{i}"
                ref = self.refs[output.name]
                self.graph.add_node("Output", name, {"name": name})
                self.graph.connect(ref[0], ref[1], name, "in")
        if self.unsupported:
            raise UnsupportedOpsError(self.unsupported)
        layered_layout(self.graph)
        return ImportResult(self.graph, self.state)

    # -- constants and pass-throughs ---------------------------------------------------------------
    def op_Constant(self, node, a):
        if "value" not in a:
            raise _Unsupported("only tensor constants")
        self.constants[node.output[0]] = _tensor_array(a["value"], "constant")

    def op_Identity(self, node, a):
        source = node.input[0]
        if source in self.constants:
            self.constants[node.output[0]] = self.constants[source]
        else:
            self.refs[node.output[0]] = self.ref(source)

    def op_Dropout(self, node, a):
        self.refs[node.output[0]] = self.ref(node.input[0])

    # -- layers ------------------------------------------------------------------------------------
    def op_Conv(self, node, a):
        weight = self.const(node.input[1])
        if weight.ndim != 4 or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise _Unsupported("only 2-D convolutions with explicit pads")
        pads = a.get("pads", [0, 0, 0, 0])
        if pads[:2] != pads[2:]:
            raise _Unsupported(f"asymmetric pads {pads}")
        bias = len(node.input) > 2 and node.input[2] != ""
        weights = {"weight": weight}
        if bias:
            weights["bias"] = self.const(node.input[2])
        self.emit("Conv2d", node, node.input[:1], dict(
            out_channels=weight.shape[0], kernel=tuple(weight.shape[2:]),
            stride=tuple(a.get("strides", [1, 1])), padding=tuple(pads[:2]),
            dilation=tuple(a.get("dilations", [1, 1])), groups=a.get("group", 1), bias=bias),
            weights)

    def op_BatchNormalization(self, node, a):
        scale, bias, mean, var = (self.const(n) for n in node.input[1:5])
        weights = {"weight": scale, "bias": bias, "running_mean": mean, "running_var": var}
        created = self.emit("BatchNorm", node, node.input[:1],
                            dict(eps=float(a.get("epsilon", 1e-5)),
                                 momentum=round(1.0 - float(a.get("momentum", 0.9)), 6)), weights)
        self.state[f"{created.id}.num_batches_tracked"] = torch.tensor(0)

    def op_Gemm(self, node, a):
        if a.get("transA", 0) or not a.get("transB", 0) or a.get("alpha", 1.0) != 1.0 \
                or a.get("beta", 1.0) != 1.0:
            raise _Unsupported("only x·Wᵀ + b")
        weight = self.const(node.input[1])
        features = self.shapes.get(node.input[0], ())
        if weight.ndim != 2 or (len(features) == 2 and features[1] >= 1 and
                                weight.shape[1] != features[1]):
            raise ModelLoadError(f"{_node_text(node)} has a weight of shape "
                                 f"{'×'.join(map(str, weight.shape))}, which does not take its "
                                 f"input of {features[-1] if features else '?'} features")
        weights = {"weight": weight}
        if len(node.input) > 2:
            weights["bias"] = self.const(node.input[2])
            if weights["bias"].size not in (1, weight.shape[0]):
                raise ModelLoadError(f"{_node_text(node)} has a bias of "
                                     f"{weights['bias'].size} values for "
                                     f"{weight.shape[0]} outputs")
        self.emit("Linear", node, node.input[:1], dict(out_features=weight.shape[0],
                                                        bias=len(node.input) > 2), weights)

    def op_MatMul(self, node, a):
        weight = self.const(node.input[1])
        if weight.ndim != 2:
            raise _Unsupported("only a product with a constant matrix")
        kind = "Linear" if self.rank(node.input[0]) == 2 else "PositionwiseLinear"
        # A following Add of a constant vector is the bias.
        users = self.consumers.get(node.output[0], [])
        bias = None
        if len(users) == 1 and users[0].op_type == "Add":
            other = [n for n in users[0].input if n != node.output[0]]
            if other and other[0] in self.constants and self.constants[other[0]].shape == (weight.shape[1],):
                bias = self.constants[other[0]]
                self.absorbed.add(users[0].output[0])
        weights = {"weight": weight.T}
        if bias is not None:
            weights["bias"] = bias
        created = self.emit(kind, node, node.input[:1], dict(out_features=weight.shape[1],
                                                              bias=bias is not None), weights)
        if bias is not None:
            self.refs[users[0].output[0]] = (created.id, "out")

    def op_LayerNormalization(self, node, a):
        if a.get("axis", -1) not in (-1, self.rank(node.input[0]) - 1):
            raise _Unsupported("normalisation over more than the last axis")
        weights = {"weight": self.const(node.input[1])}
        if len(node.input) > 2:
            weights["bias"] = self.const(node.input[2])
        else:
            raise _Unsupported("layer norm without a bias")
        self.emit("LayerNorm", node, node.input[:1], {"eps": float(a.get("epsilon", 1e-5))},
                  weights)

    def _simple(kind):
        def handler(self, node, a):
            self.emit(kind, node, node.input[:1])
        return handler

    op_Relu = _simple("ReLU")
    op_Sigmoid = _simple("Sigmoid")
    op_Tanh = _simple("Tanh")
    op_HardSwish = _simple("Hardswish")
    del _simple

    def op_HardSigmoid(self, node, a):
        if abs(a.get("alpha", 0.2) - 1 / 6) > 1e-6 or abs(a.get("beta", 0.5) - 0.5) > 1e-6:
            raise _Unsupported("only torch's hard sigmoid (α = 1/6, β = 0.5)")
        self.emit("Hardsigmoid", node, node.input[:1])

    def op_LeakyRelu(self, node, a):
        self.emit("LeakyReLU", node, node.input[:1], {"negative_slope": float(a.get("alpha", 0.01))})

    def op_Elu(self, node, a):
        self.emit("ELU", node, node.input[:1], {"alpha": float(a.get("alpha", 1.0))})

    def op_Clip(self, node, a):
        def bound(index, what):
            if len(node.input) > index and node.input[index]:
                return _scalar(self.const(node.input[index]), what)
            return None
        low, high = bound(1, "a minimum"), bound(2, "a maximum")
        if (low, high) == (0.0, 6.0):
            self.emit("ReLU6", node, node.input[:1])
        elif (low, high) == (0.0, None):
            self.emit("ReLU", node, node.input[:1])
        else:
            raise _Unsupported(f"clipping to [{low}, {high}]")

    def op_Softmax(self, node, a):
        if a.get("axis", -1) not in (1, -1) or self.rank(node.input[0]) != 2:
            raise _Unsupported("softmax over other than the features")
        self.emit("Softmax", node, node.input[:1])

    def _pool(self, node, a, kind):
        pads = a.get("pads", [0, 0, 0, 0])
        if pads[:2] != pads[2:] or a.get("dilations", [1, 1]) != [1, 1]:
            raise _Unsupported("asymmetric pads or dilation")
        params = dict(kernel=tuple(a["kernel_shape"]), stride=tuple(a.get("strides", [1, 1])),
                      padding=tuple(pads[:2]), ceil_mode=bool(a.get("ceil_mode", 0)))
        if kind == "AvgPool2d":
            params["count_include_pad"] = bool(a.get("count_include_pad", 0))
        self.emit(kind, node, node.input[:1], params)

    def op_MaxPool(self, node, a):
        if len(node.output) > 1 and node.output[1]:
            raise _Unsupported("returned indices")
        self._pool(node, a, "MaxPool2d")

    def op_AveragePool(self, node, a):
        self._pool(node, a, "AvgPool2d")

    def op_GlobalAveragePool(self, node, a):
        self.emit("GlobalAvgPool2d", node, node.input[:1], {"flatten": False})

    def op_ReduceMean(self, node, a):
        """A mean over height and width (the dynamo exporter's global average pooling): axes
        are an input from opset 18, an attribute before."""
        if len(node.input) > 1 and node.input[1]:
            axes = self.const(node.input[1]).reshape(-1).tolist()
        else:
            axes = list(a.get("axes", []))
        rank = self.rank(node.input[0])
        if rank != 4 or sorted(int(d) % rank for d in axes) != [2, 3]:
            raise _Unsupported(f"a mean over axes {axes}, not height and width")
        self.emit("GlobalAvgPool2d", node, node.input[:1], {"flatten": not a.get("keepdims", 1)})

    def op_GlobalMaxPool(self, node, a):
        self.emit("GlobalMaxPool2d", node, node.input[:1], {"flatten": False})

    def op_LRN(self, node, a):
        self.emit("LocalResponseNorm", node, node.input[:1], dict(
            size=a["size"], alpha=float(a.get("alpha", 1e-4)), beta=float(a.get("beta", 0.75)),
            k=float(a.get("bias", 1.0))))

    def op_Flatten(self, node, a):
        if a.get("axis", 1) != 1:
            raise _Unsupported("flatten at an axis other than 1")
        self.emit("Flatten", node, node.input[:1])

    def op_Reshape(self, node, a):
        self.const(node.input[1])  # a computed target shape is not a fixed layer
        shape = self.shapes.get(node.output[0])
        gather = self._only_user(node.output[0], "Gather")
        if shape and len(shape) == 1 and gather and self._in_order(gather, shape[0]):
            # as_strided as the dynamo exporter writes it: flatten everything, then gather
            # every element in order: a reshape to the gather's shape.
            self.absorbed.add(gather.output[0])
            shape = self.shapes.get(gather.output[0])
            if not shape or len(shape) < 2 or shape[0] != self.shapes.get(node.input[0], (0,))[0]:
                raise _Unsupported("a strided view that mixes the batch with other dimensions")
            if shape == self.shapes.get(node.input[0]):
                self.refs[gather.output[0]] = self.ref(node.input[0])
            else:
                created = self.emit("Reshape", node, node.input[:1], {"shape": tuple(shape[1:])})
                self.refs[gather.output[0]] = (created.id, "out")
            return
        if not shape or any(d < 1 for d in shape[1:]):
            raise _Unsupported("a reshape whose output shape is unknown")
        if len(shape) == 2 and self.rank(node.input[0]) > 2:
            self.emit("Flatten", node, node.input[:1])
        else:
            self.emit("Reshape", node, node.input[:1], {"shape": tuple(shape[1:])})

    def _in_order(self, gather, size):
        """A Gather along axis 0 of constant indices 0, 1, …, size - 1 (every element of a
        flat tensor of `size`, in order)."""
        indices = self.constants.get(gather.input[1])
        return _attrs(gather).get("axis", 0) == 0 and indices is not None and \
            indices.size == size and np.array_equal(indices.reshape(-1), np.arange(size))

    def op_Transpose(self, node, a):
        # Without perm, ONNX reverses the axes (which moves the batch).
        perm = list(a.get("perm", reversed(range(self.rank(node.input[0]) or 4))))
        if perm[0] != 0:
            raise _Unsupported("a transpose that moves the batch")
        self.emit("Permute", node, node.input[:1], {"dims": tuple(d - 1 for d in perm[1:])})

    def _only_user(self, name, op_type):
        users = self.consumers.get(name, [])
        return users[0] if len(users) == 1 and users[0].op_type == op_type else None

    def _constant_input(self, node, value):
        return any(n in self.constants and self.constants[n].size == 1
                   and abs(float(self.constants[n].reshape(())) - value) < 1e-4 for n in node.input)

    def op_Div(self, node, a):
        divisor = self.const(node.input[1])
        if divisor.size != 1:
            raise _Unsupported("dividing by a tensor")
        if not float(divisor.reshape(())) or not math.isfinite(float(divisor.reshape(()))):
            raise _Unsupported(f"dividing by {float(divisor.reshape(()))}")
        if abs(float(divisor.reshape(())) - 2 ** 0.5) < 1e-4 and self._gelu(node):
            return
        self.emit("Scale", node, node.input[:1], {"factor": 1.0 / float(divisor.reshape(()))})

    def _gelu(self, div):
        """torch's exact GELU, x · 0.5 · (erf(x / √2) + 1), from the Div on: the legacy exporter
        multiplies by x first and 0.5 last, the dynamo exporter 0.5 first and x last. Emits
        one GELU for the five nodes when they are that."""
        x = div.input[0]
        erf = self._only_user(div.output[0], "Erf")
        add = erf and self._only_user(erf.output[0], "Add")
        first = add and self._constant_input(add, 1.0) and self._only_user(add.output[0], "Mul")
        second = first and self._only_user(first.output[0], "Mul")
        if not second:
            return False
        others = [n for n in first.input if n != add.output[0]] + \
                 [n for n in second.input if n != first.output[0]]
        halves = [n for n in others if n in self.constants and self.constants[n].size == 1
                  and abs(float(self.constants[n].reshape(())) - 0.5) < 1e-6]
        if len(others) != 2 or len(halves) != 1 or [n for n in others if n not in halves] != [x]:
            return False
        created = self.emit("GELU", div, [x])
        for part in (erf, add, first, second):
            self.absorbed.add(part.output[0])
        self.refs[second.output[0]] = (created.id, "out")
        return True

    def op_Add(self, node, a):
        if any(n in self.constants for n in node.input):
            raise _Unsupported("adding a constant")
        shapes = [self.shapes.get(n) for n in node.input]
        if shapes[0] != shapes[1]:
            raise _Unsupported("adding tensors of different shapes (broadcast)")
        self.emit("Add", node, node.input[:2])

    def op_Mul(self, node, a):
        consts = [n for n in node.input if n in self.constants]
        if consts:
            value = self.constants[consts[0]]
            x = [n for n in node.input if n not in consts][0]
            if value.size == 1:
                return self.emit("Scale", node, [x], {"factor": float(value.reshape(()))})
            shape = self.shapes.get(x, ())
            channels_last = value.ndim == 1
            expected = (shape[-1],) if channels_last else (shape[1], 1, 1)
            if tuple(value.shape) != expected:
                raise _Unsupported(f"multiplying by a constant of shape {value.shape}")
            return self.emit("LayerScale", node, [x], {"channels_last": channels_last},
                             {"scale": value})
        x_shape, g_shape = (self.shapes.get(n) for n in node.input)
        inputs = list(node.input)
        if x_shape != self.shapes.get(node.output[0]):
            inputs.reverse()
            x_shape, g_shape = g_shape, x_shape
        if g_shape not in (x_shape, x_shape[:2] + (1, 1)):
            raise _Unsupported("a broadcast other than a per-channel gate")
        self.emit("Multiply", node, inputs)

    def op_Concat(self, node, a):
        if len(node.input) == 1:      # torchvision densenet's first layer: the tensor itself
            self.refs[node.output[0]] = self.ref(node.input[0])
            return
        if a.get("axis") not in (1, 1 - self.rank(node.input[0])):
            raise _Unsupported("concatenation along other than channels")
        self.emit("Concat", node, list(node.input), {"num_inputs": len(node.input)})

    def op_Slice(self, node, a):
        """x[:, start:end], a range of channels (DPN's and ReXNet's partial residual, GhostNet's
        trim): starts, ends, axes and steps are constant inputs from opset 10, attributes
        before; a negative index counts from the end."""
        def given(index, attribute):
            if len(node.input) > index and node.input[index]:
                return [int(v) for v in self.const(node.input[index]).reshape(-1).tolist()]
            return [int(v) for v in a[attribute]] if attribute in a else None
        starts, ends = given(1, "starts"), given(2, "ends")
        axes, steps = given(3, "axes"), given(4, "steps")
        shape = self.shapes.get(node.input[0], ())
        if starts is None or ends is None or len(shape) < 2 or shape[1] < 1:
            raise _Unsupported("a slice of unknown extent")
        axes = list(range(len(starts))) if axes is None else axes
        if [d % len(shape) for d in axes] != [1] or steps not in (None, [1]):
            raise _Unsupported("a slice other than a range of channels")
        picked = channel_bounds(starts[0], ends[0], shape[1])   # as Python clamps x[:, a:b]
        if picked is None:
            raise _Unsupported("an empty range of channels")
        start, end = picked
        self.emit("ChannelSlice", node, node.input[:1], {"channels": end - start, "start": start})

    def op_Split(self, node, a):
        sizes = self.const(node.input[1]) if len(node.input) > 1 else None
        if a.get("axis", 0) != 1 or (sizes is not None and len(set(sizes.tolist())) != 1):
            raise _Unsupported("a split other than equal channel sections")
        self.emit("Split", node, node.input[:1], {"sections": len(node.output)})


def import_onnx(path, input_shape=None):
    """The ONNX file at `path` as an ImportResult (design and weights by the design's names)."""
    import onnx
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ModelLoadError(f"{path}: an empty file, not an ONNX model")
    try:
        model = onnx.load(str(path))
    except Exception as error:
        raise ModelLoadError(f"{path}: not a readable ONNX file ({error})") from None
    if not model.HasField("graph") or not model.opset_import:
        raise ModelLoadError(f"{path}: not an ONNX model (it holds no graph or no opset)")
    result = _OnnxImporter(model, input_shape).run()
    result.graph.set_metadata(name=path.stem,
                              description=f"Imported from {path.name} by `designer import`.")
    return result
