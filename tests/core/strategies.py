"""Hypothesis strategies built from the catalogue's own parameter declarations."""

from hypothesis import strategies as st

from designer.core.builder import GraphBuilder
from designer.core.infer import analyze

# Small bounds keep every example cheap; the rules do not special-case sizes.
SMALL = {"out_channels": 12, "out_features": 16, "groups": 4, "multiplier": 3, "num_inputs": 3,
         "sections": 3, "size": 7, "levels": 4}


def param_strategy(param):
    lo = param.min if param.min is not None else 0
    if param.kind == "int":
        hi = min(param.max if param.max is not None else lo + 8, lo + SMALL.get(param.name, 6))
        return st.integers(int(lo), int(hi))
    if param.kind == "float":
        lo = param.min if param.min is not None else -2.0
        hi = param.max if param.max is not None else 2.0
        return st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if param.kind == "bool":
        return st.booleans()
    if param.kind == "choice":
        return st.sampled_from(param.choices)
    if param.kind == "pair":
        hi = min(param.max if param.max is not None else 5, int(lo) + 4)
        return st.tuples(st.integers(int(lo), hi), st.integers(int(lo), hi))
    if param.kind == "padding":
        return st.one_of(st.sampled_from(["same", "valid"]),
                         st.tuples(st.integers(0, 3), st.integers(0, 3)))
    if param.kind in ("ints", "shape"):
        return st.lists(st.integers(max(1, int(lo)), 4), min_size=param.min_length,
                        max_size=min(param.max_length, 3)).map(tuple)
    if param.kind == "str":
        return st.just(param.default)
    raise AssertionError(param.kind)


def params_for(spec):
    return st.fixed_dictionaries({p.name: param_strategy(p) for p in spec.params})


image_shapes = st.tuples(st.integers(1, 8), st.integers(1, 12), st.integers(1, 12))
vector_shapes = st.tuples(st.integers(1, 24))


@st.composite
def random_graphs(draw):
    """A graph grown step by step from an image input: each step appends a layer to a random
    existing tensor, or merges two same-shaped tensors (Add) or same-sized ones (Concat).
    Windows are drawn so they always fit (the rules for misfits are tested elsewhere)."""
    b = GraphBuilder("random")
    c, h, w = draw(st.integers(1, 6)), draw(st.integers(6, 14)), draw(st.integers(6, 14))
    tensors = [(b.input((c, h, w)), (c, h, w))]
    for i in range(draw(st.integers(1, 9))):
        kind = draw(st.sampled_from(["conv", "conv", "dw", "pool", "bn", "act", "add", "concat", "shuffle"]))
        ref, (c, h, w) = draw(st.sampled_from(tensors))
        name = f"n{i}"
        if kind == "conv":
            k = draw(st.integers(1, min(3, h, w)))
            groups = draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))
            out = groups * draw(st.integers(1, 4))
            padding = draw(st.sampled_from(["same", "valid", (k // 2, k // 2)]))
            stride = 1 if padding == "same" and k % 2 == 0 else draw(st.integers(1, 2))
            ref = b.add("Conv2d", name, ref, out_channels=out, kernel=k, stride=stride,
                        padding=padding, groups=groups, bias=draw(st.booleans()))
        elif kind == "dw":
            ref = b.add("DepthwiseConv2d", name, ref, kernel=3, padding="same",
                        multiplier=draw(st.integers(1, 2)))
        elif kind == "pool":
            if min(h, w) < 2:
                continue
            ref = b.add(draw(st.sampled_from(["MaxPool2d", "AvgPool2d"])), name, ref, kernel=2,
                        stride=2, ceil_mode=draw(st.booleans()))
        elif kind == "bn":
            ref = b.add("BatchNorm", name, ref)
        elif kind == "act":
            ref = b.add(draw(st.sampled_from(["ReLU", "ReLU6", "SiLU", "Hardswish", "PReLU"])), name, ref)
        elif kind == "shuffle":
            if c % 2:
                continue
            ref = b.add("ChannelShuffle", name, ref, groups=2)
        else:
            partners = [t for t in tensors if t[0] != ref and
                        (t[1] == (c, h, w) if kind == "add" else t[1][1:] == (h, w))]
            if not partners:
                continue
            other = draw(st.sampled_from(partners))[0]
            if kind == "add":
                ref = b.add("Add", name, ref, other, scale=draw(st.sampled_from([1.0, 0.2])))
            else:
                ref = b.add("Concat", name, ref, other)
        tensors.append((ref, analyze(b.graph)[ref.node].output_shape))
    head = tensors[-1][0]
    b.output(head)
    return b.finish(layout=False)
