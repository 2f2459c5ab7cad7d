"""The dataset a document trains on and how its training images are augmented, chosen once (in
the Data panel, or any panel's Dataset or Augmentation rows) and read by Train, Insight, Compress
and Sweep: the data settings of `TrainConfig`."""

from dataclasses import dataclass

# The TrainConfig settings that say which images (a change means reading the data again)...
DATA_SETTINGS = ("dataset", "data_dir", "val_fraction")
# ...and how the training images are augmented (the Data panel previews them).
AUGMENT_SETTINGS = ("crop", "crop_padding", "flip", "scale_jitter", "pca_lighting")
CHOICE_SETTINGS = DATA_SETTINGS + AUGMENT_SETTINGS


@dataclass(frozen=True)
class DataChoice:
    dataset: str = "digits"
    data_dir: str | None = None
    val_fraction: float = 0.2
    # The augmentation settings chosen so far, as ((name, value), ...); those left out are
    # TrainConfig's defaults, or whatever a panel's own form holds.
    augment: tuple = ()

    def settings(self):
        """{setting name: value}, as TrainConfig and the panels' forms name them."""
        return {"dataset": self.dataset, "data_dir": self.data_dir,
                "val_fraction": self.val_fraction, **dict(self.augment)}

    def same_data(self, other):
        """Whether `other` chooses the same images (augmented alike or not)."""
        return other is not None and all(getattr(self, name) == getattr(other, name)
                                         for name in DATA_SETTINGS)

    @classmethod
    def from_settings(cls, values, default=None):
        """The choice in a dict of settings (a form's values); those it lacks keep `default`'s."""
        base = (default or cls()).settings()
        base.update({name: values[name] for name in CHOICE_SETTINGS if name in values})
        augment = tuple((name, base[name]) for name in AUGMENT_SETTINGS if name in base)
        return cls(base["dataset"], base["data_dir"], base["val_fraction"], augment)
