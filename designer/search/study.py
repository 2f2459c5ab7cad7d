"""A structure search: `designer sweep` with the design's own search space (--space design),
several objectives (--objective error,latency: Optuna's NSGA-II), bounds (--constraint
latency<=5ms: given to the sampler with Trial.set_constraint, Optuna 5's replacement for
constraints_func, and a trial over a cost bound is not trained) and a choice of pruner
(--pruner median|hyperband|halving|none, one objective only).

`SearchSweep` is a `designer.speed.sweep.Sweep` (run folders, storage, resume, stop, trials.csv
are the sweep's) that overrides the sweep's hooks: a `NODE.type` value replaces the block
(core.space.replace_type); before training it records the weight bytes and the latency measured
by the profile engine (batch 1, the sweep's threads), cached per design hash in
OUT/latency_cache.json, and refuses a trial over a cost bound; a complete trial is told one value
per objective; with --warm-start a trial starts from the grown weights of its best parent
trial (designer.search.warm). A sample that makes the design invalid is recorded as failed
with its sentence and never trained (the sweep's own rule); the values of the design's space
are not checked before the study starts, since only some combinations may be invalid.
"""

import json
from pathlib import Path

from designer.core import fileformat
from designer.core.atomic import write_text
from designer.core.errors import DesignError
from designer.core.infer import Analyzer
from designer.core.presets import load_design
from designer.core.space import TYPE, entries, replace_type
from designer.speed.settings import SweepError
from designer.speed.sweep import Sweep, SweptParam, _grid_sampler, _OverBudget

from .objectives import COSTS, front_of, parse_constraint, value_of
from .settings import OBJECTIVES
from .warm import WARM_WEIGHTS, choose_parent, grow_parent, same_design

LATENCY_CACHE = "latency_cache.json"


def design_space(design):
    """The SweptParams of the design file's search space (NODE.PARAM, NODE.type)."""
    graph = load_design(design)
    found = []
    for node_id, param, searchable in entries(graph):
        name = f"{node_id}.{param}"
        if searchable.is_range:
            found.append(SweptParam(name, low=searchable.low, high=searchable.high,
                                    step=searchable.step))
        else:
            found.append(SweptParam(name, values=tuple(_optuna_value(v)
                                                       for v in searchable.choices)))
    return found


def _optuna_value(value):
    """Optuna stores plain choices: a square pair (kernel 5×5) as 5, which the parameter reads
    back as (5, 5); any other pair as a list."""
    if isinstance(value, tuple):
        return value[0] if len(set(value)) == 1 else list(value)
    return value


def make_sweep(design, params=(), space="none", objective=("error",), constraint=None,
               pruner="median", warm_start=False, **settings):
    """A Sweep, or a SearchSweep when any search setting is not its default."""
    objective = list(objective or ["error"])
    if space == "none" and objective == ["error"] and not constraint and pruner == "median" \
            and not warm_start:
        return Sweep(design, params=list(params), **settings)
    return SearchSweep(design, params=list(params), space=space, objective=objective,
                       constraint=constraint or [], pruner=pruner, warm_start=warm_start,
                       **settings)


class SearchSweep(Sweep):
    DESIGN_PSEUDO_PARAMS = (TYPE,)

    def __init__(self, design, params=(), space="none", objective=("error",), constraint=(),
                 pruner="median", warm_start=False, **settings):
        self.objectives = list(objective)
        self.warm_start = warm_start
        if len(set(self.objectives)) != len(self.objectives) or not self.objectives:
            raise SweepError("--objective: name each objective once")
        unknown = [o for o in self.objectives if o not in OBJECTIVES]
        if unknown:
            raise SweepError(f"--objective: unknown {', '.join(unknown)}; choose from "
                             f"{', '.join(OBJECTIVES)}")
        self.constraints = [parse_constraint(text) for text in constraint]
        self.pruner_name = pruner
        multi = len(self.objectives) > 1
        if multi and pruner not in ("median", "none"):
            raise SweepError(f"--pruner {pruner}: Optuna prunes single-objective studies only; "
                             "with several objectives leave it out")
        if multi:
            settings["prune"] = False
        elif pruner == "none":
            settings["prune"] = False
        self.space_params = design_space(design) if space == "design" else []
        if space == "design" and not self.space_params:
            raise SweepError("--space design: the design marks no parameter searchable (select a "
                             "node, then fill in its Search space in the inspector)")
        given = {p.name for p in params}
        clash = [p.name for p in self.space_params if p.name in given]
        if clash:
            raise SweepError(f"--param {clash[0]} is also in the design's search space; give it "
                             "once")
        self._space_names = {p.name for p in self.space_params}
        sampler = settings.get("sampler", "grid")
        # Several objectives: NSGA-II unless TPE (which handles them too) or random was chosen.
        self._nsga = multi and sampler == "grid"
        if self._nsga:
            settings["sampler"] = "random"      # the sweep's checks; _open_study makes NSGA-II
        self._latency_cache = None
        super().__init__(design, params=list(params) + self.space_params, **settings)
        if self._nsga:
            self.sampler_name = "nsga2"

    # -- the sweep's hooks ---------------------------------------------------------------------
    def _check_values(self):
        """The sweep's checks for --param values only: a sample of the design's space that makes
        it invalid is skipped with its sentence when its trial comes."""
        params, self.params = self.params, [p for p in self.params
                                            if p.name not in self._space_names]
        try:
            super()._check_values()
        finally:
            self.params = params

    def _set_design_value(self, graph, node_id, param, value):
        if param == TYPE:
            replace_type(graph, node_id, value)
        else:
            super()._set_design_value(graph, node_id, param, value)

    def _before_training(self, trial, graph, totals):
        if self.max_macs is not None and totals.macs > self.max_macs:
            raise _OverBudget(f"{totals.macs:,} multiply-adds exceed the budget of "
                              f"{self.max_macs:,}; not trained")
        trial.set_user_attr("weight_bytes", 4 * totals.params)
        wants_latency = self.latency or "latency" in self.objectives or any(
            c.objective == "latency" for c in self.constraints)
        record = {"total_params": totals.params, "total_macs": totals.macs}
        if wants_latency:
            record["latency_ms"] = self._latency(graph)
            trial.set_user_attr("latency_ms", record["latency_ms"])
        for c in self.constraints:
            if c.objective in COSTS and c.excess(record) is not None and c.excess(record) > 0:
                self._set_constraints(trial, record)     # told once: here, or when complete
                raise _OverBudget(f"{c.objective} {value_of(record, c.objective):,.4g} is over "
                                  f"{c.text}; not trained")

    def _start_from(self, trial, settings, graph, run_dir):
        """--warm-start: the grown weights of the best parent (designer.search.warm), written
        to the trial's run folder; from scratch (None) when no trial is a parent or the growing
        fails (`warm_start` says why)."""
        if not self.warm_start:
            return graph, None
        (run_dir / WARM_WEIGHTS).unlink(missing_ok=True)    # a re-run trial's old start
        here = [r for r in self.records() if r["number"] != trial.number
                and r.get("run_dir") and Path(r["run_dir"]).is_dir()]   # another machine's: no
        chosen = choose_parent(here, settings, graph)
        if chosen is None:
            return graph, None
        parent, edits = chosen
        try:
            grown, state, text = grow_parent(parent, edits, seed=trial.number)
        except DesignError as error:
            trial.set_user_attr("warm_start", f"from scratch: trial {parent['number']}'s weights "
                                              f"did not grow: {error}")
            return graph, None
        if not same_design(grown, graph):      # the edits made another graph: it is trained
            fileformat.save(grown, run_dir / "design.json")
            totals = Analyzer(grown).totals
            trial.set_user_attr("total_params", totals.params)
            trial.set_user_attr("total_macs", totals.macs)
            text += " (the grown design is trained)"
            graph = grown
        from designer.train.loop import atomic_save
        atomic_save(state, run_dir / WARM_WEIGHTS)
        trial.set_user_attr("parent", parent["number"])
        trial.set_user_attr("warm_start", text)
        return graph, run_dir / WARM_WEIGHTS

    def _report(self, trial, error, epoch):
        if len(self.objectives) > 1:      # Optuna keeps no intermediate values then
            return False
        return super()._report(trial, error, epoch)

    def _tell_complete(self, trial, best):
        record = {**trial.user_attrs, "val_top1_error": best}
        values = [value_of(record, o) for o in self.objectives]
        if any(v is None for v in values):
            missing = [o for o, v in zip(self.objectives, values) if v is None]
            raise SweepError(f"trial {trial.number} has no {', '.join(missing)}")
        self._set_constraints(trial, record)
        self.study.tell(trial, values if len(values) > 1 else values[0])

    # -- latency, measured once per design ----------------------------------------------------
    def _latency(self, graph):
        from designer.speed.profile import measure
        cache_path = self.out / LATENCY_CACHE
        if self._latency_cache is None:
            try:
                self._latency_cache = json.loads(cache_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._latency_cache = {}
        key = f"{fileformat.design_hash(graph)}:threads={self.threads or 1}"
        if key not in self._latency_cache:
            timing = measure(graph, batch=1, threads=self.threads or 1, repeats=10, warmup=2)
            self._latency_cache[key] = timing.end_to_end_ms
            write_text(cache_path, json.dumps(self._latency_cache, indent=1) + "\n")
        return self._latency_cache[key]

    # -- the study -----------------------------------------------------------------------------
    def _excess(self, record):
        """Each bound's excess (≤ 0 within it); an unknown value (the error of a trial not
        trained) counts as over."""
        return [c.excess(record) if c.excess(record) is not None else 1.0
                for c in self.constraints]

    def _set_constraints(self, trial, record):
        """The bounds for the sampler: Optuna 5's Trial.set_constraint (which replaces the
        samplers' constraints_func), read by NSGA-II and TPE to prefer feasible trials."""
        for c, excess in zip(self.constraints, self._excess(record)):
            trial.set_constraint(c.text, excess)

    def _open_study(self):
        import optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if self._nsga:
            sampler = optuna.samplers.NSGAIISampler(seed=self.seed,
                                                    population_size=max(2, min(50, self.trials)))
        elif self.sampler_name == "grid":
            sampler = _grid_sampler({p.name: p.grid for p in self.params}, self.seed)
        elif self.sampler_name == "random":
            sampler = optuna.samplers.RandomSampler(seed=self.seed)
        else:
            sampler = optuna.samplers.TPESampler(seed=self.seed)
        pruner = optuna.pruners.NopPruner()
        if self.prune:
            pruner = {"median": lambda: optuna.pruners.MedianPruner(
                          n_startup_trials=self.prune_startup),
                      "hyperband": lambda: optuna.pruners.HyperbandPruner(
                          min_resource=1, max_resource=self.epochs),
                      "halving": lambda: optuna.pruners.SuccessiveHalvingPruner(
                          min_resource=1)}[self.pruner_name]()
        # The sweep's own opening: heartbeats, retries of a creation race, a redacted URL.
        return self._create_study(dict(study_name=self.study_name, sampler=sampler,
                                       pruner=pruner,
                                       directions=["minimize"] * len(self.objectives),
                                       load_if_exists=True))

    # -- results -------------------------------------------------------------------------------
    def _record(self, t):
        record = Sweep._record(t)
        record["weight_bytes"] = t.user_attrs.get("weight_bytes")
        record["parent"] = t.user_attrs.get("parent")
        record["warm_start"] = t.user_attrs.get("warm_start")
        record["feasible"] = all(e <= 0 for e in self._excess(record)) if self.constraints \
            else True
        return record

    def _extra_columns(self):
        return ["parent", "warm_start"] if self.warm_start else []

    def result(self):
        result = super().result()
        result["objectives"] = list(self.objectives)
        result["constraints"] = [c.text for c in self.constraints]
        result["front"] = front_of(result["trials"], self.objectives, self.constraints)
        return result
