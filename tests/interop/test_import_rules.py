"""The importer's tables come from the catalogue: each spec names the PyTorch classes it imports
(`LayerSpec.imports`) by their qualified names. Every name must be exactly a class's own
`module.qualname`, or the rule would silently never match (a re-export such as
"torch.nn.Conv2d" exists but is not what `type(module)` says)."""

import importlib

import pytest

from designer.core.registry import REGISTRY

DECLARED = sorted({(name, s.type) for s in REGISTRY.specs() for name in s.imports})


def test_the_catalogue_declares_what_the_importer_needs():
    types = {type_name for _, type_name in DECLARED}
    assert {"Conv2d", "BatchNorm", "Linear", "Bottleneck", "SEBlock", "CBAM"} <= types


@pytest.mark.parametrize("class_name, type_name", DECLARED)
def test_declared_class_is_a_real_class(class_name, type_name):
    module_name, _, attribute = class_name.rpartition(".")
    cls = getattr(importlib.import_module(module_name), attribute, None)
    assert isinstance(cls, type), f"{type_name} imports {class_name}, which is not a class"
    assert f"{cls.__module__}.{cls.__qualname__}" == class_name


def test_renames_belong_to_blocks_that_import():
    for spec in REGISTRY.specs():
        if spec.import_renames:
            assert spec.is_block and spec.imports, spec.type
