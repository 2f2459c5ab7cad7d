"""The models File ▸ Import… offers by name: torchvision's classification models, with the
parameter counts their weights' metadata give (no download), and timm's, whose counts come from
building the model on the meta device when one is chosen (no memory, no arithmetic)."""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ZooModel:
    source: str             # what `designer import` takes: torchvision:NAME or timm:NAME
    library: str
    params: int | None      # None until counted (`parameter_count`)


def zoo_models():
    """Every torchvision classification model, then every timm model when timm is installed."""
    from torchvision import models
    listed = []
    for name in models.list_models(module=models):
        try:
            params = models.get_model_weights(name).DEFAULT.meta.get("num_params")
        except (ValueError, KeyError, AttributeError):
            params = None
        listed.append(ZooModel(f"torchvision:{name}", "torchvision", params))
    try:
        import timm   # an optional extra (interop)
    except ImportError:
        return listed
    listed.extend(ZooModel(f"timm:{name}", "timm", None) for name in timm.list_models())
    return listed


def parameter_count(source):
    """The parameters of the model named `source`, built with random weights on the meta device."""
    from .pytorch import load_source
    with torch.device("meta"):
        model = load_source(source)
    return sum(p.numel() for p in model.parameters())
