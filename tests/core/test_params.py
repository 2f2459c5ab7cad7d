"""ParamValues: a dict whose values read as attributes (shape rules use `p.kernel`)."""

import copy
import pickle

import pytest

from designer.core.params import Param, ParamValues
from designer.core.registry import LayerSpec


def test_values_read_as_attributes_as_they_are_set():
    values = ParamValues(kernel=(3, 3))
    values["stride"] = (2, 2)
    assert values.kernel == (3, 3) and values.stride == (2, 2)
    assert values.in_range is False
    assert dict(values) == {"kernel": (3, 3), "stride": (2, 2)}   # in_range is no value
    assert values.key() == (("kernel", (3, 3)), ("stride", (2, 2)))
    with pytest.raises(AttributeError):
        values.padding


@pytest.mark.parametrize("clone", [copy.copy, copy.deepcopy, lambda v: pickle.loads(pickle.dumps(v)),
                                   ParamValues])
def test_copies_keep_values_and_attributes(clone):
    values = ParamValues(kernel=(3, 3), groups=2)
    twin = clone(values)
    assert twin == values and twin.kernel == (3, 3) and twin.groups == 2
    twin["groups"] = 4
    assert twin.groups == 4 and values.groups == 2


@pytest.mark.parametrize("name", ["items", "key", "in_range"])
def test_a_parameter_may_not_hide_a_method_or_the_range_flag(name):
    with pytest.raises(ValueError, match=name):
        LayerSpec(type="Bad", category="Utility", help="", params=(Param(name, "int", 1, ""),))


def test_every_way_of_changing_the_values_keeps_the_attributes_in_step():
    values = ParamValues(kernel=(3, 3), stride=(1, 1))
    values.update({"stride": (2, 2)}, groups=4)
    assert values.stride == (2, 2) and values.groups == 4
    values |= {"groups": 8}
    assert values.groups == 8
    assert values.setdefault("bias", True) is True and values.bias is True
    assert values.pop("bias") is True and not hasattr(values, "bias")
    del values["groups"]
    assert not hasattr(values, "groups")
    name, _ = values.popitem()
    assert not hasattr(values, name)
    values.clear()
    assert not hasattr(values, "kernel") and values == {} and values.in_range is False
    for name in ("kernel", "stride"):
        with pytest.raises(AttributeError):
            getattr(values, name)
