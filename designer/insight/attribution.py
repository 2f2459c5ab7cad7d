"""Which pixels a prediction rests on: Grad-CAM at any node with a spatial output (Selvaraju et
al. 2017, here with two hooks so it needs nothing beyond torch; the tests check it against Captum's
LayerGradCam), and through Captum (the `insight` extra) guided backprop, guided Grad-CAM,
occlusion, integrated gradients and SmoothGrad; and the top-5 predictions with probabilities.

Every map is returned as a non-negative (H, W) array at the input's resolution, scaled so its
largest value is 1 (all zeros when the class has no positive evidence).
"""

import numpy as np
import torch

from .settings import ATTRIBUTIONS, InsightError

METHODS = tuple(ATTRIBUTIONS)


def predict(model, image, classes, k=5):
    """{"class", "label", "probability", "top5": [{"class", "label", "probability"}]}."""
    with torch.no_grad():
        probabilities = model(image)[0].float().softmax(0)
    top = probabilities.topk(min(k, probabilities.numel()))
    ranked = [{"class": int(c), "label": _label(classes, int(c)), "probability": float(p)}
              for p, c in zip(top.values, top.indices)]
    return {**ranked[0], "top5": ranked}


def _label(classes, index):
    return str(classes[index]) if index < len(classes) else str(index)


def gradcam_layer(model, tap):
    """The module whose output Grad-CAM weighs, or InsightError saying why the node cannot."""
    if not tap.spatial:
        raise InsightError(f"Grad-CAM needs a node with a spatial (C×H×W) output; {tap.node} gives "
                           f"{'×'.join(map(str, tap.shape))} values")
    if tap.module is None:
        raise InsightError(f"{tap.node} is the input image; choose a layer for Grad-CAM")
    if tap.index is not None:
        raise InsightError(f"{tap.node} has several outputs; choose the layer that consumes the one "
                           "to explain")
    return model.get_submodule(tap.module)


def gradcam(model, image, target, tap):
    """Grad-CAM of class `target` at `tap`'s node: the node's channels weighted by the mean
    gradient of the class score over each channel, summed, rectified and upsampled bilinearly
    to the image (H, W), largest value 1."""
    layer = gradcam_layer(model, tap)
    kept = {}

    def keep(module, args, output):
        output.retain_grad()
        kept["activation"] = output
    handle = layer.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            score = model(image.detach())[0, int(target)]
            score.backward()
    finally:
        handle.remove()
    activation = kept["activation"]
    weights = activation.grad.mean(dim=(2, 3), keepdim=True)
    cam = (weights * activation).sum(1, keepdim=True).clamp_min(0)
    heat = torch.nn.functional.interpolate(cam, size=tuple(image.shape[-2:]), mode="bilinear",
                                           align_corners=False)
    model.zero_grad(set_to_none=True)
    return _normalise(heat[0, 0])


def attribute(model, image, target, method="gradcam", tap=None):
    """The `method` map (H, W) for class `target` of one image (1, C, H, W); Grad-CAM and guided
    Grad-CAM need the `tap` of the node to explain."""
    if method == "gradcam":
        return gradcam(model, image, target, tap)
    if method not in METHODS:
        raise InsightError(f"unknown attribution {method!r}; choose one of " + ", ".join(METHODS))
    try:
        from captum import attr
    except ImportError:
        raise InsightError(f"{method.replace('_', ' ')} needs Captum (pip install captum); "
                           "Grad-CAM works without it") from None
    image = image.detach().clone().requires_grad_(True)
    target = int(target)
    if method == "guided_gradcam":
        result = attr.GuidedGradCam(model, gradcam_layer(model, tap)).attribute(image, target=target)
    elif method == "guided_backprop":
        result = attr.GuidedBackprop(model).attribute(image, target=target)
    elif method == "occlusion":
        height, width = image.shape[-2:]
        window = max(1, min(height, width) // 4)
        stride = max(1, window // 2)
        result = attr.Occlusion(model).attribute(
            image.detach(), target=target, sliding_window_shapes=(image.shape[1], window, window),
            strides=(image.shape[1], stride, stride), baselines=0.0)
        return _normalise(result[0].sum(0).clamp_min(0))
    elif method == "integrated_gradients":
        result = attr.IntegratedGradients(model).attribute(image, target=target, n_steps=32,
                                                           baselines=0.0)
    else:   # smoothgrad
        result = attr.NoiseTunnel(attr.Saliency(model)).attribute(
            image, target=target, nt_type="smoothgrad", nt_samples=16,
            stdevs=float(image.detach().std()) * 0.15)
    return _normalise(result[0].abs().sum(0))


def _normalise(heat):
    heat = heat.detach().float().clamp_min(0).cpu().numpy()
    peak = float(heat.max())
    return heat / peak if peak > 0 else np.zeros_like(heat)
