"""Objectives and constraints of a structure search: what each objective reads from a trial's
record, `latency<=5ms`-style bounds, and the Pareto front over any number of objectives (all
minimised). Plain Python: the Experiments panel uses it too."""

from dataclasses import dataclass
import math
import re

from designer.speed.settings import SweepError

from .settings import OBJECTIVES

# The record field each objective reads (weight bytes are float32 parameters).
FIELDS = {"error": "val_top1_error", "latency": "latency_ms", "macs": "total_macs",
          "params": "total_params", "bytes": "weight_bytes"}
# Known before training: a trial over one of these bounds is not trained.
COSTS = ("latency", "macs", "params", "bytes")
_SUFFIXES = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}
_TIME = {"ms": 1.0, "s": 1e3, "us": 1e-3, "µs": 1e-3}
_CONSTRAINT = re.compile(r"^\s*([a-z]+)\s*(<=|<)\s*([0-9.eE+-]+)\s*([a-zA-Zµ%]*)\s*$")


@dataclass(frozen=True)
class Constraint:
    objective: str
    bound: float          # in the objective's own unit (ms, a fraction, a count)
    text: str

    def excess(self, record):
        """How far over the bound the trial is (≤ 0 within it), for Optuna's constraints_func;
        None when the record lacks the value."""
        value = value_of(record, self.objective)
        return None if value is None else value - self.bound


def parse_constraint(text):
    """'latency<=5ms' / 'params<=1e6' / 'macs<=20M' / 'error<=10%' -> Constraint."""
    match = _CONSTRAINT.match(text)
    if not match:
        raise SweepError(f"--constraint {text!r}: expected NAME<=BOUND, e.g. latency<=5ms or "
                         "params<=1e6")
    name, _, number, unit = match.groups()
    if name not in OBJECTIVES:
        raise SweepError(f"--constraint {text!r}: {name!r} is not one of "
                         f"{', '.join(OBJECTIVES)}")
    try:
        bound = float(number)
    except ValueError:
        raise SweepError(f"--constraint {text!r}: {number!r} is not a number") from None
    if name == "latency":
        if unit not in _TIME and unit != "":
            raise SweepError(f"--constraint {text!r}: a latency is in ms, s or us")
        bound *= _TIME.get(unit or "ms")
    elif name == "error":
        if unit not in ("", "%"):
            raise SweepError(f"--constraint {text!r}: an error is a fraction or a percentage")
        bound = bound / 100 if unit == "%" else bound
    else:
        if unit.lower() not in _SUFFIXES:
            raise SweepError(f"--constraint {text!r}: a count takes k, M or G")
        bound *= _SUFFIXES[unit.lower()]
    if not math.isfinite(bound) or bound <= 0:
        raise SweepError(f"--constraint {text!r}: the bound must be a number above 0")
    return Constraint(name, bound, text.strip())


def value_of(record, objective):
    if objective == "bytes":
        params = record.get("total_params")
        return None if params is None else 4 * params
    return record.get(FIELDS[objective])


def feasible(record, constraints):
    """Within every bound (a missing value counts as not within)."""
    return all((c.excess(record) is not None and c.excess(record) <= 0) for c in constraints)


def pareto_front(points):
    """Indices of the points (tuples, every coordinate minimised) no other point dominates."""
    front = []
    for i, p in enumerate(points):
        if not any(all(a <= b for a, b in zip(q, p)) and any(a < b for a, b in zip(q, p))
                   for j, q in enumerate(points) if j != i):
            front.append(i)
    return sorted(front, key=lambda i: points[i])


def front_of(records, objectives, constraints=()):
    """Trial numbers on the Pareto front of the complete, feasible trials."""
    rows = [r for r in records if r["state"] == "complete" and feasible(r, constraints)
            and all(value_of(r, o) is not None for o in objectives)]
    points = [tuple(value_of(r, o) for o in objectives) for r in rows]
    return [rows[i]["number"] for i in pareto_front(points)]
