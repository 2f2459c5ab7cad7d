"""The dataset a document trains on, chosen once (in the Data panel, or any panel's Dataset row)
and read by Train, Insight, Compress and Sweep: the data settings of `TrainConfig`."""

from dataclasses import asdict, dataclass

# The TrainConfig settings a choice is made of, with their names there.
CHOICE_SETTINGS = ("dataset", "data_dir", "val_fraction")


@dataclass(frozen=True)
class DataChoice:
    dataset: str = "digits"
    data_dir: str | None = None
    val_fraction: float = 0.2

    def settings(self):
        """{setting name: value}, as TrainConfig and the panels' forms name them."""
        return asdict(self)

    @classmethod
    def from_settings(cls, values, default=None):
        """The choice in a dict of settings (a form's values); those it lacks keep `default`'s."""
        base = (default or cls()).settings()
        base.update({name: values[name] for name in CHOICE_SETTINGS if name in values})
        return cls(**base)
