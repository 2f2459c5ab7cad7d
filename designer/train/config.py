"""The settings of one training run: a plain dataclass that the CLI, the Train panel and checkpoints
share. Everything in it is a number, a string, a bool or None, so it round-trips through JSON and
through `torch.load(weights_only=True)`.
"""

from dataclasses import asdict, dataclass, field, fields

from designer.core.errors import DesignError

# Choices: name -> title. The names are what the CLI, files and checkpoints use; titles are shown.
DATASETS = {"digits": "UCI digits", "mnist": "MNIST", "fashion_mnist": "Fashion-MNIST",
            "cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagefolder": "ImageFolder"}
OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}
SCHEDULES = {"cosine": "cosine", "step": "step", "onecycle": "one-cycle",
             "plateau": "reduce on plateau", "constant": "constant"}
CROPS = {"auto": "auto (by dataset)", "none": "none (resize)", "pad": "pad and crop",
         "resized": "random-resized crop"}
FLIPS = {None: "auto (natural images)", True: "on", False: "off"}
EVAL_CROPS = {"center": "centre crop", "ten": "10-crop"}
DEVICES = {"auto": "auto (GPU when present)", "cpu": "CPU", "cuda": "CUDA GPU"}


class TrainConfigError(DesignError):
    """Settings that cannot describe a run (an unknown dataset, a negative learning rate ...)."""


def setting(default, label, help="", **form):
    """A field the Train panel's form shows (it is generated from these, as the inspector is from
    `Param`s): its `label` and tooltip `help`, and how to edit it: `choices` (name -> title),
    `low`/`high`, `decimals` and `step` for numbers, `off` (the text shown for 0), `text` (a
    check box's own text), `folder=True` for a folder path. Fields made without it are CLI-only."""
    return field(default=default, metadata={"label": label, "help": help, **form})


@dataclass
class TrainConfig:
    dataset: str = setting("digits", "Dataset", choices=DATASETS,
                           help="UCI digits is built in and works offline; the others are read "
                                "from the data folder (downloaded there when allowed)")
    data_dir: str | None = setting(None, "Data folder", folder=True,  # torchvision data / ImageFolder
                                   help="Where the dataset's files are, or go")
    download: bool = setting(True, "", text="download when missing")
    val_fraction: float = 0.2         # digits and ImageFolder without a val/ folder
    epochs: int = setting(10, "Epochs", low=1, high=10_000)
    batch_size: int = setting(64, "Batch size", low=1, high=65_536,   # per process under torchrun
                              help="Images per step (per GPU under torchrun)")
    lr: float = setting(0.05, "Learning rate", low=1e-6, high=10.0, decimals=6, step=0.005,
                        help="The peak learning rate of the schedule")
    optimizer: str = setting("sgd", "Optimiser", choices=OPTIMIZERS)
    momentum: float = setting(0.9, "Momentum", low=0.0, high=0.999, decimals=3, step=0.05)
    nesterov: bool = setting(False, "", text="Nesterov")
    weight_decay: float = setting(5e-4, "Weight decay", low=0.0, high=1.0, decimals=6, step=1e-4,
                                  help="On convolution and linear weights only")
    schedule: str = setting("cosine", "Schedule", choices=SCHEDULES)
    warmup_epochs: float = setting(0.0, "Warm-up epochs", low=0.0, high=100.0, decimals=2,
                                   step=0.5)
    step_size: int = 30               # schedule "step": epochs between decays
    gamma: float = 0.1                # schedule "step" and "plateau": the decay factor
    patience: int = 5                 # schedule "plateau"
    label_smoothing: float = setting(0.0, "Label smoothing", low=0.0, high=0.5, decimals=3,
                                     step=0.05)
    grad_clip: float = setting(0.0, "Gradient clip", low=0.0, high=1000.0, decimals=2, step=0.5,
                               off="off", help="Largest gradient norm; 0 turns clipping off")
    crop: str = setting("auto", "Training crop", choices=CROPS)
    crop_padding: int = 4
    flip: bool | None = setting(None, "Flip", choices=FLIPS,   # None: on for natural images only
                                help="Random horizontal flips while training")
    scale_jitter: float = 0.0         # resize by a random factor in [1, 1 + x] before cropping
    pca_lighting: float = setting(0.0, "PCA lighting", low=0.0, high=1.0, decimals=3, step=0.05,
                                  off="off", help="AlexNet's colour lighting (0.1 in the paper)")
    eval_crop: str = setting("center", "Evaluation", choices=EVAL_CROPS,
                             help="10-crop: the corners, the centre and their flips, averaged")
    device: str = setting("auto", "Device", choices=DEVICES)
    amp: bool = True                  # mixed precision on CUDA (bf16 when supported, else fp16)
    channels_last: bool = True        # CUDA only
    compile: bool = False             # torch.compile the model
    seed: int = setting(0, "Seed", low=0, high=2 ** 31 - 1)
    deterministic: bool = False
    workers: int = 0
    fast_path: bool = True            # hold the dataset on the device when it fits the budget
    fast_path_budget_mb: float = 0.0  # the fast path's memory budget; 0: a quarter of free memory
    log_every: int = 0                # steps between loss syncs on CUDA; 0 picks 1 on CPU, 20 on CUDA
    out: str | None = None            # run folder: checkpoints, metrics.csv, steps.csv

    def validate(self):
        def need(ok, sentence):
            if not ok:
                raise TrainConfigError(sentence)
        need(self.dataset in DATASETS, f"unknown dataset {self.dataset!r}; choose one of "
             + ", ".join(DATASETS))
        need(self.optimizer in OPTIMIZERS, f"unknown optimiser {self.optimizer!r}; choose one of "
             + ", ".join(OPTIMIZERS))
        need(self.schedule in SCHEDULES, f"unknown schedule {self.schedule!r}; choose one of "
             + ", ".join(SCHEDULES))
        need(self.crop in CROPS, f"unknown crop {self.crop!r}; choose one of " + ", ".join(CROPS))
        need(self.eval_crop in EVAL_CROPS, f"unknown evaluation crop {self.eval_crop!r}; choose "
             "center or ten")
        need(self.device in DEVICES, f"unknown device {self.device!r}; choose auto, cpu or cuda")
        need(self.epochs >= 1, "epochs must be at least 1")
        need(self.batch_size >= 1, "the batch size must be at least 1")
        need(self.lr > 0, "the learning rate must be positive")
        need(self.weight_decay >= 0, "weight decay cannot be negative")
        need(0 <= self.momentum < 1, "momentum must be in [0, 1)")
        need(0 <= self.label_smoothing < 1, "label smoothing must be in [0, 1)")
        need(0 < self.val_fraction < 1, "the validation fraction must be between 0 and 1")
        need(self.warmup_epochs >= 0 and self.grad_clip >= 0 and self.scale_jitter >= 0
             and self.pca_lighting >= 0 and self.crop_padding >= 0
             and self.fast_path_budget_mb >= 0,
             "warm-up, gradient clipping, scale jitter, lighting, padding and the fast path's "
             "budget cannot be negative")
        need(self.step_size >= 1 and 0 < self.gamma <= 1 and self.patience >= 0,
             "the step schedule needs step_size ≥ 1 and 0 < gamma ≤ 1")
        need(not (self.nesterov and self.optimizer == "sgd" and self.momentum == 0),
             "Nesterov momentum needs a momentum above 0")
        need(self.dataset != "imagefolder" or self.data_dir,
             "the imagefolder dataset needs a data folder (--data-dir)")
        return self

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TrainConfigError("unknown training settings: " + ", ".join(unknown))
        return cls(**values)
