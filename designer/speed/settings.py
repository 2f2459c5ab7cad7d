"""The settings of the speed lab, each declared once (designer.core.settings): `designer profile`
and `designer sweep` flags and the Speed and Experiments panels' forms come from these. A light
module (no torch, no optuna), so building the CLI's parser stays quick.
"""

from designer.core.errors import DesignError
from designer.core.params import Param
from designer.core.settings import Settings
from designer.train.config import DATASETS


class ProfileError(DesignError):
    """A profile that cannot be measured (no CUDA, an unknown dtype ...)."""


class SweepError(DesignError):
    """A sweep that cannot start (a malformed --param, an unknown setting); the sentence says why."""


THREADS = Param("threads", "int", None, optional=True, title="CPU threads", min=1,
                none_text="PyTorch's default", group="Hardware",
                help="torch.set_num_threads while measuring or training; on a shared machine 1 "
                     "is often fastest")

PROFILE_SETTINGS = Settings([
    Param("batch", "int", 1, title="Batch", min=1, group="Measurement",
          help="Images per forward pass"),
    Param("device", "choice", "cpu", choices={"cpu": "CPU", "cuda": "CUDA GPU"}, title="Device",
          group="Hardware", help="Where the design runs"),
    THREADS,
    Param("repeats", "int", 20, title="Repeats", min=1, group="Measurement",
          help="Timed runs after the warm-up; the median is reported"),
    Param("warmup", "int", 5, title="Warm-up runs", min=0, group="Measurement",
          help="Untimed runs first"),
    Param("backward", "bool", False, title="Backward", group="Measurement",
          help="Also time the backward pass per node (training mode)"),
    Param("dtype", "choice", "float32", choices=("float32", "float16", "bfloat16"),
          title="Data type", group="Measurement",
          help="The weights' and activations' type; bytes are counted at its size"),
], ProfileError)

SWEEP_SETTINGS = Settings([
    Param("dataset", "choice", "digits", choices=DATASETS, title="Dataset", group="Study",
          help="The dataset every trial trains on"),
    Param("trials", "int", None, optional=True, title="Trials", min=1,
          none_text="auto (the grid, or 10)", group="Study",
          help="Trials in the study; a resumed study counts the trials it already has"),
    Param("sampler", "choice", "grid", choices={"grid": "grid", "random": "random",
          "tpe": "TPE (Bayesian)"}, title="Sampler", group="Study",
          help="How the next trial's values are chosen"),
    Param("epochs", "int", 5, title="Epochs per trial", min=1, group="Study",
          help="Training epochs of each trial"),
    Param("storage", "str", None, optional=True, title="Storage", metavar="URL",
          none_text="sqlite:///OUT/study.db", group="Study",
          help="Optuna storage: a database URL (sqlite:///..., postgresql+psycopg2://user@host/db) "
               "or journal:PATH (a log file, no server); workers given the same one share the "
               "study"),
    Param("heartbeat", "int", 10, title="Heartbeat (s)", min=1, metavar="S", group="Study",
          help="Seconds between a running trial's heartbeats; a trial silent for 4 beats (its "
               "worker was killed) is failed as lost and run again once"),
    Param("study", "str", "sweep", title="Study name", group="Study",
          help="The study's name in the storage"),
    Param("prune", "bool", True, title="Prune trials", group="Study",
          help="Stop trials whose validation error trails the median"),
    Param("seed", "int", 0, title="Seed", min=0, group="Study",
          help="The sampler's and the training's seed"),
    Param("max_macs", "count", None, optional=True, title="MAC budget", above=0, metavar="N",
          none_text="no budget (e.g. 300M)", group="Study",
          help="Trials whose design needs more multiply-adds are pruned without training"),
    THREADS,
    Param("latency", "bool", True, title="Latency", group="Study",
          help="Measure each trial's CPU latency"),
    Param("out", "folder", None, optional=True, title="Folder", metavar="DIR",
          none_text="a new folder in the runs folder", group="Study",
          help="The sweep folder: run folders, trials.csv, tradeoff.png and the study's "
               "database; a folder that holds a study resumes it"),
], SweepError)
