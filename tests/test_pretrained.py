"""Published weights come from PyTorch's hub cache under the file name torchvision or timm gives
them, never from the network: a missing file is a sentence saying where to put it. The hub
folder is a temporary one and the files are state_dicts made here."""

from pathlib import Path

import pytest
import torch

from designer.core.presets import load_design
from designer.train.config import TrainConfig
from designer.train.loop import Trainer, TrainingError
from designer.weights import (WeightsError, hub_checkpoints, published_source,
                              published_state_dict, published_weights)

from .helpers import tiny_digits_net

RESNET18_FILE = "resnet18-f37072fd.pth"     # the name torchvision's download would give


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty hub cache of our own (torch.hub.get_dir follows set_dir)."""
    before = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    yield tmp_path / "hub" / "checkpoints"
    torch.hub.set_dir(before)


def _never_download(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("tried to download")
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def test_absent_weights_say_exactly_where_to_put_the_file(hub, monkeypatch):
    _never_download(monkeypatch)
    assert hub_checkpoints() == hub
    with pytest.raises(WeightsError) as error:
        published_weights("torchvision:resnet18")
    sentence = str(error.value)
    assert f"put {RESNET18_FILE} (from https://download.pytorch.org/models/{RESNET18_FILE}) " \
           f"in {hub}" in sentence
    assert "never downloaded" in sentence and "--weights PATH" in sentence


def test_weights_in_the_hub_cache_are_found_and_read(hub, monkeypatch):
    _never_download(monkeypatch)
    hub.mkdir(parents=True)
    state = {"conv.weight": torch.randn(4, 1, 3, 3)}
    torch.save(state, hub / RESNET18_FILE)
    assert published_weights("torchvision:resnet18") == hub / RESNET18_FILE
    assert torch.equal(published_state_dict("torchvision:resnet18")["conv.weight"],
                       state["conv.weight"])


def test_timm_weights_are_looked_up_under_timms_file_name(hub, monkeypatch):
    pytest.importorskip("timm")
    from timm.models import get_pretrained_cfg
    monkeypatch.setattr("designer.weights._huggingface_cached", lambda *args: [])
    url = get_pretrained_cfg("resnet18").url
    name = Path(url).name
    with pytest.raises(WeightsError, match=f"put {name} \\(from {url}\\) in"):
        published_weights("timm:resnet18")
    hub.mkdir(parents=True)
    torch.save({"fc.bias": torch.zeros(3)}, hub / name)
    assert published_weights("timm:resnet18") == hub / name


def test_which_model_a_design_reproduces():
    assert published_source(load_design("resnet18"), "resnet18") == "torchvision:resnet18"
    assert published_source(load_design("alexnet"), "alexnet") is None   # the paper's, not tv's
    assert published_source(load_design("resnet18")) == "torchvision:resnet18"   # by its title
    imported = tiny_digits_net()
    imported.set_metadata(description="Imported from timm:resnet18.a1_in1k by `designer import`.")
    assert published_source(imported) == "timm:resnet18.a1_in1k"
    assert published_source(tiny_digits_net()) is None


def test_training_from_published_weights_reads_the_cache(hub, tmp_path, monkeypatch):
    _never_download(monkeypatch)
    graph = tiny_digits_net()
    config = dict(epochs=1, batch_size=512, threads=1)
    with pytest.raises(TrainingError, match=f"put {RESNET18_FILE}"):
        list(Trainer(graph, TrainConfig(**config, out=str(tmp_path / "a")),
                     pretrained="torchvision:resnet18").run())
    with pytest.raises(TrainingError, match="reproduces no model with published weights"):
        list(Trainer(graph, TrainConfig(**config, out=str(tmp_path / "b")),
                     pretrained=True).run())
    hub.mkdir(parents=True)
    from designer.core.compile import compile_graph
    torch.save(compile_graph(graph).state_dict(), hub / RESNET18_FILE)   # made here, same names
    events = list(Trainer(graph, TrainConfig(**config, out=str(tmp_path / "c")),
                          pretrained="torchvision:resnet18").run())
    report = events[0].weights
    assert report["source"] == "the published weights of torchvision:resnet18"
    assert report["loaded"] == report["total"] == 4


def test_import_with_pretrained_weights_reads_the_cache(hub, monkeypatch):
    _never_download(monkeypatch)
    from designer.interop import ModelLoadError
    from designer.interop.pytorch import load_source
    import torchvision
    with pytest.raises(ModelLoadError, match="squeezenet1_1-b8a52dc0.pth"):
        load_source("torchvision:squeezenet1_1", pretrained=True)
    hub.mkdir(parents=True)
    state = torchvision.models.squeezenet1_1(weights=None).state_dict()
    torch.save(state, hub / "squeezenet1_1-b8a52dc0.pth")
    model = load_source("torchvision:squeezenet1_1", pretrained=True)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())


def test_timm_import_with_pretrained_weights_reads_a_cached_file(hub, tmp_path, monkeypatch):
    timm = pytest.importorskip("timm")
    from designer.interop import ModelLoadError
    from designer.interop.pytorch import load_source
    cached = []
    monkeypatch.setattr("designer.weights._huggingface_cached", lambda *args: cached)
    with pytest.raises(ModelLoadError, match="download model.safetensors from "
                       "https://huggingface.co/timm/test_resnet.r160_in1k"):
        load_source("timm:test_resnet", pretrained=True)
    state = timm.create_model("test_resnet").state_dict()
    torch.save(state, tmp_path / "pytorch_model.pth")
    cached.append(tmp_path / "pytorch_model.pth")      # as the Hugging Face cache would hold it
    model = load_source("timm:test_resnet", pretrained=True)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
