"""Weights in: reading state_dicts and checkpoints safely, loading with a report, and torchvision's
weights into the presets that reproduce torchvision models."""

import os

import pytest
import torch

from designer.core.compile import compile_graph
from designer.core.presets import load_design, preset_names
from designer.weights import (NodeFit, WeightsError, load_into, load_torchvision, match,
                              read_state_dict, torchvision_builder_name,
                              torchvision_model_for_preset, weights_beside)

from .export.designs import mixed_net


@pytest.fixture
def lenet():
    torch.manual_seed(0)
    return compile_graph(load_design("lenet5"))


def test_reads_bare_state_dicts_and_checkpoints(tmp_path, lenet):
    state = lenet.state_dict()
    torch.save(state, tmp_path / "bare.pth")
    torch.save({"model": state, "optimizer": {"lr": 0.1}, "epoch": 4}, tmp_path / "ckpt.pt")
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "ddp.ckpt")
    for name in ("bare.pth", "ckpt.pt", "ddp.ckpt"):
        got = read_state_dict(tmp_path / name)
        assert list(got) == list(state)
        assert all(torch.equal(got[k], state[k]) for k in state)


def test_bad_files_get_clear_errors(tmp_path, lenet):
    with pytest.raises(WeightsError, match="no such weights file"):
        read_state_dict(tmp_path / "absent.pth")
    (tmp_path / "notes.txt").write_text("not weights")
    with pytest.raises(WeightsError, match="notes.txt: not a PyTorch weights file"):
        read_state_dict(tmp_path / "notes.txt")
    torch.save({"epoch": 3, "lr": 0.1}, tmp_path / "meta.pt")
    with pytest.raises(WeightsError, match=r"without model weights \(keys: epoch, lr\)"):
        read_state_dict(tmp_path / "meta.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(WeightsError, match="holds a list"):
        read_state_dict(tmp_path / "list.pt")
    os.mkfifo(tmp_path / "pipe.pt")     # reading it would wait for a writer for ever
    with pytest.raises(WeightsError, match="pipe.pt is a FIFO \\(named pipe\\), not a weights"):
        read_state_dict(tmp_path / "pipe.pt")


def test_unsafe_pickles_are_refused(tmp_path):
    """weights_only=True: a file that would run code on load is an error, not executed."""
    class Payload:
        def __reduce__(self):
            return (print, ("executed",))
    torch.save({"model": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(WeightsError, match="not a weights-only checkpoint"):
        read_state_dict(tmp_path / "evil.pt")


def test_load_into_reports_and_never_loads_a_mismatched_tensor(lenet):
    torch.manual_seed(1)
    source = compile_graph(load_design("lenet5")).state_dict()
    before_f7 = lenet.state_dict()["f7.weight"].clone()
    source["f7.weight"] = torch.zeros(5, 84)          # wrong shape
    del source["c1.bias"]                              # missing
    source["extra.weight"] = torch.zeros(3)            # unexpected
    report = load_into(lenet, source)
    state = lenet.state_dict()
    assert torch.equal(state["f7.weight"], before_f7)
    assert torch.equal(state["c1.weight"], source["c1.weight"])
    assert report.missing == ["c1.bias"] and report.unexpected == ["extra.weight"]
    assert report.mismatched == [("f7.weight", (10, 84), (5, 84))]
    assert len(report.loaded) == len(state) - 2 and not report.complete
    text = str(report)
    assert text.startswith(f"loaded {len(state) - 2} of {len(state)} tensors")
    assert "f7.weight is 10×84 in the design but 5×84 in the file" in text
    assert "missing from the file" in text and "c1.bias" in text and "extra.weight" in text


def test_a_complete_load_reproduces_outputs(lenet):
    other = compile_graph(load_design("lenet5")).eval()
    report = load_into(other, lenet.state_dict())
    assert report.exact and str(report) == f"loaded {len(report.loaded)} of {len(report.loaded)} tensors"
    x = torch.randn(2, 1, 32, 32)
    assert torch.equal(other(x), lenet.eval()(x))


def test_after_an_edit_the_unchanged_nodes_load_and_the_report_names_the_others():
    """Node ids with dots and groups: each tensor that did not fit is filed under its node."""
    torch.manual_seed(0)
    trained = compile_graph(mixed_net()).state_dict()
    trained["removed.weight"] = torch.zeros(2)
    edited = mixed_net()
    edited.set_params("head.a", kernel=5, padding=2)      # a dotted id
    edited.set_params("fc", out_features=12)
    del trained["layer2.1.conv1.weight"]                  # a group's layer the file lacks
    model = compile_graph(edited)
    report = load_into(model, trained)
    assert torch.equal(model.state_dict()["stem.0.weight"], trained["stem.0.weight"])
    nodes = report.by_node(edited.nodes)
    assert list(nodes) == ["layer2.1", "head.a", "fc", "removed"]       # in the design's order
    assert nodes["layer2.1"] == NodeFit(missing=["layer2.1.conv1.weight"])
    assert nodes["head.a"] == NodeFit(mismatched=[("head.a.weight", (16, 1, 5, 5), (16, 1, 3, 3))])
    assert [row[0] for row in nodes["fc"].mismatched] == ["fc.weight", "fc.bias"]
    assert nodes["removed"] == NodeFit(unexpected=["removed.weight"])
    assert report.untrained_sentence(edited.nodes) == (
        "head.a, fc have new weights (their shapes changed); layer2.1 has new weights "
        "(not in the weights file)")
    assert load_into(compile_graph(mixed_net()), compile_graph(mixed_net()).state_dict()
                     ).untrained_sentence(edited.nodes) == ""


def test_match_reports_without_loading(lenet):
    before = {k: v.clone() for k, v in lenet.state_dict().items()}
    source = compile_graph(load_design("lenet5")).state_dict()
    report, usable = match(lenet, source)
    assert report.exact and set(usable) == set(source)
    assert all(torch.equal(v, before[k]) for k, v in lenet.state_dict().items())


def test_the_weights_beside_a_design_are_a_state_dict_of_the_same_name(tmp_path, lenet):
    torch.save({"model": lenet.state_dict(), "epoch": 3}, tmp_path / "design.pt")
    assert weights_beside(tmp_path / "design.json") == tmp_path / "design.pt"
    assert weights_beside(tmp_path / "other.json") is None
    torch.jit.trace(lenet, torch.randn(1, 1, 32, 32)).save(str(tmp_path / "exported.pt"))
    assert weights_beside(tmp_path / "exported.json") is None      # a TorchScript export
    (tmp_path / "notes.pt").write_text("not weights")
    assert weights_beside(tmp_path / "notes.json") is None


def test_torchvision_names():
    assert torchvision_builder_name("resnet18") == "resnet18"
    assert torchvision_builder_name("lenet5") is None
    assert torchvision_model_for_preset("alexnet_torchvision") == "alexnet"
    assert torchvision_model_for_preset("alexnet") is None  # the paper's AlexNet, not torchvision's
    assert torchvision_model_for_preset("resnet50") == "resnet50"


META_COPY = pytest.mark.filterwarnings("ignore:.*meta parameter")  # meta-to-meta loads are no-ops


@META_COPY
def test_torchvision_weights_that_do_not_match_are_refused():
    import torchvision
    with torch.device("meta"):
        design = compile_graph(mixed_net())
        state = torchvision.models.resnet18(weights=None).state_dict()
    with pytest.raises(WeightsError, match="torchvision's resnet18 does not match this design"):
        load_torchvision(design, "resnet18", state_dict=state)


TORCHVISION_PRESETS = {name: model for name in preset_names()
                       if (model := torchvision_model_for_preset(name))}


@META_COPY
@pytest.mark.parametrize("name", sorted(TORCHVISION_PRESETS))
def test_torchvision_weights_load_into_matching_preset(name):
    """Every preset reproducing a torchvision model takes its state_dict exactly (meta tensors:
    names and shapes are checked without allocating or downloading anything)."""
    import torchvision
    model = TORCHVISION_PRESETS[name]
    with torch.device("meta"):
        design = compile_graph(load_design(name), include_auxiliary=False)
        reference = torchvision.models.get_model(model, weights=None)
    report = load_torchvision(design, model, state_dict=reference.state_dict())
    assert report.complete, str(report)


def test_torchvision_weights_load_and_export_reproduces_torchvision(tmp_path):
    """torchvision's resnet18 state_dict loads exactly into a design with its module names, and
    the exported source and TorchScript compute what torchvision computes."""
    import torchvision
    from designer.export.exporter import export_design
    from .export.designs import resnet18_groups
    graph = resnet18_groups(size=32)
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(weights=None).eval()
    design = compile_graph(graph, include_auxiliary=False).eval()
    assert load_torchvision(design, "resnet18", state_dict=reference.state_dict()).exact
    state = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), state)
    export_design(graph, "python", tmp_path / "resnet18.py", weights=state)
    export_design(graph, "torchscript", tmp_path / "resnet18.pt", weights=state)
    namespace = {}
    exec((tmp_path / "resnet18.py").read_text(), namespace)
    source = namespace["ResNet18Groups"]().eval()
    source.load_state_dict(torch.load(tmp_path / "resnet18.pth", weights_only=True), strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        want = reference(x)
        for got in (design(x), source(x), torch.jit.load(str(tmp_path / "resnet18.pt"))(x)):
            assert (got - want).abs().max().item() <= 1e-5


def test_the_weights_beside_a_design_are_told_without_running_their_pickle(tmp_path, lenet):
    torch.save(lenet.state_dict(), tmp_path / "bare.pt")               # an OrderedDict
    assert weights_beside(tmp_path / "bare.json") == tmp_path / "bare.pt"
    torch.save(lenet.state_dict(), tmp_path / "new.pt", pickle_protocol=4)
    assert weights_beside(tmp_path / "new.json") == tmp_path / "new.pt"
    torch.save(lenet, tmp_path / "module.pt")                           # a whole pickled model
    assert weights_beside(tmp_path / "module.json") is None
    torch.save({"epoch": 3, "notes": "no tensors"}, tmp_path / "plain.pt")
    assert weights_beside(tmp_path / "plain.json") is None
