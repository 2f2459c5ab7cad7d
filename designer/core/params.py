"""Typed, validated values: a layer's parameters and every setting of the engines.

A `Param` declares one value: its kind, default, range and help text. Layer and block specs list
them (the inspector's fields are made from them); so do the settings of training, compression,
insight and the speed lab (`designer.core.settings` makes their CLI flags, forms and JSON from the
same declarations). `Param.coerce` turns a value from the user, a design file or code into the
canonical Python value (tuples for pairs and shapes) or raises `ParamError` with a sentence that
names the problem.
"""

from dataclasses import dataclass
import math

from .errors import ParamError

KINDS = ("int", "float", "bool", "choice", "pair", "padding", "shape", "ints", "str", "names",
         "path", "folder", "count")
COUNT_SUFFIXES = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
TEXT_KINDS = ("str", "path", "folder")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _lower_first(text):
    """'Learning rate' -> 'learning rate' to begin a sentence's subject; acronyms (MAC, PCA)
    keep their capitals."""
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


@dataclass(frozen=True)
class Param:
    """One typed value. `min`/`max` are inclusive bounds, `above`/`below` exclusive ones.

    The fields after `max_length` describe a value to a person: they matter for settings (shown
    in forms and `--help`) and are left empty by most layer parameters. `choices` may be given as
    a dict of value -> title; `applies` as a dict of other setting -> the values for which this
    one matters (e.g. {"schedule": ("step",)}); `optional` admits None (`none_text` says what it
    means: "auto", "off", "a new folder"); `special` is a number's text at its minimum ("off")."""
    name: str
    kind: str
    default: object
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    min_length: int = 1
    max_length: int = 8
    title: str = ""
    above: float | None = None
    below: float | None = None
    unit: str = ""
    group: str = ""
    applies: tuple = ()
    optional: bool = False
    none_text: str = ""
    special: str = ""
    flag: str = ""
    metavar: str = ""
    step: float | None = None
    decimals: int | None = None
    choice_titles: tuple = ()
    pattern: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}")
        if isinstance(self.choices, dict):
            object.__setattr__(self, "choice_titles", tuple(self.choices.values()))
            object.__setattr__(self, "choices", tuple(self.choices))
        if isinstance(self.applies, dict):
            object.__setattr__(self, "applies", tuple((name, tuple(values))
                                                      for name, values in self.applies.items()))
        # The default itself must be valid: catches catalogue typos at import time.
        object.__setattr__(self, "default", self.coerce(self.default))

    @property
    def label(self):
        return self.title or self.name.replace("_", " ")

    @property
    def cli_flag(self):
        return self.flag or "--" + self.name.strip("_").replace("_", "-")

    def title_of(self, value):
        """How a value is shown: its choice title, the none text, or the value itself."""
        if value is None:
            return self.none_text or "none"
        if self.choice_titles and value in self.choices:
            return self.choice_titles[self.choices.index(value)]
        return format_pair(value) if isinstance(value, tuple) else str(value)

    def applies_to(self, values):
        """Whether this value matters given the others (`applies`); True when unconditional."""
        return all(values.get(name) in allowed for name, allowed in self.applies)

    def _check_range(self, value, what="value"):
        if not self._range_checked:
            return
        low_ok = ((self.min is None or value >= self.min)
                  and (self.above is None or value > self.above))
        high_ok = ((self.max is None or value <= self.max)
                   and (self.below is None or value < self.below))
        if low_ok and high_ok:
            return
        if self.title:   # a setting: said as the form and --help name it
            raise ParamError(f"{_lower_first(self.title)} must be "
                             f"{self.bounds_text(not low_ok)}; got {value:g}")
        # A layer parameter: named as the design file names it, beside the node's other errors.
        if not low_ok:
            bound = self.min if self.min is not None and value < self.min else self.above
            raise ParamError(f"{self.name}: {what} {value} is below the minimum {bound}")
        bound = self.max if self.max is not None and value > self.max else self.below
        raise ParamError(f"{self.name}: {what} {value} is above the maximum {bound}")

    def _subject(self):
        """What an error calls this value: a setting by its title, a layer parameter by name."""
        return _lower_first(self.title) if self.title else self.name

    def bounds_text(self, low_side=True):
        """The bound a value crossed, in words: "positive", "at least 1", "at most 10";
        a share with two open ends is "between 0 and 1 (exclusive)"."""
        if self.above is not None and self.below is not None:
            return f"between {self.above:g} and {self.below:g} (exclusive)"
        if low_side:
            if self.above is not None:
                return "positive" if self.above == 0 else f"above {self.above:g}"
            return "zero or more" if self.min == 0 else f"at least {self.min:g}"
        return f"below {self.below:g}" if self.below is not None else f"at most {self.max:g}"

    def _int(self, value, what="value"):
        # 4.0 is 4; a float beyond 2⁵³ is no exact integer (1e308 would become 309 digits that
        # no design file may hold), so it stays a float and is refused below.
        if isinstance(value, float) and value.is_integer() and abs(value) <= 2 ** 53:
            value = int(value)
        if not _is_int(value):
            raise ParamError(f"{self._subject()}: expected an integer, got {value!r}")
        self._check_range(value, what)
        return value

    def _count(self, text):
        digits = text.strip().replace(",", "").replace("_", "")
        if not digits and self.optional:
            return None
        scale = COUNT_SUFFIXES.get(digits[-1:].lower(), 1)
        try:
            number = float(digits[:-1] if scale != 1 else digits)
        except ValueError:
            raise ParamError(f"{self._subject()}: expected a number such as 300M, got "
                             f"{text!r}") from None
        if not math.isfinite(number):
            raise ParamError(f"{self._subject()}: expected a number such as 300M, got {text!r}")
        return int(round(number * scale))

    _range_checked = True

    def coerce(self, value, check_range=True):
        """Canonical value, or ParamError. `check_range=False` checks only the type: a design file
        may hold an out-of-range value, which inference then reports as an error on the node."""
        if not check_range:
            unchecked = Param.__new__(Param)
            unchecked.__dict__.update(self.__dict__)
            object.__setattr__(unchecked, "_range_checked", False)
            return unchecked.coerce(value)
        kind = self.kind
        if value is None and self.optional:
            return None
        if kind == "int":
            return self._int(value)
        if kind == "count":   # an integer that may be written as people write counts: 300M, 1.5G
            if isinstance(value, str):
                value = self._count(value)
                if value is None:
                    return None
            return self._int(value)
        if kind == "float":
            if not _is_number(value):
                raise ParamError(f"{self._subject()}: expected a number, got {value!r}")
            value = float(value)
            self._check_range(value)
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise ParamError(f"{self._subject()}: expected true or false, got {value!r}")
            return value
        if kind == "choice":
            if value not in self.choices:
                options = ", ".join(map(str, self.choices))
                if self.title:
                    raise ParamError(f"unknown {self._subject()} {value!r}; choose one of {options}")
                raise ParamError(f"{self.name}: {value!r} is not one of {options}")
            return value
        if kind in TEXT_KINDS:
            if not isinstance(value, str):
                raise ParamError(f"{self._subject()}: expected text, got {value!r}")
            if kind != "str":
                value = value.strip()
                if not value and self.optional:
                    return None
            return value
        if kind == "names":   # "a,b", "a b" or ["a", "b,c"]: names split at commas and spaces
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ParamError(f"{self._subject()}: expected names, got {value!r}")
            value = [name for text in value for name in text.replace(",", " ").split()]
            unknown = [name for name in value if self.choices and name not in self.choices]
            if unknown:
                raise ParamError(f"unknown {self._subject()} {', '.join(map(repr, unknown))}; "
                                 f"choose from {', '.join(self.choices)}")
            if not value and self.optional:
                return None
            return tuple(value)
        if kind == "pair":
            if _is_int(value):
                value = (value, value)
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise ParamError(f"{self._subject()}: expected an integer or [height, width], got {value!r}")
            return tuple(self._int(v) for v in value)
        if kind == "padding":
            if value in ("same", "valid"):
                return value
            if _is_int(value):
                value = (value, value)
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise ParamError(
                    f"{self._subject()}: expected 'same', 'valid', an integer or [height, width], got {value!r}")
            return tuple(self._int(v) for v in value)
        if kind in ("shape", "ints"):
            if _is_int(value):
                value = (value,)
            if not isinstance(value, (list, tuple)):
                raise ParamError(f"{self._subject()}: expected a list of integers, got {value!r}")
            if not self.min_length <= len(value) <= self.max_length:
                raise ParamError(f"{self._subject()}: expected {self.min_length} to {self.max_length} "
                                 f"integers, got {len(value)}")
            return tuple(self._int(v) for v in value)
        raise AssertionError(kind)

    def range_error(self, value):
        """The sentence saying why `value` is out of range, or None."""
        try:
            self.coerce(value)
        except ParamError as error:
            return str(error)
        return None

    def to_json(self, value):
        """The JSON form of a canonical value (tuples become lists)."""
        return list(value) if isinstance(value, tuple) else value


class ParamValues(dict):
    """A layer's parameter values with attribute access (`p.out_channels`). Read-only by convention
    once made: a node's values are replaced, never changed in place.

    Each value is mirrored as an instance attribute: shape rules read them thousands of times per
    edit of a large design, and a `__getattr__` fallback cost forty times a plain attribute.
    `in_range` records that every value passed its range check, so inference checks each set of
    values once rather than on every recompute."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        vars(self).update(self)
        self.in_range = False

    # Every way a dict changes keeps the attributes in step.
    def __setitem__(self, name, value):
        super().__setitem__(name, value)
        vars(self)[name] = value

    def __delitem__(self, name):
        super().__delitem__(name)
        del vars(self)[name]

    def update(self, *args, **kwargs):
        for name, value in dict(*args, **kwargs).items():
            self[name] = value

    def __ior__(self, other):
        self.update(other)
        return self

    def setdefault(self, name, default=None):
        if name not in self:
            self[name] = default
        return self[name]

    def pop(self, name, *default):
        vars(self).pop(name, None)
        return super().pop(name, *default)

    def popitem(self):
        name, value = super().popitem()
        del vars(self)[name]
        return name, value

    def clear(self):
        for name in list(self):
            del vars(self)[name]
        super().clear()

    def key(self):
        """A hashable key of these values, for caches."""
        return tuple(sorted(self.items()))


def format_pair(value):
    """(3, 3) -> '3', (1, 7) -> '1×7'."""
    if isinstance(value, tuple) and len(value) == 2:
        return str(value[0]) if value[0] == value[1] else f"{value[0]}×{value[1]}"
    return str(value)


def format_window(value):
    """(3, 3) -> '3×3', (1, 7) -> '1×7', 5 -> '5×5': a window as people write it."""
    if isinstance(value, tuple) and len(value) == 2:
        return f"{value[0]}×{value[1]}"
    return f"{value}×{value}"


def format_shape(shape):
    return "×".join(str(d) for d in shape) if shape is not None else "?"


def parse_edit(text, option="--set"):
    """'conv1.kernel=7' -> ('conv1', 'kernel', 7): the NODE.PARAM=VALUE syntax of `designer open
    --set` and `designer sweep --param`. Node ids may contain dots; the parameter is the part after
    the last dot before '='. VALUE is JSON when it parses, else text."""
    import json
    from .errors import DesignError
    target, sep, raw = text.partition("=")
    node_id, dot, param = target.rpartition(".")
    if not sep or not dot:
        raise DesignError(f"{option} {text!r}: expected NODE.PARAM=VALUE")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return node_id, param, value
