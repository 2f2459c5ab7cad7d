"""The structure search's settings, declared once (designer.core.settings): `designer sweep`'s
--space, --objective, --constraint, --pruner and --warm-start flags and the Experiments panel's
fields. Light (no torch, no optuna)."""

from designer.core.params import Param
from designer.core.settings import Settings
from designer.speed.settings import SweepError

OBJECTIVES = {"error": "validation top-1 error", "latency": "latency (ms, CPU, batch 1)",
              "macs": "multiply-adds", "params": "parameters", "bytes": "weight bytes"}

SEARCH_SETTINGS = Settings([
    Param("space", "choice", "none", choices={"none": "only --param", "design": "the design's"},
          title="Search space", group="Search",
          help="'design': also vary what the design file marks searchable (the inspector's "
               "Search space), one Optuna parameter NODE.PARAM each"),
    Param("objective", "names", ["error"], choices=tuple(OBJECTIVES), title="Objectives",
          group="Search", metavar="NAME",
          help="What the study minimises: error, latency, macs, params, bytes (comma-separated); "
               "two or more use Optuna's NSGA-II"),
    Param("constraint", "names", [], optional=True, title="Constraints", group="Search",
          metavar="NAME<=BOUND", none_text="none",
          help="Bounds such as latency<=5ms, params<=1e6, macs<=20M, error<=0.1: a trial over a "
               "cost bound is not trained; NSGA-II prefers trials within every bound"),
    Param("pruner", "choice", "median", choices={"median": "median", "hyperband": "Hyperband",
          "halving": "successive halving", "none": "none"}, title="Pruner", group="Search",
          help="How trials that trail are stopped early (one objective only); --no-prune "
               "turns pruning off too"),
    Param("warm_start", "bool", False, title="Warm starts", group="Search",
          help="Start a trial from the trained weights of an earlier complete trial whose design "
               "it widens (conv out_channels, linear out_features grown, all else equal), grown "
               "keeping its function; the lowest-error such parent is chosen"),
], SweepError)
