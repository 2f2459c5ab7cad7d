"""A compact way to write graphs in code (blocks' expansions and preset generators).

    b = GraphBuilder("LeNet-5")
    x = b.input((1, 32, 32))
    x = b.add("Conv2d", "c1", x, out_channels=6, kernel=5, padding="valid")
    b.output(x)
    graph = b.finish()

`add` returns a `Ref` to the node's first output (or a tuple of refs for several outputs).
"""

from dataclasses import dataclass

from .graph import Graph


@dataclass(frozen=True)
class Ref:
    node: str
    port: str = "out"


class GraphBuilder:
    def __init__(self, name="untitled", description=""):
        self.graph = Graph(name, description)
        self._batch = self.graph.batch()
        self._batch.__enter__()

    def add(self, type_name, node_id, *inputs, **params):
        node = self.graph.add_node(type_name, node_id, params)
        for port, ref in zip(node.input_ports(), inputs):
            self.graph.connect(ref.node, ref.port, node.id, port)
        if len(inputs) > len(node.input_ports()):
            raise ValueError(f"{node_id}: {len(inputs)} inputs given, {type_name} takes "
                             f"{len(node.input_ports())}")
        outputs = [Ref(node.id, port) for port in node.output_ports()]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def conv_norm_act(self, x, ids, conv="Conv2d", act="ReLU", **conv_params):
        """A convolution, batch norm and activation: timm's `ConvNormAct` as three nodes, named
        by `ids` (conv, norm, act) after the reference implementation whose weights the block
        loads. `act=None` leaves the activation out (and its id may be left out). The
        convolution (`conv` type, e.g. "DepthwiseConv2d") has no bias unless asked, and an int
        kernel k is padded by k // 2 unless told (odd kernels keep the size, as in timm)."""
        if act and len(ids) != 3:
            raise ValueError(f"{ids}: conv, norm and {act} need three node ids")
        conv_params.setdefault("bias", False)
        if isinstance(conv_params.get("kernel"), int):
            conv_params.setdefault("padding", conv_params["kernel"] // 2)
        y = self.add("BatchNorm", ids[1], self.add(conv, ids[0], x, **conv_params))
        return self.add(act, ids[2], y) if act else y

    def input(self, shape, node_id="input"):
        return self.add("Input", node_id, shape=shape)

    def block_input(self, name="in"):
        return self.add("BlockInput", name, name=name)

    def output(self, ref, node_id="output", name=None, role="main", loss_weight=1.0):
        return self.add("Output", node_id, ref, name=name or node_id, role=role,
                        loss_weight=loss_weight)

    def finish(self, layout=True):
        self._batch.__exit__(None, None, None)
        if layout:
            from .layout import layered_layout
            layered_layout(self.graph)
        return self.graph
