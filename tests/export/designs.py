"""Small designs that exercise what export must handle: user blocks (Group nodes) with and without
a projection shortcut, dotted ids (chains and non-chains), multi-input and multi-output layers,
every custom module of `designer.core.modules`, and an auxiliary head that export drops."""

from designer.core.builder import GraphBuilder, Ref


def basic_block(in_channels, out_channels, stride):
    """The inside of a ResNet basic block as a user's group (torchvision's module names)."""
    b = GraphBuilder("BasicBlock")
    x = b.block_input("in")
    y = b.add("Conv2d", "conv1", x, out_channels=out_channels, kernel=3, stride=stride, padding=1,
              bias=False)
    y = b.add("BatchNorm", "bn1", y)
    y = b.add("ReLU", "relu", y)
    y = b.add("Conv2d", "conv2", y, out_channels=out_channels, kernel=3, padding=1, bias=False)
    y = b.add("BatchNorm", "bn2", y)
    shortcut = x
    if stride != 1 or in_channels != out_channels:
        shortcut = b.add("Conv2d", "downsample.0", x, out_channels=out_channels, kernel=1,
                         stride=stride, padding=0, bias=False)
        shortcut = b.add("BatchNorm", "downsample.1", shortcut)
    y = b.add("Add", "add", y, shortcut)
    y = b.add("DropPath", "drop_path", y, survival_probability=0.9)
    y = b.add("ReLU", "relu_out", y)
    b.output(y, "out", name="out")
    return b.finish(layout=False)


def _group(b, node_id, ref, inside, label):
    b.graph.add_node("Group", node_id, {"label": label}, subgraph=inside)
    b.graph.connect(ref.node, ref.port, node_id, "in")
    return Ref(node_id)


def mixed_net(size=16, with_aux=True):
    """A small residual network touching every export path; input 3×size×size, 10 classes."""
    b = GraphBuilder("Mixed Net", "A test network: residual groups, shuffles and two heads.")
    x = b.input((3, size, size))
    x = b.add("Conv2d", "stem.0", x, out_channels=8, kernel=3, padding=1, bias=False)
    x = b.add("BatchNorm", "stem.1", x)
    x = b.add("ReLU", "stem.2", x)
    x = _group(b, "layer1.0", x, basic_block(8, 8, 1), "BasicBlock")
    x = _group(b, "layer1.1", x, basic_block(8, 8, 1), "BasicBlock")
    x = _group(b, "layer2.0", x, basic_block(8, 16, 2), "BasicBlock")
    x = _group(b, "layer2.1", x, basic_block(16, 16, 1), "BasicBlock")
    left, right = b.add("Split", "split", x, sections=2)
    right = b.add("SeparableConv2d", "sep", right, out_channels=8, kernel=3, padding=1)
    x = b.add("Concat", "cat", left, right, num_inputs=2)
    x = b.add("ChannelShuffle", "shuffle", x, groups=2)
    x = b.add("Scale", "scale", x, factor=0.5)
    a = b.add("DepthwiseConv2d", "head.a", x, kernel=3, padding=1)
    c = b.add("PointwiseConv2d", "head.b", x, out_channels=16)
    x = b.add("Multiply", "gate", a, b.add("Sigmoid", "head.gate", c))
    pooled = b.add("GlobalAvgPool2d", "pool", x, flatten=True)
    y = b.add("Dropout", "dropout", pooled, p=0.2)
    y = b.add("Linear", "fc", y, out_features=10)
    b.output(y)
    if with_aux:
        aux = b.add("GlobalMaxPool2d", "aux_pool", x, flatten=True)
        aux = b.add("Linear", "aux_fc", aux, out_features=10)
        b.output(aux, "aux_out", role="auxiliary", loss_weight=0.3)
    return b.finish()


def broken_net():
    """A design with a shape error (a 7×7 kernel on a 4×4 input)."""
    b = GraphBuilder("Broken")
    x = b.input((3, 4, 4))
    x = b.add("Conv2d", "conv", x, out_channels=4, kernel=7, padding=0)
    b.output(x)
    return b.finish()


def _two_headed(channels):
    """A group with two used outputs and one unused one (whose layer export must drop)."""
    b = GraphBuilder("TwoHeads")
    x = b.block_input("in")
    b.output(b.add("Conv2d", "a", x, out_channels=channels, kernel=1), "out_a", name="a")
    b.output(b.add("Conv2d", "b", x, out_channels=channels, kernel=3, padding=1), "out_b", name="b")
    b.output(b.add("Conv2d", "unused", x, out_channels=3, kernel=1), "out_c", name="c")
    return b.finish(layout=False)


def _stage(channels):
    """A group holding two groups (blocks nest)."""
    b = GraphBuilder("Stage")
    x = b.block_input("in")
    x = _group(b, "blocks.0", x, basic_block(channels, channels, 1), "BasicBlock")
    x = _group(b, "blocks.1", x, basic_block(channels, channels, 1), "BasicBlock")
    b.output(x, "out", name="out")
    return b.finish(layout=False)


def nested_net(size=12):
    """Nested groups, a multi-output group with an unused port, Inception-style dotted branches."""
    b = GraphBuilder("nested-net", "Nested groups and branches.")
    x = b.input((3, size, size))
    x = b.add("Conv2d", "stem", x, out_channels=8, kernel=3, padding=1)
    x = _group(b, "stage", x, _stage(8), "Stage")
    b.graph.add_node("Group", "heads", {"label": "two heads"}, subgraph=_two_headed(4))
    b.graph.connect(x.node, x.port, "heads", "in")
    x = b.add("Concat", "join", Ref("heads", "a"), Ref("heads", "b"), num_inputs=2)
    one = b.add("Conv2d", "branch1", x, out_channels=4, kernel=1)
    two = b.add("Conv2d", "branch2.0", x, out_channels=4, kernel=1)
    two = b.add("Conv2d", "branch2.1", two, out_channels=6, kernel=3, padding=1)
    three = b.add("MaxPool2d", "branch3.0", x, kernel=3, stride=1, padding=1)
    three = b.add("Conv2d", "branch3.1", three, out_channels=2, kernel=1)
    x = b.add("Concat", "mixed", one, two, three, num_inputs=3)
    x = b.add("AdaptiveAvgPool2d", "pool", x, output_size=2)
    x = b.add("Flatten", "flatten", x)
    b.output(b.add("Linear", "fc", x, out_features=5))
    return b.finish()


def resnet18_groups(size=32):
    """torchvision's resnet18 drawn with user groups: its state_dict keys are torchvision's."""
    b = GraphBuilder("ResNet-18 (groups)")
    x = b.input((3, size, size))
    x = b.add("Conv2d", "conv1", x, out_channels=64, kernel=7, stride=2, padding=3, bias=False)
    x = b.add("BatchNorm", "bn1", x)
    x = b.add("ReLU", "relu", x)
    x = b.add("MaxPool2d", "maxpool", x, kernel=3, stride=2, padding=1)
    channels = 64
    for stage, (width, stride) in enumerate(((64, 1), (128, 2), (256, 2), (512, 2)), start=1):
        for index in range(2):
            s = stride if index == 0 else 1
            x = _group(b, f"layer{stage}.{index}", x, basic_block(channels, width, s), "BasicBlock")
            channels = width
    x = b.add("GlobalAvgPool2d", "avgpool", x, flatten=True)
    b.output(b.add("Linear", "fc", x, out_features=1000))
    return b.finish()
