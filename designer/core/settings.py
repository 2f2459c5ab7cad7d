"""Settings: one typed declaration per setting, from which everything else is made.

A setting is a `Param` (designer.core.params) with a title, a help text, a range or choices, a
unit and a group. A `Settings` is an ordered schema of them (training, compression, insight, a
sweep, a profile); from it come
- the CLI flags (`add_arguments`, `given`): `--name-with-dashes`, typed, with the help text and
  the default, grouped as the form groups them; booleans get `--x/--no-x`;
- the Qt forms (`designer.ui.forms.SettingsForm`, one editor table shared with the inspector);
- JSON (`to_json`) for run metadata and `--json`;
- validation (`check`): every bad value is refused with one sentence that names the setting.

A dataclass whose fields are settings (`TrainConfig`) declares each with `setting(...)` and is
decorated with `@settings_class`, which makes `cls.SETTINGS` from the fields:

    @settings_class
    @dataclass
    class TrainConfig:
        epochs: int = setting(10, "Epochs", min=1, max=10_000, group="Schedule",
                              help="Passes over the training set")
"""

import argparse
from dataclasses import MISSING, asdict, field, fields

from .errors import DesignError, ParamError
from .params import Param, ParamValues, format_pair


class SettingsError(DesignError):
    """A setting's value that cannot be used; the sentence names the setting."""


class Settings:
    """An ordered schema of settings (`Param`s), looked up by name."""

    def __init__(self, params, error=SettingsError):
        self.params = tuple(params)
        self.by_name = {p.name: p for p in self.params}
        if len(self.by_name) != len(self.params):
            raise ValueError("two settings share a name")
        self.error = error          # the DesignError subclass `check` raises

    def __iter__(self):
        return iter(self.params)

    def __len__(self):
        return len(self.params)

    def __getitem__(self, name):
        return self.by_name[name]

    def __contains__(self, name):
        return name in self.by_name

    def __add__(self, other):
        return Settings(self.params + tuple(other), self.error)

    def only(self, *names):
        """The schema of just these settings, in the order given."""
        return Settings([self.by_name[n] for n in names], self.error)

    def groups(self):
        """[(group, [params])] in declaration order of each group's first setting."""
        grouped = {}
        for param in self.params:
            grouped.setdefault(param.group, []).append(param)
        return list(grouped.items())

    def defaults(self):
        return ParamValues((p.name, p.default) for p in self.params)

    def check(self, values):
        """The canonical values (a `ParamValues`: `values.lr`), each setting missing from
        `values` at its default; `self.error` with one sentence for the first bad value, or for a
        name that is not a setting."""
        unknown = sorted(set(values) - set(self.by_name))
        if unknown:
            raise self.error(f"unknown setting{'s' if len(unknown) > 1 else ''}: "
                             + ", ".join(unknown))
        checked = ParamValues()
        for param in self.params:
            try:
                checked[param.name] = param.coerce(values.get(param.name, param.default))
            except ParamError as error:
                raise self.error(str(error)) from None
        return checked

    def to_json(self, values):
        """Plain JSON values (tuples as lists) of every setting in `values`."""
        return {p.name: p.to_json(values[p.name]) for p in self.params if p.name in values}

    # -- the CLI ---------------------------------------------------------------------------
    def add_arguments(self, parser, required=()):
        """One flag per setting, in argument groups named like the form's groups. A flag not
        given parses to None (`given` leaves it out), so a resumed run keeps its saved value;
        the settings named in `required` must be given."""
        sections = {}
        for param in self.params:
            group = param.group or "settings"
            if group not in sections:
                sections[group] = parser.add_argument_group(group.lower())
            _add_flag(sections[group], param, param.name in required)

    def given(self, namespace):
        """The settings given on the command line: name -> value, for the flags not left out."""
        values = vars(namespace)
        return {p.name: values[p.name] for p in self.params if values.get(p.name) is not None}

    def flags(self):
        """Every flag the CLI accepts for these settings (with the --no- forms of booleans)."""
        names = []
        for param in self.params:
            names.append(param.cli_flag)
            if param.kind == "bool":
                names.append("--no-" + param.cli_flag[2:])
        return names


def _help(param, default):
    """The flag's help: the setting's help text and its default, as the CLI writes values."""
    if param.kind == "bool" and not param.optional:
        shown = "on" if default else "off"
    elif default in (None, ""):
        shown = param.none_text or "none"
    elif param.kind == "names":
        shown = ",".join(default)
    else:
        shown = format_pair(default) if isinstance(default, tuple) else f"{default}"
        if param.special and default == param.min:
            shown += f" ({param.special})"
        elif param.unit:
            unit = param.unit[:-1] if default == 1 and param.unit.endswith("s") else param.unit
            shown += f" {unit}"
    # argparse formats help with %: a literal percent sign must be doubled.
    return f"{param.help or param.label}; default {shown}".replace("%", "%%")


# A count ("300M") is parsed by its Param when the values are checked, so the flag takes text.
_TYPES = {"int": int, "float": float, "str": str, "path": str, "folder": str, "count": str}
_METAVARS = {"int": "N", "float": "X", "str": "TEXT", "path": "FILE", "folder": "DIR",
             "names": "NAME", "count": "N"}


def _add_flag(group, param, required):
    flag = param.cli_flag
    common = dict(dest=param.name, default=None, required=required,
                  help=_help(param, param.default) if not required else param.help)
    if param.kind == "bool":
        group.add_argument(flag, action=argparse.BooleanOptionalAction, **common)
    elif param.kind == "choice":
        group.add_argument(flag, choices=param.choices, **common)
    elif param.kind == "names":
        group.add_argument(flag, nargs="+", metavar=param.metavar or _METAVARS["names"],
                           **common)
    elif param.kind in _TYPES:
        group.add_argument(flag, type=_TYPES[param.kind],
                           metavar=param.metavar or _METAVARS[param.kind], **common)
    else:
        raise ValueError(f"{param.name}: a {param.kind} setting has no CLI form")


# -- dataclasses of settings -------------------------------------------------------------------

def setting(default, title, help="", **declaration):
    """A dataclass field that is a setting: `default`, its `title` and `help`, and any other
    `Param` field (min, max, above, below, choices, unit, group, applies, optional, none_text,
    special, flag, metavar, step, decimals, pattern, kind). The kind follows the default when not
    given (bool, int, float; choices make a choice; otherwise text)."""
    return field(default=default, metadata={"setting": dict(title=title, help=help,
                                                            **declaration)})


def _kind(default, declaration):
    if "kind" in declaration:
        return declaration.pop("kind")
    if "choices" in declaration:
        return "choice"
    for kind, types in (("bool", bool), ("int", int), ("float", float)):
        if isinstance(default, types):
            return kind
    return "str"


def settings_class(cls):
    """Give a dataclass of `setting` fields its schema, `cls.SETTINGS`, and `cls.check_fields()`
    (every field's type and range, one sentence for the first bad one)."""
    params = []
    for spec in fields(cls):
        declaration = dict(spec.metadata.get("setting", {}))
        if not declaration:
            raise TypeError(f"{cls.__name__}.{spec.name} is not declared with setting(...)")
        default = spec.default if spec.default is not MISSING else None
        kind = _kind(default, declaration)
        if default is None:
            declaration.setdefault("optional", True)
        params.append(Param(spec.name, kind, default, **declaration))
    cls.SETTINGS = Settings(params, getattr(cls, "Error", SettingsError))

    def check_fields(self):
        checked = cls.SETTINGS.check(asdict(self))
        for name, value in checked.items():
            setattr(self, name, value)
        return self

    cls.check_fields = check_fields
    return cls
