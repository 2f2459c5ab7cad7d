"""Code that generates the preset design files in `designer/presets/` (run `python presets/generate.py`).

Each family module registers builder functions with `@preset`; a builder returns a `Graph`. The
app itself reads only the JSON files: presets are data, generated once, checked in, and tested
against the builders so the two cannot drift.
"""

from dataclasses import dataclass
import importlib
import pkgutil
from typing import Callable


@dataclass(frozen=True)
class PresetInfo:
    name: str
    family: str
    description: str
    build: Callable


BUILDERS = {}


def preset(name, family, description):
    def register(build):
        if name in BUILDERS:
            raise ValueError(f"preset {name!r} is defined twice")
        BUILDERS[name] = PresetInfo(name, family, description, build)
        return build
    return register


def load_all():
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return BUILDERS


def build(name):
    load_all()
    info = BUILDERS[name]
    graph = info.build()
    graph.set_metadata(description=graph.description or info.description)
    return graph
