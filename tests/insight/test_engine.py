"""The Insight engine on a LeNet-5 trained by the training engine: node outputs, evaluation,
attribution, loss landscape and the handling of bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import fx

from designer.core.builder import GraphBuilder
from designer.core.compile import compile_graph
from designer.core.presets import load_design
from designer.insight import activations, attribution, evaluation, filters, landscape
from designer.insight.subject import InsightError, find_tap, load_subject
from designer.weights import WeightsError


def _interpreter_values(model, image):
    """Every fx node's value in one plain run of the compiled graph (no hooks)."""
    values = {}

    class Recorder(fx.Interpreter):
        def run_node(self, node):
            result = super().run_node(node)
            values[node] = result
            return result
    with torch.no_grad():
        Recorder(model).run(image)
    return values


def test_feature_maps_equal_the_compiled_models_node_outputs(lenet):
    image, _ = lenet.sample(7)
    nodes = ["input", "c1", "relu1", "s2", "c3", "s4", "c5", "flatten", "f6", "f7"]
    taps = [lenet.tap(n) for n in nodes]
    captured, logits = activations.capture(lenet.model, image, taps)
    values = _interpreter_values(lenet.model, image)
    by_target = {n.target: v for n, v in values.items() if n.op == "call_module"}
    for node in nodes[1:]:
        assert torch.equal(captured[node], by_target[node][0]), node
    assert torch.equal(captured["input"], image[0])
    assert torch.equal(logits, by_target["f7"][0])
    stats = activations.channel_stats(captured["relu1"])
    relu = by_target["relu1"][0]
    assert np.allclose(stats.zero_fraction, (relu == 0).float().mean((1, 2)).numpy())
    assert list(stats.order()) == sorted(range(6), key=lambda c: -float(relu[c].mean()))


def test_a_block_nodes_maps_are_what_the_next_layer_receives():
    b = GraphBuilder("blocky")
    x = b.input((3, 12, 12))
    x = b.add("Conv2d", "stem", x, out_channels=8, kernel=3, padding=1)
    x = b.add("BasicBlock", "layer1", x, out_channels=8)
    x = b.add("GlobalAvgPool2d", "gap", x, flatten=True)
    x = b.add("Linear", "fc", x, out_features=4)
    b.output(x)
    graph = b.finish()
    model = compile_graph(graph).eval()
    tap = find_tap(graph, "layer1")
    assert tap.module.startswith("layer1.") and tap.shape == (8, 12, 12)
    inner = find_tap(graph, "layer1." + tap.module.split(".", 1)[1])
    assert inner.module == tap.module
    image = torch.randn(1, 3, 12, 12)
    captured, _ = activations.capture(model, image, [tap])
    received = {}
    model.gap.register_forward_pre_hook(lambda m, args: received.setdefault("x", args[0]))
    with torch.no_grad():
        model(image)
    assert torch.equal(captured["layer1"], received["x"][0])
    with pytest.raises(InsightError, match="no node 'layer9'"):
        find_tap(graph, "layer9")


def test_confusion_sums_to_the_validation_set_and_gives_trainings_error(lenet, lenet_run):
    _, epochs = lenet_run
    result = evaluation.evaluate(lenet.model, lenet.dataset, lenet.classes)
    confusion = result.confusion()
    assert int(confusion.sum()) == len(lenet.dataset) == 359
    wrong = len(lenet.dataset) - int(confusion.trace())
    assert wrong == round(epochs[-1].val_top1_error * len(lenet.dataset))
    assert result.top1_error == pytest.approx(epochs[-1].val_top1_error, abs=1e-12)
    per_class = result.per_class_error()
    rows = confusion.sum(1)
    assert sum(e * n for e, n in zip(per_class, rows.tolist())) == pytest.approx(wrong)
    worst = result.most_confidently_wrong(5)
    assert len(worst) == min(5, wrong)
    probabilities = [w["probability"] for w in worst]
    assert probabilities == sorted(probabilities, reverse=True)
    for w in worst:
        assert w["label"] != w["predicted"] == int(result.probabilities[w["index"]].argmax())
        assert lenet.sample(w["index"])[1] == w["label"]
    assert result.features.shape == (359, 84)       # the input of f7


def test_embedding_pca_orders_components_and_tsne_runs(lenet):
    result = evaluation.evaluate(lenet.model, lenet.dataset, lenet.classes)
    points = evaluation.embed(result.features, "pca")
    assert points.shape == (359, 2)
    assert points[:, 0].var() >= points[:, 1].var() > 0
    centred = (result.features - result.features.mean(0)).double()
    top = torch.linalg.eigvalsh(centred.T @ centred)[-1]
    assert float((torch.from_numpy(points[:, 0]) ** 2).sum()) == pytest.approx(float(top), rel=1e-6)
    small = evaluation.embed(result.features[:40], "tsne")
    assert small.shape == (40, 2) and np.isfinite(small).all()


def test_gradcam_equals_captums_layer_gradcam(lenet):
    from captum.attr import LayerAttribution, LayerGradCam
    for index, node, target in ((0, "c3", None), (4, "relu1", 3), (9, "s4", None)):
        image, label = lenet.sample(index)
        target = label if target is None else target
        heat = attribution.gradcam(lenet.model, image, target, lenet.tap(node))
        module = lenet.model.get_submodule(node)
        reference = LayerGradCam(lenet.model, module).attribute(
            image.clone().requires_grad_(True), target=target, relu_attributions=True)
        reference = LayerAttribution.interpolate(reference, (32, 32), "bilinear")[0, 0]
        reference = reference.detach().numpy()
        if reference.max() > 0:
            reference = reference / reference.max()
        assert np.allclose(heat, reference, atol=1e-5), node


def test_gradcam_marks_pixels_the_prediction_rests_on(lenet):
    """Deleting the 20 % of pixels Grad-CAM (at c3) ranks highest costs the true class far more
    probability than deleting 20 % chosen at random."""
    rng = np.random.default_rng(0)
    drops = {"gradcam": [], "random": []}
    tap = lenet.tap("c3")
    for index in range(40):
        image, label = lenet.sample(index)
        heat = attribution.gradcam(lenet.model, image, label, tap)
        count = heat.size // 5
        chosen = {"gradcam": np.argsort(-heat.ravel(), kind="stable")[:count],
                  "random": rng.choice(heat.size, count, replace=False)}
        with torch.no_grad():
            before = lenet.model(image).softmax(1)[0, label]
            for kind, pixels in chosen.items():
                erased = image.clone().view(-1)
                erased[torch.from_numpy(pixels)] = 0.0          # the dataset's mean grey
                after = lenet.model(erased.view_as(image)).softmax(1)[0, label]
                drops[kind].append(float(before - after))
    gradcam, random = np.mean(drops["gradcam"]), np.mean(drops["random"])
    print(f"probability lost: Grad-CAM pixels {gradcam:.3f}, random pixels {random:.3f}")
    assert gradcam > 3 * random and gradcam > 0.02


def test_captum_attributions_give_normalised_maps(lenet):
    image, label = lenet.sample(2)
    for method in attribution.METHODS:
        heat = attribution.attribute(lenet.model, image, label, method, lenet.tap("c3"))
        assert heat.shape == (32, 32) and heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    with pytest.raises(InsightError, match="unknown attribution"):
        attribution.attribute(lenet.model, image, label, "lime")


def test_prediction_top5(lenet):
    image, label = lenet.sample(11)
    prediction = attribution.predict(lenet.model, image, lenet.classes)
    with torch.no_grad():
        probabilities = lenet.model(image).softmax(1)[0]
    assert prediction["class"] == int(probabilities.argmax())
    assert [e["probability"] for e in prediction["top5"]] == \
        pytest.approx(probabilities.sort(descending=True).values[:5].tolist())
    assert prediction["label"] == lenet.classes[prediction["class"]]


def test_landscape_centre_is_the_checkpoints_loss_on_the_same_batches(lenet):
    batches = landscape.fixed_batches(lenet.dataset, count=1, batch_size=64)
    with torch.no_grad():
        images, labels = batches[0]
        expected = float(F.cross_entropy(lenet.model(images), labels))
    calls = []
    surface = landscape.surface(lenet.model, lenet.model.state_dict(), batches, steps=3, span=0.6,
                                progress=lambda done, total: calls.append((done, total)))
    assert surface.complete and calls[-1] == (9, 9) and len(calls) == 9
    assert surface.centre == pytest.approx(expected, rel=1e-6)
    corners = surface.losses[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners > surface.centre).all()       # trained weights sit in a valley
    line = landscape.interpolate(lenet.model, landscape.initial_state(lenet.graph, 0),
                                 lenet.model.state_dict(), batches, steps=5, span=(0.0, 1.0))
    assert line.centre == pytest.approx(expected, rel=1e-6)
    assert line.losses[0] > line.losses[-1]


def test_landscape_stops_when_asked_and_directions_are_filter_normalised(lenet):
    batches = landscape.fixed_batches(lenet.dataset, count=1, batch_size=16)
    seen = []
    surface = landscape.surface(lenet.model, lenet.model.state_dict(), batches, steps=3,
                                progress=lambda done, total: seen.append(done),
                                should_stop=lambda: len(seen) >= 4)
    assert not surface.complete
    assert np.isfinite(surface.losses).sum() == 4 and np.isnan(surface.losses).sum() == 5
    state = lenet.model.state_dict()
    direction = landscape.filter_normalised_direction(lenet.model, state,
                                                      torch.Generator().manual_seed(1))
    for name, value in state.items():
        if value.ndim > 1:
            assert torch.allclose(direction[name].flatten(1).norm(dim=1),
                                  value.flatten(1).norm(dim=1), rtol=1e-5)
        else:
            assert not direction[name].any()


def test_filters_of_a_convolution_and_not_of_other_nodes(lenet):
    weight = filters.conv_weight(lenet.model, lenet.tap("c3"))
    assert torch.equal(weight, lenet.model.c3.weight.detach())
    tiles, columns, rgb = filters.filter_tiles(weight)
    assert tiles.shape == (16 * 6, 5, 5) and columns == 6 and not rgb
    assert np.abs(tiles).max() == pytest.approx(1.0)
    for node in ("relu1", "f6", "input"):
        with pytest.raises(InsightError, match="filters"):
            filters.conv_weight(lenet.model, lenet.tap(node))


def test_a_node_without_spatial_output_gets_the_views_that_fit(lenet):
    tap = lenet.tap("f6")
    assert not tap.spatial and tap.shape == (84,)
    image, _ = lenet.sample(0)
    captured, _ = activations.capture(lenet.model, image, [tap])
    summary = activations.summary(captured["f6"])
    assert summary["shape"] == [84] and summary["spatial"] is False
    with pytest.raises(InsightError, match=r"spatial \(C×H×W\) output; f6 gives 84 values"):
        attribution.gradcam(lenet.model, image, 0, tap)
    with pytest.raises(InsightError, match="input image"):
        attribution.gradcam(lenet.model, image, 0, lenet.tap("input"))


def test_images_of_another_size_or_channel_count_are_converted_or_refused(lenet, tmp_path):
    rgb = np.zeros((20, 13, 3), np.uint8)
    rgb[5:15, 4:9] = 255
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    rgba = np.dstack([rgb, np.full((20, 13), 255, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    grey = lenet.prepare(tmp_path / "rgb.png")
    assert grey.shape == (1, 1, 32, 32)
    assert torch.equal(lenet.prepare(tmp_path / "rgba.png"), grey)
    assert torch.allclose(lenet.prepare(rgb[:, :, 0]), grey, atol=0.011)   # luminance rounding
    # Ink stays ink: the bright bar is brighter than the background after the transform.
    assert grey[0, 0, 16, 16] > grey[0, 0, 2, 2]
    with pytest.raises(InsightError, match="2 channels; the design takes 1"):
        lenet.prepare(torch.rand(2, 8, 8))
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(InsightError, match="notes.png: not an image"):
        lenet.prepare(tmp_path / "notes.png")
    with pytest.raises(InsightError, match="no such image"):
        lenet.prepare(tmp_path / "missing.png")
    with pytest.raises(InsightError, match="no validation image 400"):
        lenet.sample(400)


def test_16_bit_and_float_images_keep_their_brightness(lenet, tmp_path):
    """A mid-grey 16-bit PNG and a float TIFF in 0..1 arrive as the same mid-grey as an 8-bit
    one (convert("L") clipped the first to white and truncated the second to black)."""
    Image.fromarray(np.full((32, 32), 128, np.uint8)).save(tmp_path / "grey8.png")
    Image.fromarray(np.full((32, 32), 128 * 257, np.uint16)).save(tmp_path / "grey16.png")
    Image.fromarray(np.full((32, 32), 128 / 255, np.float32)).save(tmp_path / "grey.tiff")
    eight = lenet.prepare(tmp_path / "grey8.png")
    assert Image.open(tmp_path / "grey16.png").mode.startswith("I;16")
    assert torch.allclose(lenet.prepare(tmp_path / "grey16.png"), eight, atol=0.02)
    assert torch.allclose(lenet.prepare(tmp_path / "grey.tiff"), eight, atol=0.02)


def test_hostile_images_and_weights_are_refused_before_they_are_read(lenet, lenet_run,
                                                                      tmp_path):
    import os
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(InsightError, match="pipe.png is a FIFO"):   # it would wait for ever
        lenet.prepare(fifo)
    with pytest.raises(WeightsError, match="pipe.png is a FIFO .*not a weights file"):
        load_subject(load_design("lenet5"), fifo)
    # A tiny file whose header claims 12,000 × 12,000 pixels: refused before decoding.
    Image.new("1", (12_000, 12_000)).save(tmp_path / "huge.png")
    assert (tmp_path / "huge.png").stat().st_size < 100_000
    with pytest.raises(InsightError, match="huge.png: 12000×12000 pixels is more than"):
        lenet.prepare(tmp_path / "huge.png")
    Image.new("1", (20_000, 20_000)).save(tmp_path / "bomb.png")   # past PIL's own limit
    with pytest.raises(InsightError, match="bomb.png: .*decompression bomb"):
        lenet.prepare(tmp_path / "bomb.png")


def test_weights_that_do_not_fit_name_the_layers(lenet_run):
    graph = load_design("lenet5")
    graph.set_params("input", shape=(3, 32, 32))
    with pytest.raises(WeightsError, match=r"different shapes in c1 \(weight is 6×3×5×5 in the "
                                           r"design but 6×1×5×5 in the file\)"):
        load_subject(graph, lenet_run[0] / "last.pt")
    state = torch.load(lenet_run[0] / "last.pt", weights_only=True)["model"]
    del state["f7.weight"], state["f7.bias"]
    with pytest.raises(WeightsError, match="missing from the file: f7"):
        load_subject(load_design("lenet5"), state)


def test_every_node_of_a_block_preset_is_captured_with_its_inferred_shape():
    from designer.insight.subject import node_paths
    subject = load_subject(load_design("resnet20_cifar"))
    taps = [subject.tap(path) for path in node_paths(subject.graph)]
    assert any(tap.module and "." in tap.module for tap in taps)     # blocks resolved inside
    captured, logits = activations.capture(subject.model, torch.randn(1, 3, 32, 32), taps)
    for tap in taps:
        assert tuple(captured[tap.node].shape) == tap.shape, tap.node
    assert logits.shape == (10,)


def test_a_node_feeding_only_an_auxiliary_output_is_explained():
    b = GraphBuilder("with aux")
    x = b.input((1, 8, 8))
    x = b.add("Conv2d", "conv", x, out_channels=4, kernel=3, padding=1)
    f = b.add("Flatten", "flatten", x)
    b.output(b.add("Linear", "fc", f, out_features=10))
    b.output(b.add("Linear", "aux_fc", f, out_features=10), "aux", role="auxiliary")
    subject = load_subject(b.finish())
    assert subject.tap("fc").module == "fc"
    with pytest.raises(InsightError, match="aux_fc feeds only an auxiliary output"):
        subject.tap("aux_fc")
