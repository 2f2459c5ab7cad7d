"""Hypothesis strategies built from the catalogue's own parameter declarations."""

from hypothesis import strategies as st

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
