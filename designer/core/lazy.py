"""Modules imported on first use, so the catalogue loads without torch.

The layer and block specs name `nn.Conv2d` and `modules.Concat` only inside their `build()` and
import converters: with `nn = lazy_module("torch.nn")` at the top of a catalogue module, torch is
imported the first time a spec builds a module (compile, training, export), and the shape rules,
parameters, summaries, presets and diffs never pay for it (`designer summary` stays quick).
"""

import importlib


class LazyModule:
    """Stands for the module `name`; the first attribute looked up imports it."""

    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self):
        return f"<lazy module {self._name!r}>"


def lazy_module(name):
    return LazyModule(name)
