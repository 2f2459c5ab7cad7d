"""Every primitive layer's fast shape/parameter/MAC rule equals what torch really does.

The interactive path relies on these microsecond rules; this property test is what keeps them
from drifting away from torch (meta-device forward + FlopCounterMode)."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from designer.core import modules
from designer.core.errors import ParamError, ShapeError
from designer.core.graph import validate_params
from designer.core.registry import REGISTRY, Role

from .strategies import image_shapes, params_for, vector_shapes
from .torch_truth import meta_truth

STRUCTURAL = {s.type for s in REGISTRY.specs() if s.role is not Role.LAYER}
LIST_INPUT = {s.type for s in REGISTRY.specs() if s.list_input}
PRIMITIVES = sorted(s.type for s in REGISTRY.specs()
                    if not s.is_block and s.type not in STRUCTURAL | LIST_INPUT)
# Layers whose rule rejects a window that does not fit: torch must refuse the same inputs.
WINDOWED = {"Conv2d", "DepthwiseConv2d", "SeparableConv2d", "MaxPool2d", "AvgPool2d"}


def _check(spec, params, shapes, list_input=False):
    try:
        info = spec.rule(params, shapes)
    except ShapeError:
        if spec.type in WINDOWED:
            module = None
            try:
                module = spec.build(params, shapes)
            except (ValueError, RuntimeError, ShapeError):
                return  # torch refuses at construction too
            with pytest.raises(Exception):
                meta_truth(module, shapes)
        return
    module = spec.build(params, shapes)
    module._takes_list = list_input
    out_shapes, n_params, macs = meta_truth(module, shapes)
    assert tuple(info.outputs) == tuple(out_shapes), (spec.type, dict(params), shapes)
    assert info.params == n_params, (spec.type, dict(params), shapes)
    assert info.macs == macs, (spec.type, dict(params), shapes)


@pytest.mark.parametrize("type_name", PRIMITIVES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rule_matches_torch(type_name, data):
    spec = REGISTRY.get(type_name)
    try:
        params = validate_params(spec, data.draw(params_for(spec)))
    except ParamError:
        return
    shape = data.draw(st.one_of(image_shapes, vector_shapes))
    _check(spec, params, [shape])


@pytest.mark.parametrize("type_name", sorted(LIST_INPUT))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_merge_rules_match_torch(type_name, data):
    spec = REGISTRY.get(type_name)
    params = validate_params(spec, data.draw(params_for(spec)))
    c, h, w = data.draw(image_shapes)
    n = len(spec.input_ports(params))
    if type_name == "Concat":
        shapes = [(data.draw(st.integers(1, 6)), h, w) for _ in range(n)]
    elif type_name == "Multiply":
        shapes = [(c, h, w), data.draw(st.sampled_from([(c, 1, 1), (c,), (1, h, w), (c, h, w)]))]
    else:
        shapes = [(c, h, w)] * n
    _check(spec, params, shapes, list_input=True)


def test_every_primitive_is_covered():
    # A new layer lands in one of the two property tests automatically; this guards the split.
    primitives = {s.type for s in REGISTRY.specs() if not s.is_block} - STRUCTURAL
    assert primitives == set(PRIMITIVES) | LIST_INPUT
