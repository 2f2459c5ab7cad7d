"""Graph structure: inputs, outputs, block ports, and shape plumbing (flatten, concat, add...)."""

from math import prod

from ..categories import BLOCKS, INPUT_OUTPUT, MERGE, REGULARISATION, UTILITY
from ..errors import ShapeError
from ..lazy import lazy_module
from ..params import Param, format_shape
from ..registry import BlockSpec, LayerInfo, LayerSpec, NotImportable, Role, register
from ..shapes import require_image, same_shapes, check_divides

nn = lazy_module("torch.nn")
modules = lazy_module("designer.core.modules")   # imports torch


def _identity_rule(p, shapes):
    return LayerInfo((shapes[0],))


register(LayerSpec(
    type="Input", category=INPUT_OUTPUT, title="Input", role=Role.INPUT,
    help="The network's input tensor for one sample: C×H×W for images, or a single length for a "
         "feature vector. Editing it re-flows every shape downstream.",
    params=(Param("shape", "shape", (3, 224, 224), "Channels × height × width, or features",
                  min=1, min_length=1, max_length=3),),
    inputs=(),
    rule=lambda p, shapes: LayerInfo((p.shape,)),
    build=None,
    summary=lambda p: format_shape(p.shape),
))

register(LayerSpec(
    type="Output", category=INPUT_OUTPUT, title="Output", role=Role.OUTPUT,
    help="A network output. The main output is what the model returns; auxiliary outputs "
         "(e.g. GoogLeNet's side classifiers) add their weighted loss in training and are "
         "dropped from exported inference models. Inside a block, an Output is a block output "
         "port named by `name`.",
    params=(Param("name", "str", "out", "Output (or block port) name"),
            Param("role", "choice", "main", "main or auxiliary", choices=("main", "auxiliary")),
            Param("loss_weight", "float", 1.0, "Weight of this output's loss in training", min=0.0)),
    outputs=(),
    rule=lambda p, shapes: LayerInfo((shapes[0],)),
    build=None,
    summary=lambda p: p.name if p.role == "main" else f"{p.name} (aux ×{p.loss_weight:g})",
))

register(LayerSpec(
    type="BlockInput", category=INPUT_OUTPUT, title="Block input", role=Role.BLOCK_INPUT,
    help="An input port of a block's inside; its shape comes from what feeds the block.",
    params=(Param("name", "str", "in", "Port name"),),
    inputs=(),
    rule=None, build=None,
    summary=lambda p: p.name,
))

register(LayerSpec(
    type="Identity", category=UTILITY, help="Passes its input through unchanged.",
    rule=_identity_rule, build=lambda p, s: nn.Identity(),
    imports={"torch.nn.modules.linear.Identity": lambda m, shape: {}},
))


def _flatten_rule(p, shapes):
    return LayerInfo(((prod(shapes[0]),),))


def _import_flatten(m, shape):
    if m.start_dim != 1 or m.end_dim != -1:
        raise NotImportable("flatten of other dimensions than all after the batch")
    return {}


register(LayerSpec(
    type="Flatten", category=UTILITY,
    help="Flattens C×H×W to a vector of C·H·W features, as before a fully connected layer.",
    rule=_flatten_rule, build=lambda p, s: nn.Flatten(1),
    imports={"torch.nn.modules.flatten.Flatten": _import_flatten},
))


def _concat_ports(p):
    return [f"in{i}" for i in range(p.num_inputs)]


def _concat_rule(p, shapes):
    rank = {len(s) for s in shapes}
    if rank == {3}:
        spatial = [s[1:] for s in shapes]
        if len(set(spatial)) != 1:
            listed = " and ".join(format_shape(s) for s in shapes)
            raise ShapeError(f"inputs are {listed}: their heights and widths must match")
    elif rank != {1}:
        listed = " and ".join(format_shape(s) for s in shapes)
        raise ShapeError(f"inputs are {listed}: all images or all vectors")
    channels = sum(s[0] for s in shapes)
    return LayerInfo(((channels,) + tuple(shapes[0][1:]),))


register(LayerSpec(
    type="Concat", category=MERGE, title="Concat", list_input=True,
    help="Concatenates its inputs along channels, as Inception and DenseNet do; heights and widths "
         "must match.",
    params=(Param("num_inputs", "int", 2, "Number of inputs", min=2, max=32),),
    inputs=_concat_ports,
    rule=_concat_rule, build=lambda p, s: modules.Concat(),
    summary=lambda p: f"{p.num_inputs} inputs",
))


def _add_rule(p, shapes):
    same_shapes(shapes)
    return LayerInfo((shapes[0],))


register(LayerSpec(
    type="Add", category=MERGE, title="Add", list_input=True,
    help="Element-wise sum of its inputs, the residual connection. With scale ≠ 1 it computes "
         "in0 + scale·(in1 + …), Inception-ResNet's residual scaling.",
    params=(Param("num_inputs", "int", 2, "Number of inputs", min=2, max=32),
            Param("scale", "float", 1.0, "Scale of the inputs after the first")),
    inputs=_concat_ports,
    rule=_add_rule, build=lambda p, s: modules.Add(p.scale),
    summary=lambda p: "" if p.scale == 1.0 else f"scale {p.scale:g}",
))


def _multiply_rule(p, shapes):
    x, gate = shapes
    if len(x) == 3 and gate in ((x[0], 1, 1), (x[0],), (1,) + x[1:]):
        return LayerInfo((x,))
    if gate == x:
        return LayerInfo((x,))
    if len(x) != 3:
        raise ShapeError(f"inputs are {format_shape(x)} and {format_shape(gate)}: the gate must "
                         f"be {format_shape(x)}")
    raise ShapeError(f"inputs are {format_shape(x)} and {format_shape(gate)}: the gate must be "
                     f"{format_shape(x)}, {x[0]}×1×1 or {x[0]} (per channel) or "
                     f"{format_shape((1,) + x[1:])} (per position)")


register(LayerSpec(
    type="Multiply", category=MERGE, title="Multiply", list_input=True,
    help="Multiplies a tensor by a gate of the same shape (Highway gates), one value per channel "
         "(Squeeze-and-Excitation) or one value per position (CBAM's spatial attention).",
    inputs=("in", "gate"),
    rule=_multiply_rule, build=lambda p, s: modules.Multiply(),
))


def _shuffle_rule(p, shapes):
    c = require_image(shapes[0])[0]
    check_divides(p.groups, c, "input channels")
    return LayerInfo((shapes[0],))


register(LayerSpec(
    type="ChannelShuffle", category=UTILITY, title="Channel shuffle",
    help="ShuffleNet's channel shuffle: lets information cross groups of grouped convolutions.",
    params=(Param("groups", "int", 2, "Number of groups", min=1, max=1024),),
    rule=_shuffle_rule, build=lambda p, s: modules.ChannelShuffle(p.groups),
    summary=lambda p: f"g={p.groups}",
    imports={"torch.nn.modules.channelshuffle.ChannelShuffle":
             lambda m, shape: dict(groups=m.groups)},
))


def _split_sizes(p, c):
    """The channel count of each section: `sizes` when given, else `sections` equal ones."""
    if p.sizes:
        if sum(p.sizes) != c:
            raise ShapeError(f"sections of {'+'.join(map(str, p.sizes))} = {sum(p.sizes)} "
                             f"channels do not make the input's {c}")
        return tuple(p.sizes)
    if c % p.sections:
        raise ShapeError(f"{c} channels do not split into {p.sections} equal sections")
    return (c // p.sections,) * p.sections


def _split_rule(p, shapes):
    c = require_image(shapes[0])[0]
    return LayerInfo(tuple((size,) + shapes[0][1:] for size in _split_sizes(p, c)))


register(LayerSpec(
    type="Split", category=UTILITY, title="Channel split",
    help="Splits channels into equal sections (ShuffleNet v2's channel split), or into sections "
         "of the given sizes (MixNet's mixed kernels, Res2Net's scales).",
    params=(Param("sections", "int", 2, "Number of equal sections", min=2, max=16),
            Param("sizes", "ints", (), "Channels of each section, instead of equal ones "
                  "(empty: equal)", min=1, min_length=0, max_length=64)),
    outputs=lambda p: [f"out{i}" for i in range(len(p.sizes) or p.sections)],
    rule=_split_rule, build=lambda p, s: modules.Split(p.sections, p.sizes),
    summary=lambda p: "+".join(map(str, p.sizes)) if p.sizes else f"{p.sections} ways",
))


def _import_stochastic_depth(m, shape):
    if m.mode != "row":
        raise NotImportable("stochastic depth in batch mode")
    return dict(survival_probability=1.0 - m.p)


register(LayerSpec(
    type="DropPath", category=REGULARISATION, title="Drop path",
    help="Stochastic depth (Huang et al. 2016): in training, drops a residual branch for a whole "
         "sample with probability 1 − survival probability; identity at evaluation.",
    params=(Param("survival_probability", "float", 0.8, "Probability of keeping the branch",
                  min=0.0, max=1.0),),
    rule=_identity_rule, build=lambda p, s: modules.DropPath(p.survival_probability),
    summary=lambda p: f"p={p.survival_probability:g}",
    imports={"torchvision.ops.stochastic_depth.StochasticDepth": _import_stochastic_depth},
))

register(LayerSpec(
    type="Dropout", category=REGULARISATION,
    help="Zeroes each activation with probability p in training (Srivastava et al. 2014).",
    params=(Param("p", "float", 0.5, "Drop probability", min=0.0, max=1.0),),
    rule=_identity_rule, build=lambda p, s: nn.Dropout(p.p),
    summary=lambda p: f"p={p.p:g}",
    imports={"torch.nn.modules.dropout.Dropout": lambda m, shape: dict(p=m.p)},
))

register(LayerSpec(
    type="Scale", category=UTILITY,
    help="Multiplies by a constant factor.",
    params=(Param("factor", "float", 1.0, "Factor"),),
    rule=_identity_rule, build=lambda p, s: modules.Scale(p.factor),
    summary=lambda p: f"×{p.factor:g}",
))


class _GroupSpec(BlockSpec):
    """A user's own block: its inside is stored on the node (`Node.subgraph`), not generated."""

    def subgraph(self, params, input_shapes):
        raise TypeError("a Group's inside lives on its node; use Node.block_graph()")


register(_GroupSpec(
    type="Group", category=BLOCKS, title="Group", role=Role.GROUP,
    help="A block made from a selection of layers. Open it to see and edit its inside; explode it "
         "to turn it back into separate layers.",
    params=(Param("label", "str", "", "A name to show on the block"),),
    summary=lambda p: p.label,
))
