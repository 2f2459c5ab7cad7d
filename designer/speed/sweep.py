"""Sweeps: train many variants of a design under Optuna and compare error against cost.

Each trial is a normal training run (its own run folder under OUT/trials/) of the design with some
settings changed: training settings by name (`lr=0.01,0.05`), design parameters with the NODE.PARAM
syntax of `designer open --set` (`conv1.out_channels=4:16:4`, a range start:stop:step, inclusive),
and `width`, a multiplier on every `out_channels` and the other width parameters (`planes`,
`growth_rate`, ...; rounded to a multiple of the layer's groups so the design stays valid).
Optuna provides the samplers (grid, random, TPE), the median pruner (a trial whose validation
error after an epoch trails the median of earlier trials at that epoch is stopped) and the storage
(designer/speed/storage.py): by default `sqlite:///OUT/study.db`, so running the same command again
resumes the study. Several workers share one study: processes on one machine given the same
`--out` (or `--storage journal:PATH`, a log file), workers on several machines a database server
(`--storage postgresql+psycopg2://...`); each takes a trial no other worker has (see `_claim`), and
trials.csv and tradeoff.png list every worker's trials. A running trial beats a heartbeat; one
whose worker was killed is failed as lost and run again once, by whichever worker comes next.

With a MAC budget (`--max-macs`, as Neural Network Console searches structures under one), a trial
whose design needs more multiply-adds is pruned before training. A trial whose loss turns NaN, or
whose settings make the design invalid, is recorded as failed with its reason, and the sweep goes
on. `Sweep.stop()` ends the running trial (recorded as failed,
"stopped"; a grid sweep re-runs it on resume) and leaves the finished ones as they are.
"""

from dataclasses import dataclass
import csv
import itertools
import json
import math
from pathlib import Path
import time
import warnings

from designer.core import fileformat
from designer.core.atomic import atomic_path, make_folder
from designer.core.errors import DesignError
from designer.core.infer import Analyzer
from designer.core.params import parse_edit
from designer.core.presets import load_design
from designer.core.registry import Role
from designer.train.config import TrainConfig
from designer.train.events import Epoch, Finished
from designer.train.loop import TrainControl, Trainer
from .plot import pareto_front, tradeoff_points, write_tradeoff_png
from .profile import measure, num_threads
from .settings import SweepError
from . import storage as storages

DEFAULT_TRIALS = 10      # random and TPE, when --trials is not given
MAX_GRID = 100_000       # combinations a grid sweep may list (optuna lists every one)


class _OverBudget(Exception):
    """A trial's design is over the MAC budget: it is pruned before training."""


@dataclass(frozen=True)
class SweptParam:
    """One swept setting: explicit `values`, or a range low..high by step (inclusive)."""
    name: str
    values: tuple = ()
    low: float | None = None
    high: float | None = None
    step: float | None = None

    @property
    def count(self):
        """How many values the grid takes, counted without listing them."""
        if self.values:
            return len(self.values)
        return int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1

    def _point(self, i):
        value = self.low + i * self.step
        return int(value) if all(isinstance(x, int) for x in (self.low, self.step)) else value

    @property
    def grid(self):
        if self.values:
            return list(self.values)
        if self.count > MAX_GRID:
            raise SweepError(f"--param {self.name}: the range has {self.count:,} values; a grid "
                             f"lists at most {MAX_GRID:,} (use a larger step, or --sampler "
                             "random or tpe with --trials)")
        return [self._point(i) for i in range(self.count)]

    @property
    def ends(self):
        """The values checked before any trial runs: each listed value, or a range's first and
        last."""
        if self.values:
            return list(self.values)
        return list(dict.fromkeys([self._point(0), self._point(self.count - 1)]))

    def suggest(self, trial):
        if self.values:
            return trial.suggest_categorical(self.name, list(self.values))
        if isinstance(self.low, int) and isinstance(self.high, int) and isinstance(self.step, int):
            return trial.suggest_int(self.name, self.low, self.high, step=self.step)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step)


def _value(text):
    """A value as JSON reads it (0.1, true, "adam"), a number Python reads (nan, inf, which the
    settings then refuse), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_param(text):
    """'lr=0.01,0.05' / 'conv1.out_channels=4:16:4' / 'width=0.5,1.0' -> SweptParam."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name or not raw.strip():
        raise SweepError(f"--param {text!r}: expected NAME=V1,V2,... or NAME=START:STOP:STEP")
    if ":" in raw and "," not in raw:
        parts = [_value(p) for p in raw.split(":")]
        if len(parts) != 3 or not all(isinstance(p, (int, float)) and not isinstance(p, bool)
                                      for p in parts):
            raise SweepError(f"--param {text!r}: a range is START:STOP:STEP, three numbers")
        low, high, step = parts
        if not all(math.isfinite(p) for p in parts):
            raise SweepError(f"--param {text!r}: a range is START:STOP:STEP, three finite numbers")
        if step <= 0 or high < low:
            raise SweepError(f"--param {text!r}: a range needs STOP ≥ START and STEP > 0")
        return SweptParam(name, low=low, high=high, step=step)
    values = tuple(_value(v.strip()) for v in raw.split(","))
    if not all(v is None or isinstance(v, (str, int, float, bool)) for v in values):
        raise SweepError(f"--param {text!r}: values must be numbers, booleans or text")
    return SweptParam(name, values=values)


# Parameters that set a layer's or block's width: the multiplier scales all of them (a ResNet-50
# bottleneck's width is `planes`, a DenseNet's `growth_rate`, a Fire module's squeeze/expand).
WIDTH_PARAMS = ("out_channels", "planes", "mid_channels", "growth_rate", "squeeze", "expand1x1",
                "expand3x3")


def scale_width(graph, factor):
    """Multiply every width parameter (`out_channels`, `planes`, ... see WIDTH_PARAMS) of `graph`
    by `factor`. Each width is rounded to a multiple of its node's groups; if the design is not
    valid that way (a ShuffleNet unit's branch must divide by the groups too), every width is
    rounded to a multiple of all the design's groups, then of twice, four and eight times that."""
    from math import lcm
    keep = _class_width_nodes(graph)
    original = {nid: dict(node.params) for nid, node in graph.nodes.items()
                if nid not in keep and any(name in node.params for name in WIDTH_PARAMS)}

    def groups_of(params):
        groups = params.get("groups", 1)
        return groups if isinstance(groups, int) and groups > 0 else 1

    common = lcm(*(groups_of(p) for p in original.values())) if original else 1
    first_error = None
    for multiple in [None] + [common * k for k in (1, 2, 4, 8)]:
        with graph.batch():
            for nid, params in original.items():
                step = multiple or groups_of(params)
                graph.set_params(nid, **{name: max(step, round(params[name] * factor / step) * step)
                                         for name in WIDTH_PARAMS if name in params})
        errors = Analyzer(graph).errors()
        if not errors:
            return graph
        first_error = first_error or errors[0]
    raise SweepError(f"width {factor:g} makes the design invalid: {first_error[0]}: {first_error[1]}")


def _class_width_nodes(graph):
    """Nodes whose width is the number of classes: a convolutional classifier (NiN, SqueezeNet)
    reaches an Output through layers that keep the channel count. A Linear layer (out_features)
    sets the outputs itself, so nothing behind it counts."""
    found, seen = set(), set()
    stack = [n.id for n in graph.nodes_of_role(Role.OUTPUT)]
    while stack:
        nid = stack.pop()
        if nid in seen:
            continue
        seen.add(nid)
        node = graph.nodes[nid]
        if "out_features" in node.params:
            continue
        if any(name in node.params for name in WIDTH_PARAMS):
            found.add(nid)
            continue
        stack.extend(graph.predecessors(nid))
    return found


def _grid_sampler(search_space, seed):
    from optuna.samplers import GridSampler

    class AskTellGridSampler(GridSampler):
        """Optuna's grid sampler calls `study.stop()` when the grid is done, which only works
        inside `study.optimize`; the sweep counts its trials itself (and stops, resumes and
        shares a study across workers), so that call is left out."""

        def after_trial(self, study, trial, state, values):
            pass

        def point(self, trial):
            """The settings of the grid point a trial was given when created (before it
            suggests them), or None for a point of another grid."""
            grid_id = trial.system_attrs.get("grid_id")
            space = trial.system_attrs.get("search_space")
            if grid_id is None or space is None or not self._same_search_space(space):
                return None
            return dict(zip(self._param_names, self._all_grids[grid_id]))

    return AskTellGridSampler(search_space, seed=seed)


class Sweep:
    """A sweep over `params` (SweptParams); `run()` yields plain-dict events, `stop()` ends it."""

    # Hooks for designer.search.study.SearchSweep (structure search): NODE.PARAM names that are
    # not parameters (a block's `type`), the methods under "hooks" below, and the trials.csv
    # columns of `_extra_columns`.
    DESIGN_PSEUDO_PARAMS = ()

    def __init__(self, design, dataset, params, out, epochs=5, trials=None, sampler="grid",
                 storage=None, study_name="sweep", prune=True, prune_startup=5, seed=0,
                 train_settings=None, latency=True, threads=None, max_macs=None, heartbeat=10):
        if not params:
            raise SweepError("a sweep needs at least one --param")
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            raise SweepError("each --param name may appear once")
        self.design, self.dataset, self.params = design, dataset, list(params)
        self.out = Path(out)
        self.epochs, self.sampler_name, self.seed = epochs, sampler, seed
        self.prune, self.prune_startup, self.latency = prune, prune_startup, latency
        self.threads = threads
        self.max_macs = max_macs
        self.train_settings = dict(train_settings or {})
        graph = load_design(design)
        config_fields = set(TrainConfig().to_dict())
        for param in self.params:
            if param.name == "width" or param.name in config_fields:
                continue
            if "." not in param.name:
                raise SweepError(f"--param {param.name!r}: not a training setting, width or "
                                 f"NODE.PARAM")
            node_id, _, name = param.name.rpartition(".")
            if node_id not in graph.nodes:
                raise SweepError(f"--param {param.name!r}: no node {node_id!r} in the design")
            if name not in graph.nodes[node_id].params and name not in self.DESIGN_PSEUDO_PARAMS:
                raise SweepError(f"--param {param.name!r}: {node_id} ({graph.nodes[node_id].type}) "
                                 f"has no parameter {name!r}")
        unknown = set(self.train_settings) - config_fields
        if unknown:
            raise SweepError("unknown training settings: " + ", ".join(sorted(unknown)))
        if sampler not in ("grid", "random", "tpe"):
            raise SweepError(f"unknown sampler {sampler!r}; choose grid, random or tpe")
        grid_size = math.prod(p.count for p in self.params)
        if sampler == "grid":
            for param in self.params:
                param.grid                 # a range too long to list is refused here
            if grid_size > MAX_GRID:
                raise SweepError(f"the grid has {grid_size:,} combinations; at most {MAX_GRID:,} "
                                 "can be listed (fewer values, or --sampler random or tpe with "
                                 "--trials)")
        self.trials = trials or (grid_size if sampler == "grid" else DEFAULT_TRIALS)
        self._check_values()
        make_folder(self.out)
        self.storage = storage or f"sqlite:///{(self.out / 'study.db').resolve()}"
        self.study_name = study_name
        self.heartbeat = heartbeat
        self._stopped = False
        self._control = None
        self.study = self._open_study()

    def _check_values(self):
        """Refuse, before any trial runs, settings no trial could use: the design and the fixed
        training settings as they are, then each swept value (every listed value, a range's two
        ends) alone, as a trial would use it (the training settings validated, the design's
        shapes inferred). Values that fail only together are left to their trials."""
        check_dir = self.out / "trials" / "check"
        self._trial_config({}, check_dir)
        try:
            self._trial_graph({})
        except DesignError as error:
            raise SweepError(f"{error} (before any --param is applied)") from None
        for param in self.params:
            for value in param.ends:
                try:
                    if param.name == "width" or "." in param.name:
                        self._trial_graph({param.name: value})
                    else:
                        self._trial_config({param.name: value}, check_dir)
                except DesignError as error:
                    raise SweepError(f"--param {param.name}={value}: {error}") from None

    def _open_study(self):
        import optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if self.sampler_name == "grid":
            sampler = _grid_sampler({p.name: p.grid for p in self.params}, self.seed)
        elif self.sampler_name == "random":
            sampler = optuna.samplers.RandomSampler(seed=self.seed)
        else:
            sampler = optuna.samplers.TPESampler(seed=self.seed)
        pruner = (optuna.pruners.MedianPruner(n_startup_trials=self.prune_startup)
                  if self.prune else optuna.pruners.NopPruner())
        return self._create_study(dict(study_name=self.study_name, sampler=sampler, pruner=pruner,
                                       direction="minimize", load_if_exists=True))

    def _create_study(self, study_settings):
        """Open the storage and create (or load) the study in it. Workers started together on a
        new database race to create its tables: the loser's error is retried, with a growing
        pause, until the winner's tables are there to load."""
        import optuna
        for attempt in range(storages.CREATE_TRIES):
            try:
                storage = storages.open_storage(self.storage, self.heartbeat)
                return optuna.create_study(storage=storage, **study_settings)
            except SweepError:
                raise
            except Exception as error:  # noqa: BLE001 - bad URL, unreachable server, a race
                if attempt + 1 < storages.CREATE_TRIES and storages.is_creation_race(error):
                    time.sleep(storages.creation_pause(attempt))
                    continue
                text = storages.redact_text(str(error).strip(), self.storage)
                reason = text.splitlines()[0] if text else type(error).__name__
                raise SweepError(f"cannot open the study storage "
                                 f"{storages.redact(self.storage)!r}: {reason}") from None

    def stop(self):
        """End the sweep: the running trial stops (recorded as failed, "stopped")."""
        self._stopped = True
        if self._control is not None:
            self._control.stop()

    # -- counting and resuming -----------------------------------------------------------------
    def _finished(self):
        """The finished trials the sweep counts (see `_counted`)."""
        return [t for t in self._counted(self.study.get_trials(deepcopy=False))
                if t.state.is_finished()]

    @staticmethod
    def _counted(trials):
        """The trials that count toward the sweep's total, every worker's: finished, running and
        queued ones, but not a stopped one (it is re-run), a lost one that was queued again (its
        retry counts instead) or a claim given up because another worker had its point."""
        from optuna.trial import TrialState
        retried = {n for t in trials for n in t.system_attrs.get("retry_history", ())}
        return [t for t in trials if "surplus" not in t.user_attrs
                and (t.state != TrialState.FAIL
                     or not (t.user_attrs.get("stopped") or t.number in retried))]

    def _point(self, trial):
        """The settings `trial` trains, as a key: its values once suggested, else the ones it was
        queued with or its grid point; None while unknown."""
        names = [p.name for p in self.params]
        values = trial.params
        if not all(name in values for name in names):
            values = trial.system_attrs.get("fixed_params")
            if values is None and self.sampler_name == "grid":
                values = self.study.sampler.point(trial)
        return None if values is None else tuple((name, values.get(name)) for name in names)

    def _target(self):
        """How many trials the sweep runs: --trials, and in a grid at most one per point."""
        if self.sampler_name == "grid":
            return min(self.trials, math.prod(p.count for p in self.params))
        return self.trials

    def _work_left(self, trials):
        """Whether a worker should take another trial: one is queued (a retry, a stopped grid
        point), or fewer than the target are finished or running. In a grid each point counts
        once, so a worker stops when every point is complete or running elsewhere."""
        from optuna.trial import TrialState
        counted = self._counted(trials)
        if any(t.state == TrialState.WAITING for t in counted):
            return True
        if self.sampler_name == "grid":
            return len({self._point(t) for t in counted}) < self._target()
        return len(counted) < self._target()

    def _taken(self, trial, trials):
        """Why `trial`, just created, must not run, or None: another trial has its grid point
        (finished, or running and created first: two workers that took the same point at the same
        moment), or the study already has its trials."""
        from optuna.trial import TrialState
        others = [t for t in self._counted(trials) if t.number != trial.number]
        if self.sampler_name == "grid":
            point = self._point(trial)
            for t in others:
                if self._point(t) == point and (t.state.is_finished() or (
                        t.state == TrialState.RUNNING and t.number < trial.number)):
                    return f"its settings are trial {t.number}'s"
            return None
        if len([t for t in others if t.number < trial.number]) >= self._target():
            return f"the study has its {self._target()} trials"
        return None

    def _claim(self):
        """(the next trial this worker runs, its heartbeat), or None when nothing is left.
        Trials of workers that died are failed first (and queued again once). A trial Optuna
        hands out whose point another worker runs is given up (told failed, marked "surplus",
        left out of the results) and the next is asked for."""
        from optuna.trial import TrialState
        for _ in range(1000):          # each give-up is a race lost to another worker
            storages.fail_lost_trials(self.study)
            if not self._work_left(self.study.get_trials(deepcopy=False)):
                return None
            with warnings.catch_warnings():    # "heartbeat is meant for optimize()": ask/tell here
                warnings.simplefilter("ignore")
                trial = self.study.ask()
            beat = storages.Heartbeat(self.study._storage, trial._trial_id)
            for param in self.params:
                param.suggest(trial)       # the values are in the storage for others to see
            reason = self._taken(trial, self.study.get_trials(deepcopy=False))
            if reason is None:
                return trial, beat
            beat.stop()
            trial.set_user_attr("surplus", reason)
            self.study.tell(trial, state=TrialState.FAIL)
        return None

    def _requeue_stopped(self):
        """A grid sweep re-runs the settings of trials that were stopped (not yet re-run)."""
        from optuna.trial import TrialState
        if self.sampler_name != "grid":
            return
        trials = self.study.get_trials(deepcopy=False)
        done = [t.params for t in trials if t.state != TrialState.FAIL
                or not t.user_attrs.get("stopped")]
        waiting = [t.params for t in trials if t.state == TrialState.WAITING]
        for t in trials:
            if t.state == TrialState.FAIL and t.user_attrs.get("stopped") and t.params \
                    and t.params not in done and t.params not in waiting:
                self.study.enqueue_trial(t.params)
                waiting.append(t.params)

    # -- the run -------------------------------------------------------------------------------
    def run(self):
        """Yield events: "trial_start", "epoch", "trial" (the finished trial's record, as in
        result()), and a final "finished" with status "completed" or "stopped"."""
        with num_threads(self.threads):
            yield from self._run()

    def _run(self):
        from optuna.exceptions import UpdateFinishedTrialError
        self._requeue_stopped()
        while not self._stopped:
            claim = self._claim()
            if claim is None:
                break
            trial, beat = claim
            try:
                record = yield from self._run_trial(trial)
            except UpdateFinishedTrialError:    # this worker beat too late: another failed the
                record = self._record_of(trial.number)   # trial as lost and queued it again
            finally:
                beat.stop()
            self.write_outputs()
            yield {"kind": "trial", "trial": record}
        self.write_outputs()
        yield {"kind": "finished", "status": "stopped" if self._stopped else "completed",
               "trials": len(self._finished())}

    def _run_trial(self, trial):
        from optuna.trial import TrialState
        settings = {p.name: p.suggest(trial) for p in self.params}
        run_dir = self.out / "trials" / f"trial_{trial.number:04d}"
        trial.set_user_attr("run_dir", str(run_dir))
        yield {"kind": "trial_start", "number": trial.number, "settings": settings}
        state, message, best = TrialState.FAIL, "", None
        try:
            graph = self._trial_graph(settings)
            run_dir.mkdir(parents=True, exist_ok=True)
            fileformat.save(graph, run_dir / "design.json")     # what the editor opens
            trial.set_user_attr("design", str(run_dir / "design.json"))
            totals = Analyzer(graph).totals
            trial.set_user_attr("total_params", totals.params)
            trial.set_user_attr("total_macs", totals.macs)
            self._before_training(trial, graph, totals)
            graph, weights = self._start_from(trial, settings, graph, run_dir)
            config = self._trial_config(settings, run_dir)
            self._control = TrainControl()
            if self._stopped:                 # Stop came while this trial was being set up
                self._control.stop()
            pruned = False
            finished = None
            for event in Trainer(graph, config, control=self._control, weights=weights).run():
                if isinstance(event, Epoch):
                    error, epoch = event.val_top1_error, event.epoch
                    best = error if best is None else min(best, error)
                    yield {"kind": "epoch", "number": trial.number, "epoch": epoch,
                           "val_top1_error": error}
                    if self._report(trial, error, epoch):
                        pruned = True
                        self._control.stop()
                elif isinstance(event, Finished):
                    finished = event
            message = finished.message
            if finished.status == "completed":
                state = TrialState.COMPLETE
            elif pruned:
                state = TrialState.PRUNED
                message = (f"pruned after epoch {epoch}: validation error {error:.2%} trails the "
                           f"median of earlier trials")
            elif self._stopped:
                trial.set_user_attr("stopped", True)
                message = "stopped by the user"
        except KeyboardInterrupt:        # Ctrl+C: record the trial as stopped, so a resume re-runs it
            trial.set_user_attr("stopped", True)
            trial.set_user_attr("message", "interrupted")
            self.study.tell(trial, state=TrialState.FAIL)
            self.write_outputs()
            raise
        except _OverBudget as error:
            state, message = TrialState.PRUNED, str(error)
            trial.set_user_attr("over_budget", True)      # pruned before training, not during
        except DesignError as error:
            message = str(error)
        except Exception as error:       # one broken trial must not end the sweep
            message = f"{type(error).__name__}: {error}"
        finally:
            self._control = None
        if best is not None:
            trial.set_user_attr("val_top1_error", best)
        if message:
            trial.set_user_attr("message", message)
        if state == TrialState.COMPLETE:
            self._tell_complete(trial, best)
        else:
            self.study.tell(trial, state=state)
        return self._record_of(trial.number)

    # -- hooks (designer.search.study overrides them) ------------------------------------------
    def _set_design_value(self, graph, node_id, param, value):
        graph.set_params(node_id, **{param: value})

    def _before_training(self, trial, graph, totals):
        """Costs known before training: over the MAC budget is pruned (_OverBudget)."""
        if self.max_macs is not None and totals.macs > self.max_macs:
            raise _OverBudget(f"{totals.macs:,} multiply-adds exceed the budget of "
                              f"{self.max_macs:,}; not trained")
        if self.latency:
            trial.set_user_attr("latency_ms", measure(graph, threads=1, repeats=10,
                                                      warmup=2).end_to_end_ms)

    def _start_from(self, trial, settings, graph, run_dir):
        """(the design the trial trains, the weights it starts from or None: its own)."""
        return graph, None

    def _tell_complete(self, trial, best):
        self.study.tell(trial, best)

    def _report(self, trial, error, epoch):
        """Report an epoch's validation error; True when the trial should be pruned."""
        trial.report(error, epoch)
        return self.prune and trial.should_prune()

    def _trial_graph(self, settings):
        graph = load_design(self.design)
        for name, value in settings.items():
            if "." in name:          # NODE.PARAM; training settings and width have no dot
                node_id, param, _ = parse_edit(f"{name}=0", "--param")
                self._set_design_value(graph, node_id, param, value)
        if "width" in settings:
            width = settings["width"]
            if isinstance(width, bool) or not isinstance(width, (int, float)) \
                    or not math.isfinite(width) or width <= 0:
                raise SweepError(f"the width multiplier must be a number above 0; got {width!r}")
            scale_width(graph, float(width))
        errors = Analyzer(graph).errors()
        if errors:
            what = "these settings make the design invalid" if settings else "the design has errors"
            raise SweepError(f"{what}: {errors[0][0]}: {errors[0][1]}")
        return graph

    def _trial_config(self, settings, run_dir):
        values = {"dataset": self.dataset, "epochs": self.epochs, "seed": self.seed,
                  **self.train_settings}
        values.update({k: v for k, v in settings.items() if k != "width" and "." not in k})
        values["out"] = str(run_dir)
        if self.threads:            # the sweep's --threads, not the trial's auto count
            values.setdefault("threads", self.threads)
        return TrainConfig.from_dict(values).validate()

    # -- results -------------------------------------------------------------------------------
    @staticmethod
    def _record(t):
        state = {"COMPLETE": "complete", "PRUNED": "pruned", "RUNNING": "running",
                 "WAITING": "waiting"}.get(t.state.name, "failed")
        attrs = t.user_attrs
        return {"number": t.number, "state": state, "settings": dict(t.params),
                "total_params": attrs.get("total_params"), "total_macs": attrs.get("total_macs"),
                "latency_ms": attrs.get("latency_ms"), "val_top1_error": attrs.get("val_top1_error"),
                "run_dir": attrs.get("run_dir"), "message": attrs.get("message"),
                "design": attrs.get("design"), "over_budget": attrs.get("over_budget", False)}

    def records(self):
        """Every trial in the study (all workers'), by number: finished ones, and those running
        or queued now ("running", "waiting"), but not claims given up (see `_claim`). A trial
        lost with its worker says so and names its retry; the retry names the trial it re-runs."""
        from optuna.trial import TrialState
        trials = [t for t in self.study.get_trials(deepcopy=False) if "surplus" not in t.user_attrs]
        retried_as = {}
        for t in trials:
            for number in t.system_attrs.get("retry_history", ()):
                retried_as.setdefault(number, t.number)
        records = []
        for t in trials:
            record = self._record(t)
            if t.state == TrialState.FAIL and record["message"] is None:
                record["message"] = (f"lost: its worker stopped (no heartbeat for "
                                     f"{storages.GRACE_BEATS * self.heartbeat} s)")
                if t.number in retried_as:
                    record["message"] += f"; run again as trial {retried_as[t.number]}"
            history = t.system_attrs.get("retry_history")
            if history:
                record["retry_of"] = history[-1]
                record["message"] = f"retry of trial {history[-1]}" + (
                    f"; {record['message']}" if record["message"] else "")
            records.append(record)
        return records

    def _record_of(self, number):
        return next(r for r in self.records() if r["number"] == number)

    def result(self):
        """The `designer sweep --json` object."""
        trials = self.records()
        numbers, points = tradeoff_points(trials, "total_macs")
        return {"trials": trials, "pareto": [numbers[i] for i in pareto_front(points)],
                "storage": storages.redact(self.storage), "study": self.study_name,
                "out": str(self.out)}

    def _extra_columns(self):
        """Record fields trials.csv lists after the message (a warm-started search's)."""
        return []

    def write_outputs(self):
        """trials.csv and tradeoff.png in the sweep folder (atomic replaces)."""
        trials = self.records()
        names = list(dict.fromkeys(itertools.chain([p.name for p in self.params],
                                                   *(t["settings"] for t in trials))))
        with atomic_path(self.out / "trials.csv") as tmp, open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            extra = self._extra_columns()
            writer.writerow(["trial", "state", *names, "total_params", "total_macs", "latency_ms",
                             "val_top1_error", "run_dir", "message", *extra])
            for t in trials:
                writer.writerow([t["number"], t["state"], *(t["settings"].get(n, "") for n in names),
                                 t["total_params"], t["total_macs"],
                                 "" if t["latency_ms"] is None else f"{t['latency_ms']:.4f}",
                                 "" if t["val_top1_error"] is None else f"{t['val_top1_error']:.6f}",
                                 t["run_dir"], t["message"] or "",
                                 *("" if t.get(c) is None else t[c] for c in extra)])
        finished = [t for t in trials if t["state"] not in ("running", "waiting")]
        with atomic_path(self.out / "tradeoff.png") as tmp:
            write_tradeoff_png(finished, tmp, title=f"Sweep of {Path(self.design).stem}")
