"""The settings of one training run: a dataclass whose fields are declared settings
(`designer.core.settings`), shared by the CLI (its flags are made from them), the Train panel
(its form is made from them), checkpoints and run metadata. Everything in it is a number, a
string, a bool or None, so it round-trips through JSON and through
`torch.load(weights_only=True)`.

Adding a setting is one `setting(...)` field here; its flag, form row, JSON and range check
follow. Code that reads it (`config.accumulate_steps` in the loop) is the only other change.
"""

from dataclasses import asdict, dataclass

from designer.core.errors import DesignError
from designer.core.params import Param
from designer.core.settings import Settings, setting, settings_class

# Choices: name -> title. The names are what the CLI, files and checkpoints use; titles are shown.
DATASETS = {"digits": "UCI digits", "mnist": "MNIST", "fashion_mnist": "Fashion-MNIST",
            "cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagefolder": "ImageFolder"}
OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}
SCHEDULES = {"cosine": "cosine", "step": "step", "onecycle": "one-cycle",
             "plateau": "reduce on plateau", "constant": "constant"}
CROPS = {"auto": "auto (by dataset)", "none": "none (resize)", "pad": "pad and crop",
         "resized": "random-resized crop"}
EVAL_CROPS = {"center": "centre crop", "ten": "10-crop"}
DEVICES = {"auto": "auto (GPU when present)", "cpu": "CPU", "cuda": "CUDA GPU"}

# Which datasets a setting applies to.
DOWNLOADED = ("mnist", "fashion_mnist", "cifar10", "cifar100")   # torchvision's, into the folder
FROM_FOLDER = tuple(d for d in DATASETS if d != "digits")       # digits is built in
SPLIT_HERE = ("digits", "imagefolder")     # no validation split of their own (ImageFolder: no val/)


class TrainConfigError(DesignError):
    """Settings that cannot describe a run (an unknown dataset, a negative learning rate ...)."""


@settings_class
@dataclass
class TrainConfig:
    """Every setting of one training run, each declared once."""
    Error = TrainConfigError

    # -- data ------------------------------------------------------------------------------
    dataset: str = setting("digits", "Dataset", choices=DATASETS, group="Data",
                           help="UCI digits is built in and works offline; the others are read "
                                "from the data folder (downloaded there when allowed)")
    data_dir: str | None = setting(None, "Data folder", kind="folder", group="Data",
                                   none_text="no folder", applies={"dataset": FROM_FOLDER},
                                   help="Where the dataset's files are, or go; for "
                                        "ImageFolder a folder of class sub-folders (optionally "
                                        "under train/ and val/) or a CSV file of path,label rows")
    download: bool = setting(True, "Download", group="Data", applies={"dataset": DOWNLOADED},
                             help="Download the dataset into the data folder when it is missing")
    val_fraction: float = setting(0.2, "Validation share", above=0, below=1, decimals=2,
                                  step=0.05, group="Data", applies={"dataset": SPLIT_HERE},
                                  help="The share of the images held out for validation, for "
                                       "datasets without a validation split of their own")
    classes: str | None = setting(None, "Classes", none_text="all", metavar="CLASSES",
                                  group="Data",
                                  help="Train on these classes only, relabelled in this order: "
                                       "names or index ranges, e.g. 0-4 or cat,dog")
    # -- transfer learning -----------------------------------------------------------------
    new_head: bool = setting(False, "New head", group="Transfer",
                             help="Replace the classifier (the last fully connected layer or "
                                  "1×1 convolution before the main output) with a new one "
                                  "giving the dataset's class count; every other tensor is "
                                  "kept from the weights")
    freeze: tuple | None = setting(None, "Freeze", kind="names", none_text="none",
                                   metavar="NODE[,NODE...]", group="Transfer",
                                   help="Nodes whose parameters get no gradient and whose batch "
                                        "norms keep their statistics: node ids or name prefixes "
                                        "such as layer1 (beside the nodes the design marks "
                                        "frozen)")
    lr_factor: str | None = setting(None, "LR factors", none_text="none",
                                    metavar="NODE=F[,...]", group="Transfer",
                                    help="Scale the learning rate of these nodes' parameters "
                                         "(node ids or name prefixes), e.g. fc=10,layer1=0.1; "
                                         "beside the factors the design sets")
    # -- optimisation ----------------------------------------------------------------------
    epochs: int = setting(10, "Epochs", min=1, group="Optimisation",
                          help="Passes over the training set")
    batch_size: int = setting(64, "Batch size", min=1, unit="images",
                              group="Optimisation",
                              help="Images per forward pass (per GPU under torchrun)")
    accumulate_steps: int = setting(1, "Batches per step", min=1, group="Optimisation",
                                    help="Batches whose gradients are summed before each "
                                         "optimiser step: the effective batch is the batch size "
                                         "times this, for models whose large batch does not fit")
    lr: float = setting(0.05, "Learning rate", above=0, decimals=6, step=0.005,
                        group="Optimisation", help="The peak learning rate of the schedule")
    optimizer: str = setting("sgd", "Optimiser", choices=OPTIMIZERS, group="Optimisation",
                             help="SGD (with momentum), Adam or AdamW")
    momentum: float = setting(0.9, "Momentum", min=0.0, below=1.0, decimals=3, step=0.05,
                              group="Optimisation", applies={"optimizer": ("sgd",)},
                              help="SGD momentum")
    nesterov: bool = setting(False, "Nesterov", group="Optimisation",
                             applies={"optimizer": ("sgd",)}, help="Nesterov momentum (SGD)")
    weight_decay: float = setting(5e-4, "Weight decay", min=0.0, decimals=6, step=1e-4,
                                  group="Optimisation",
                                  help="On convolution and linear weights only")
    label_smoothing: float = setting(0.0, "Label smoothing", min=0.0, below=1.0, decimals=3,
                                     step=0.05, special="off", group="Optimisation",
                                     help="The share of each target spread over the other "
                                          "classes")
    grad_clip: float = setting(0.0, "Gradient clip", min=0.0, decimals=2, step=0.5,
                               special="off", metavar="NORM", group="Optimisation",
                               help="Largest gradient norm; 0 turns clipping off")
    # -- schedule --------------------------------------------------------------------------
    schedule: str = setting("cosine", "Schedule", choices=SCHEDULES, group="Schedule",
                            help="How the learning rate changes over the run")
    warmup_epochs: float = setting(0.0, "Warm-up", min=0.0, decimals=2, step=0.5,
                                   unit="epochs", special="off", group="Schedule",
                                   help="Epochs over which the learning rate rises linearly to "
                                        "its peak")
    step_size: int = setting(30, "Step every", min=1, unit="epochs",
                             group="Schedule", applies={"schedule": ("step",)},
                             help="Step schedule: epochs between decays")
    gamma: float = setting(0.1, "Decay factor", above=0.0, max=1.0, decimals=3, step=0.05,
                           group="Schedule", applies={"schedule": ("step", "plateau")},
                           help="Step and plateau schedules: the factor each decay multiplies "
                                "the learning rate by")
    patience: int = setting(5, "Patience", min=0, unit="epochs", group="Schedule",
                            applies={"schedule": ("plateau",)},
                            help="Plateau schedule: epochs without improvement before a decay")
    # -- augmentation ----------------------------------------------------------------------
    crop: str = setting("auto", "Training crop", choices=CROPS, group="Augmentation",
                        help="How training images are cropped")
    crop_padding: int = setting(4, "Crop padding", min=0, unit="px",
                                group="Augmentation", applies={"crop": ("auto", "pad")},
                                help="Pad and crop: zeros added on each side before the random "
                                     "crop")
    flip: bool | None = setting(None, "Flip", kind="bool", none_text="auto (natural images)",
                                group="Augmentation",
                                help="Random horizontal flips while training")
    scale_jitter: float = setting(0.0, "Scale jitter", min=0.0, decimals=2, step=0.1,
                                  special="off", metavar="X", group="Augmentation",
                                  help="Resize by a random factor in [1, 1+X] before cropping")
    pca_lighting: float = setting(0.0, "PCA lighting", min=0.0, decimals=3, step=0.05,
                                  special="off", metavar="STD", group="Augmentation",
                                  help="AlexNet's colour lighting (0.1 in the paper)")
    eval_crop: str = setting("center", "Evaluation", choices=EVAL_CROPS, group="Augmentation",
                             help="10-crop: the corners, the centre and their flips, averaged")
    # -- hardware --------------------------------------------------------------------------
    device: str = setting("auto", "Device", choices=DEVICES, group="Hardware",
                          help="Where the model trains")
    amp: bool = setting(True, "Mixed precision", group="Hardware",
                        help="Mixed precision on CUDA (bf16 when supported, else fp16)")
    channels_last: bool = setting(True, "Channels last", group="Hardware",
                                  help="The channels-last memory format (faster convolutions on "
                                       "CUDA and on the CPU)")
    compile: bool = setting(False, "Compile", group="Hardware",
                            help="torch.compile the model (slower to start, faster steps; "
                                 "seldom pays for a small model on the CPU)")
    threads: int | None = setting(None, "CPU threads", kind="int", min=1, group="Hardware",
                                  none_text="auto (1 for a small model on the CPU)",
                                  help="PyTorch's intra-op CPU threads for the run (restored "
                                       "after); auto: 1 on the CPU for a model under 10 "
                                       "million multiply-adds a sample, else the physical "
                                       "cores not busy, at most PyTorch's default")
    workers: int = setting(0, "Loader workers", min=0, group="Hardware",
                           help="Data loader processes (0 reads in the training process)")
    fast_path: bool = setting(True, "Fast path", group="Hardware",
                              help="Hold the dataset on the device as one uint8 tensor when it "
                                   "fits the budget, instead of reading it through a DataLoader")
    fast_path_budget_mb: float = setting(0.0, "Fast path budget", min=0.0, decimals=0,
                                         step=256, unit="MB", special="auto",
                                         flag="--fast-path-budget", metavar="MB",
                                         group="Hardware", applies={"fast_path": (True,)},
                                         help="Memory the fast path may use; 0: a quarter of "
                                              "the device's free memory")
    log_every: int = setting(0, "Loss readings", min=0, unit="steps",
                             special="auto", group="Hardware",
                             help="Steps between loss readings (each waits for the GPU); 0 "
                                  "reads every step on the CPU and every 20th on CUDA")
    # -- the run ---------------------------------------------------------------------------
    seed: int = setting(0, "Seed", min=0, group="Run",
                        help="Seeds the initial weights, the batches and the augmentations")
    deterministic: bool = setting(False, "Deterministic", group="Run",
                                  help="Deterministic algorithms only (slower on CUDA)")
    out: str | None = setting(None, "Run folder", kind="folder", metavar="RUN_DIR",
                              none_text="a new folder in the runs folder", group="Run",
                              help="Where checkpoints, metrics.csv and steps.csv are written")

    def validate(self):
        """Each setting's type and range (one sentence for the first bad one), then the
        settings that must agree with each other."""
        self.check_fields()

        def need(ok, sentence):
            if not ok:
                raise TrainConfigError(sentence)
        need(not (self.nesterov and self.optimizer == "sgd" and self.momentum == 0),
             "Nesterov momentum needs a momentum above 0")
        need(self.dataset != "imagefolder" or self.data_dir,
             "the imagefolder dataset needs a data folder (--data-dir)")
        parse_lr_factors(self.lr_factor)     # refuses a malformed NODE=F list here
        return self

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        """A config from saved values; a setting missing from them (a checkpoint written before
        it existed) takes its default."""
        unknown = sorted(set(values) - set(cls.SETTINGS.by_name))
        if unknown:
            raise TrainConfigError("unknown training settings: " + ", ".join(unknown))
        return cls(**values)


def parse_lr_factors(text):
    """{node or prefix: factor} from "fc=10,layer1=0.1" (commas or spaces between); each factor
    a number above 0. TrainConfigError for anything else."""
    factors = {}
    for item in (text or "").replace(",", " ").split():
        name, equals, value = item.partition("=")
        try:
            factor = float(value)
        except ValueError:
            factor = None
        if not equals or not name or factor is None:
            raise TrainConfigError(f"LR factors: expected NODE=FACTOR items such as fc=10, got "
                                   f"{item!r}")
        if not 0 < factor < float("inf"):
            raise TrainConfigError(f"LR factors: the factor of {name} must be above 0 (freeze "
                                   f"the node to stop it learning); got {value}")
        factors[name] = factor
    return factors


# What a run starts from besides its settings: weights, and a teacher to distil from. Not part of
# TrainConfig (a checkpoint's config): they are read once, when the run starts.
START_SETTINGS = Settings([
    Param("weights", "path", None, optional=True, title="Weights", group="Start from",
          none_text="the design's initial weights", metavar="PATH",
          pattern="PyTorch weights (*.pt *.pth *.ckpt)",
          help="Start from these weights (a state_dict or a checkpoint, e.g. torchvision's for "
               "a preset named like its model); the first message reports what loaded"),
    Param("pretrained", "bool", False, title="Published weights", group="Start from",
          help="Start from the published weights of the model the design reproduces (a preset "
               "named like a torchvision model, or a design imported from torchvision or timm), "
               "read from PyTorch's hub cache; never downloaded (the message says where to put "
               "the file)"),
    Param("teacher", "path", None, optional=True, title="Distil from", group="Start from",
          none_text="no teacher", metavar="DESIGN", pattern="Designs (*.json)",
          help="Knowledge distillation: a trained design (.json) or preset whose soft targets "
               "the student learns beside the labels"),
    Param("teacher_weights", "path", None, optional=True, title="Teacher weights",
          group="Start from", none_text="none", metavar="CKPT",
          pattern="PyTorch weights (*.pt *.pth)", help="The teacher's trained weights"),
    Param("temperature", "float", 2.0, title="Temperature", above=0, decimals=2,
          step=0.5, group="Start from", help="Distillation: the softmax temperature T of the "
                                             "soft targets"),
    Param("alpha", "float", 0.5, title="Soft-target weight", min=0.0, max=1.0, decimals=2,
          step=0.1, group="Start from",
          help="Distillation: loss = α·T²·KL(teacher ‖ student) + (1−α)·cross-entropy"),
], TrainConfigError)

# Everything the Train panel's form and `designer train` set, in that order.
TRAIN_SETTINGS = TrainConfig.SETTINGS + START_SETTINGS
