"""The settings of the compression techniques, each declared once (designer.core.settings):
the `designer prune / quantize / factorize / substitute / compress-report` flags, the Compress
panel's form and the checks `jobs.run` makes come from these. A light module (no torch), so
building the CLI's parser stays quick.
"""

from designer.core.errors import DesignError
from designer.core.params import Param
from designer.core.settings import Settings
from designer.train.config import DATASETS


class CompressError(DesignError):
    """A compression request that cannot be carried out; the sentence says why."""


WEIGHT_SCHEMES = ("linear", "affine", "kmeans", "log")   # weight-only codebooks


FRACTION = dict(above=0.0, below=1.0, decimals=2, step=0.05)

# Every option of every technique, declared once: the verbs' flags, the Compress panel's form and
# the checks below are made from these. Each verb offers the ones named in VERB_SETTINGS.
SETTINGS = Settings([
    Param("weights", "path", None, optional=True, title="Weights", group="Model",
          metavar="CKPT", pattern="PyTorch weights (*.pt *.pth *.ckpt)",
          none_text="choose the trained weights",
          help="The trained weights (a state_dict or a training checkpoint)"),
    Param("dataset", "choice", None, optional=True, choices=DATASETS, title="Dataset",
          none_text="(none)", group="Data",
          help="Measure validation top-1 error (and calibrate or fine-tune) on this dataset"),
    Param("data_dir", "folder", None, optional=True, title="Data folder", none_text="no folder",
          group="Data", help="Where the dataset files are"),
    Param("method", "choice", "l1", choices={"l1": "filters by L1 norm", "bn": "filters by "
          "BatchNorm scale", "magnitude": "single weights by magnitude"}, title="Method",
          group="Prune", help="What is removed: whole filters (rewriting the design) or single "
                              "weights (zeroed)"),
    Param("amount", "float", 0.5, title="Amount", group="Prune", **FRACTION,
          help="The share of filters (or weights) to remove"),
    Param("global_", "bool", False, title="Global ranking", flag="--global", group="Prune",
          help="Rank all layers together instead of removing the amount from each"),
    Param("layers", "names", None, optional=True, title="Layers", group="Layers",
          none_text="all layers", help="Only these layers (module names)"),
    Param("layer_amounts", "str", None, optional=True, title="Layer amounts",
          metavar="A=0.3,B=0.7", none_text="the amount for every layer", group="Prune",
          help="A different amount for the filters of these layers"),
    Param("iterations", "int", 1, title="Rounds", min=1, metavar="K", group="Prune",
          help="Reach the amount in K prune (then fine-tune) rounds of equal share"),
    Param("rewind", "path", None, optional=True, title="Rewind to", metavar="CKPT",
          none_text="no rewinding", pattern="PyTorch weights (*.pt *.pth *.ckpt)",
          group="Prune", help="Lottery ticket: after the first pruning, reset the kept weights "
                              "to these (e.g. the initial weights) before training"),
    Param("scheme", "str", "int8-static", title="Scheme", group="Quantise",
          help="int8-static, int8-dynamic, int8-qat or weight:BITS:linear|affine|kmeans|log"),
    Param("per_channel", "bool", False, title="Per channel", group="Quantise",
          help="One scale (or codebook) per output channel instead of per tensor"),
    Param("calibration_batches", "int", 10, title="Calibration batches", min=1,
          group="Quantise", help="Batches of the dataset int8-static calibrates on"),
    Param("energy", "float", None, optional=True, title="Energy kept", above=0.0, max=1.0,
          decimals=3, step=0.01, none_text="from the rank", group="Factorise",
          help="Keep this share of Σσ² (e.g. 0.9)"),
    Param("rank", "int", None, optional=True, title="Rank", min=1,
          none_text="from the energy", group="Factorise",
          help="The same rank r for every chosen layer"),
    Param("spatial", "bool", False, title="Spatial", group="Factorise",
          help="Split k×k convolutions into k×1 then 1×k (instead of k×k then 1×1)"),
    Param("layer", "str", "", title="Convolution", group="Layers",
          none_text="select a convolution on the canvas",
          help="The convolution to replace (its module name)"),
    Param("kind", "choice", "separable", choices={"separable": "depthwise-separable",
          "ghost": "Ghost module"}, title="Replace with", flag="--with", group="Substitute",
          help="What the convolution becomes"),
    Param("finetune_epochs", "int", 0, title="Fine-tune epochs", min=0,
          metavar="N", special="none", group="Training",
          help="Epochs of training on the dataset afterwards (int8-qat: of quantisation-aware "
               "training)"),
    Param("lr", "float", 0.01, title="Learning rate", above=0.0, decimals=5,
          step=0.005, group="Training", help="The fine-tuning learning rate"),
    Param("batch_size", "int", 64, title="Batch size", min=1, group="Training",
          help="Images per fine-tuning step"),
    Param("seed", "int", 0, title="Seed", min=0, group="Training",
          help="Seeds fine-tuning and new layers' initial weights"),
    Param("latency", "bool", True, title="Latency", group="Measure",
          help="Measure the CPU latency before and after (1 thread)"),
], CompressError)

_TRAINING = ("finetune_epochs", "lr", "batch_size", "seed")
_COMMON = ("dataset", "data_dir", "latency")
VERB_SETTINGS = {
    "prune": ("method", "amount", "global_", "layers", "layer_amounts", "iterations", "rewind")
             + _TRAINING + _COMMON,
    "quantize": ("scheme", "per_channel", "calibration_batches") + _TRAINING + _COMMON,
    "factorize": ("energy", "rank", "layers", "spatial") + _COMMON,
    "substitute": ("layer", "kind") + _TRAINING + _COMMON,
}

DEEP_COMPRESSION_DEFAULTS = {"conv": {"amount": 0.6, "bits": 8, "index_bits": 8},
                             "linear": {"amount": 0.9, "bits": 5, "index_bits": 5}}

# The stages' settings for `designer compress-report`, for convolutions and fully connected layers.
REPORT_SETTINGS = Settings([
    Param("conv_amount", "float", DEEP_COMPRESSION_DEFAULTS["conv"]["amount"],
          title="Amount (conv)", above=0.0, below=1.0, group="Deep Compression",
          help="The share of the convolutions' weights pruned"),
    Param("fc_amount", "float", DEEP_COMPRESSION_DEFAULTS["linear"]["amount"],
          title="Amount (fc)", above=0.0, below=1.0, group="Deep Compression",
          help="The share of the fully connected layers' weights pruned"),
    Param("conv_bits", "int", DEEP_COMPRESSION_DEFAULTS["conv"]["bits"], title="Bits (conv)",
          min=1, max=16, group="Deep Compression",
          help="Bits of the convolutions' k-means codebook index"),
    Param("fc_bits", "int", DEEP_COMPRESSION_DEFAULTS["linear"]["bits"], title="Bits (fc)",
          min=1, max=16, group="Deep Compression",
          help="Bits of the fully connected layers' k-means codebook index"),
], CompressError)

# A weight-only scheme ("weight:BITS:CODEBOOK") as the Compress panel edits it: two settings.
WEIGHT_SCHEME_SETTINGS = Settings([
    Param("weight_bits", "int", 4, title="Bits", min=2, max=16, group="Quantise",
          help="Bits per quantised weight"),
    Param("weight_codebook", "choice", "linear", choices=WEIGHT_SCHEMES, title="Codebook",
          group="Quantise", help="linear and affine grids, k-means centroids or powers of two "
                                 "(log)"),
], CompressError)


def weight_scheme(bits, codebook):
    """The --scheme text of a weight-only scheme."""
    return f"weight:{bits}:{codebook}"
