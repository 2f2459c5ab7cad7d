"""The settings of one training run: a plain dataclass that the CLI, the Train panel and checkpoints
share. Everything in it is a number, a string, a bool or None, so it round-trips through JSON and
through `torch.load(weights_only=True)`.
"""

from dataclasses import asdict, dataclass, fields

from designer.core.errors import DesignError

# Every dataset the trainer reads: name -> title (the CLI's choices, the Train panel's list).
DATASETS = {"digits": "UCI digits", "mnist": "MNIST", "fashion_mnist": "Fashion-MNIST",
            "cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagefolder": "ImageFolder"}
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine", "onecycle", "plateau")
CROPS = ("auto", "none", "pad", "resized")
EVAL_CROPS = ("center", "ten")
DEVICES = ("auto", "cpu", "cuda")


class TrainConfigError(DesignError):
    """Settings that cannot describe a run (an unknown dataset, a negative learning rate ...)."""


@dataclass
class TrainConfig:
    dataset: str = "digits"
    data_dir: str | None = None       # where torchvision datasets / the ImageFolder tree live
    download: bool = True             # torchvision datasets: download when missing and online
    val_fraction: float = 0.2         # digits and ImageFolder without a val/ folder
    epochs: int = 10
    batch_size: int = 64              # per process under torchrun
    lr: float = 0.05
    optimizer: str = "sgd"
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    step_size: int = 30               # schedule "step": epochs between decays
    gamma: float = 0.1                # schedule "step" and "plateau": the decay factor
    patience: int = 5                 # schedule "plateau"
    grad_clip: float = 0.0            # max gradient norm; 0 turns clipping off
    label_smoothing: float = 0.0
    crop: str = "auto"                # auto | none | pad (pad-and-crop) | resized (random-resized crop)
    crop_padding: int = 4
    flip: bool | None = None          # None: on for natural images, off for digits
    scale_jitter: float = 0.0         # resize by a random factor in [1, 1 + x] before cropping
    pca_lighting: float = 0.0         # AlexNet colour lighting std (0.1 in the paper)
    eval_crop: str = "center"         # center | ten (10-crop: corners, centre and their flips)
    device: str = "auto"
    amp: bool = True                  # mixed precision on CUDA (bf16 when supported, else fp16)
    channels_last: bool = True        # CUDA only
    compile: bool = False             # torch.compile the model
    seed: int = 0
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
