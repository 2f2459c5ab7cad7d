"""Quantisation.

Static int8 and quantisation-aware training go through PT2E (torchao's prepare_pt2e /
prepare_qat_pt2e / convert_pt2e with ExecuTorch's XNNPACKQuantizer: int8 symmetric, per-channel
weights, per-tensor activations, BatchNorm folded into the convolution): the design is captured
with torch.export (batch dimension dynamic), observed on calibration batches and converted to a
graph of int8 weights between quantize and dequantize steps, the form `designer deploy` lowers to
XNNPACK. In eager PyTorch that graph computes in float, so it is no faster there; it is deployed
fast by ExecuTorch. A design torch.export cannot capture falls back to the deprecated fx graph
mode (`torch.ao.quantization.quantize_fx`, which runs with int8 kernels on the CPU), and the
result says so. Dynamic quantisation of fully connected layers (weights int8, activations
quantised on the fly) stays on `torch.ao.quantization.quantize_dynamic`. All give a TorchScript
module.

Weight-only fake quantisation to any bit width with the reference notes' schemes: linear
(symmetric, zero exactly representable), affine (asymmetric, a zero point), k-means weight sharing
(a codebook of 2^bits centroids, Han et al.) and log2 (sign plus a power-of-two exponent), per
tensor or per output channel. The weights are replaced by their quantised values (still fp32, so
they load anywhere) and each layer's signal-to-quantisation-noise ratio says how sensitive it is.
"""

import contextlib
import math

import torch
from torch import nn

from designer.core import modules
from designer.core.atomic import atomic_path
from .measure import CompressError
from .settings import WEIGHT_SCHEMES

SIDE_BYTES = 4    # one fp32 scale, int32 zero point or exponent offset per group


def quantized_engine(engines=None):
    """The quantized CPU engine to use (of `engines`, default this build's), or CompressError
    when there is none."""
    engines = torch.backends.quantized.supported_engines if engines is None else engines
    for name in ("x86", "fbgemm", "onednn", "qnnpack"):
        if name in engines:
            return name
    raise CompressError("this PyTorch build has no quantized CPU engine (supported engines: "
                        f"{', '.join(engines) or 'none'}), so int8 models cannot run here")


def _qconfig_mapping(engine, per_channel):
    from torch.ao.quantization import QConfig, get_default_qconfig_mapping
    from torch.ao.quantization.observer import HistogramObserver, MinMaxObserver
    if per_channel:
        return get_default_qconfig_mapping(engine)
    qconfig = QConfig(activation=HistogramObserver.with_args(reduce_range=engine != "qnnpack"),
                      weight=MinMaxObserver.with_args(dtype=torch.qint8,
                                                      qscheme=torch.per_tensor_symmetric))
    return get_default_qconfig_mapping(engine).set_global(qconfig)


PT2E = "pt2e"
FX = "fx"
PT2E_NOTE = ("PT2E int8 (XNNPACK quantizer): eager PyTorch computes it in float, so its speed is "
             "on a device runtime: designer deploy --target executorch-int8")


def xnnpack_quantizer(per_channel=True, qat=False):
    """ExecuTorch's XNNPACK quantizer: int8 symmetric weights (per channel) and activations."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer, get_symmetric_quantization_config)
    return XNNPACKQuantizer().set_global(
        get_symmetric_quantization_config(is_per_channel=per_channel, is_qat=qat))


def _capture(model, example):
    """`model` as an exported GraphModule whose batch dimension is free, or None when
    torch.export cannot capture it (the caller falls back to fx)."""
    import warnings
    example = example[:2] if example.shape[0] >= 2 else torch.cat([example, example])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            batch = torch.export.Dim("batch", min=1)
            return torch.export.export(model, (example,), dynamic_shapes=({0: batch},)).module()
    except Exception:
        return None


def _drop_unused_tensors(module):
    """Remove the fp32 weights conversion replaced by int8 copies, so the module's state_dict
    (and its bytes) holds only what it computes with."""
    used = {node.target for node in module.graph.nodes if node.op == "get_attr"}
    for name, _ in list(module.named_parameters()) + list(module.named_buffers()):
        if name not in used:
            owner, _, leaf = name.rpartition(".")
            delattr(module.get_submodule(owner) if owner else module, leaf)
    return module


def _pt2e_available():
    import importlib.util
    return all(importlib.util.find_spec(m) for m in ("torchao", "executorch"))


def int8_static(model, calibration, per_channel=True):
    """(the int8 model, which path made it: PT2E, or FX when the design cannot be captured or
    torchao/ExecuTorch are not installed) of an eval-mode fp32 `model`, calibrated on the list
    of input batches `calibration`."""
    if not calibration:
        raise CompressError("static quantisation needs calibration batches (give --dataset)")
    captured = _capture(_copy(model).eval(), calibration[0]) if _pt2e_available() else None
    if captured is None:
        return _quantize_static_fx(model, calibration, per_channel), FX
    import warnings
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_pt2e(captured, xnnpack_quantizer(per_channel))
        with torch.no_grad():
            for batch in calibration:
                prepared(batch)
        return _drop_unused_tensors(convert_pt2e(prepared)), PT2E


def quantize_static(model, calibration, per_channel=True):
    """The int8 model of `int8_static`."""
    return int8_static(model, calibration, per_channel)[0]


def fallback_note(path):
    """What the report says when the fx path was used."""
    if path != FX:
        return None
    why = ("torchao and executorch are not installed (pip install 'cnn-designer[deploy]')"
           if not _pt2e_available() else "torch.export cannot capture this design")
    return f"quantised with the deprecated fx graph mode because {why}"


def _quantize_static_fx(model, calibration, per_channel=True):
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    engine = quantized_engine()
    torch.backends.quantized.engine = engine
    with _known_deprecations():
        prepared = prepare_fx(_copy(model).eval(), _qconfig_mapping(engine, per_channel),
                              (calibration[0][:1],), prepare_custom_config=_opaque_modules())
        with torch.inference_mode():
            for batch in calibration:
                prepared(batch)
        return convert_fx(prepared)


def _opaque_modules():
    """Our modules whose forward branches on shapes cannot be traced symbolically: they stay
    whole and run in float between dequantise and quantise steps."""
    from torch.ao.quantization.fx.custom_config import PrepareCustomConfig
    return PrepareCustomConfig().set_non_traceable_module_classes(
        [modules.ChannelShuffle, modules.Multiply, modules.Split, modules.DropPath,
         modules.ZeroPadShortcut])


def qat_preparer(example, paths=None):
    """The Trainer's `prepare` hook for quantisation-aware training: insert int8 fake
    quantisation (per-channel weights, per-tensor activations) into the compiled model, through
    PT2E (its .train() and .eval() kept working) or, when it cannot be captured, fx; the path
    taken is appended to the list `paths`."""
    def prepare(model):
        captured = _capture(model.train(), example) if _pt2e_available() else None
        if captured is None:
            if paths is not None:
                paths.append(FX)
            return _prepare_qat_fx(model, example)
        import warnings
        from torchao.quantization.pt2e import allow_exported_model_train_eval
        from torchao.quantization.pt2e.quantize_pt2e import prepare_qat_pt2e
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prepared = prepare_qat_pt2e(captured, xnnpack_quantizer(qat=True))
        if paths is not None:
            paths.append(PT2E)
        return allow_exported_model_train_eval(prepared)
    return prepare


def _prepare_qat_fx(model, example):
    from torch.ao.quantization import get_default_qat_qconfig_mapping
    from torch.ao.quantization.quantize_fx import prepare_qat_fx
    engine = quantized_engine()
    torch.backends.quantized.engine = engine
    with _known_deprecations():
        return prepare_qat_fx(model.train(), get_default_qat_qconfig_mapping(engine),
                              (example,), prepare_custom_config=_opaque_modules())


def convert_trained(model):
    """The int8 model from a QAT-trained one (PT2E or fx, as it was prepared)."""
    import warnings
    model = _copy(model).cpu().eval()
    if _is_pt2e(model):
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _drop_unused_tensors(convert_pt2e(model))
    from torch.ao.quantization.quantize_fx import convert_fx
    with _known_deprecations():
        return convert_fx(model)


def _is_pt2e(model):
    from torchao.quantization.pt2e.export_utils import model_is_exported
    return _pt2e_available() and model_is_exported(model)


def quantize_dynamic(model, per_channel=True):
    """int8 dynamic quantisation of the fully connected layers."""
    from torch.ao.quantization import (default_dynamic_qconfig, per_channel_dynamic_qconfig,
                                       quantize_dynamic as torch_quantize_dynamic)
    if not any(isinstance(m, nn.Linear) for m in model.modules()):
        raise CompressError("dynamic quantisation acts on fully connected layers and the design "
                            "has none")
    torch.backends.quantized.engine = quantized_engine()
    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    with _known_deprecations():
        return torch_quantize_dynamic(_copy(model).eval(), {nn.Linear: qconfig},
                                      dtype=torch.qint8)


@contextlib.contextmanager
def _known_deprecations():
    """torch.ao.quantization's deprecation notices, said once in the module docstring instead:
    dynamic quantisation (and the fx fallback) have no PT2E replacement that runs int8 kernels
    in eager PyTorch; tracing the int8 graph warns of its shape checks, fixed at batch 1."""
    import warnings
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "torch.ao.quantization is deprecated", DeprecationWarning)
        warnings.filterwarnings("ignore", ".*quantized tensor creation functions", UserWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        yield


def _copy(model):
    import copy
    return copy.deepcopy(model)


def is_pt2e_int8(model):
    """Whether `model` is a converted PT2E graph (int8 weights dequantized as it runs)."""
    graph = getattr(model, "graph", None)
    return graph is not None and any(
        node.op == "call_function" and "quantized_decomposed" in str(node.target)
        for node in graph.nodes)


def to_torchscript(model, example, path):
    """Save a quantised model as TorchScript (atomically). A PT2E model is not frozen, which would
    fold its dequantized weights back into fp32 constants; loading it takes the quantize and
    dequantize operators torchao registers (`import torchao.quantization.pt2e` first)."""
    with _known_deprecations():
        traced = torch.jit.trace(model, example, check_trace=False)
    if not is_pt2e_int8(model):
        traced = torch.jit.freeze(traced.eval())
    with atomic_path(path) as tmp:
        torch.jit.save(traced, tmp)
    return traced


# ---- weight-only fake quantisation ----------------------------------------------------------

def _kmeans_rows(rows, levels, iterations=25):
    """1-D k-means of each row (centroids initialised linearly between min and max, as Deep
    Compression does); returns the rows with every weight replaced by its centroid."""
    out = torch.empty_like(rows)
    steps = torch.linspace(0, 1, levels, dtype=rows.dtype)
    for r, row in enumerate(rows):
        low, high = row.min(), row.max()
        centroids = low + (high - low) * steps
        for _ in range(iterations):
            edges = (centroids[1:] + centroids[:-1]) / 2
            assign = torch.bucketize(row, edges)
            sums = torch.zeros(levels, dtype=rows.dtype).index_add_(0, assign, row)
            counts = torch.zeros(levels, dtype=rows.dtype).index_add_(0, assign, torch.ones_like(row))
            updated = torch.where(counts > 0, sums / counts.clamp_min(1), centroids)
            if torch.equal(updated, centroids):
                break
            centroids = updated.sort().values
        out[r] = centroids[torch.bucketize(row, (centroids[1:] + centroids[:-1]) / 2)]
    return out


def quantize_rows(rows, bits, scheme):
    """Each row of `rows` (groups × values) quantised to `bits` with `scheme`, dequantised."""
    rows = rows.double()
    if scheme == "linear":
        qmax = 2 ** (bits - 1) - 1
        scale = rows.abs().amax(1, keepdim=True).clamp_min(1e-30) / qmax
        return (rows / scale).round().clamp(-qmax, qmax) * scale
    if scheme == "affine":
        qmax = 2 ** bits - 1
        low = rows.amin(1, keepdim=True).clamp(max=0)
        high = rows.amax(1, keepdim=True).clamp(min=0)
        scale = (high - low).clamp_min(1e-30) / qmax
        zero = (-low / scale).round()
        return ((rows / scale).round() + zero).clamp(0, qmax).sub(zero) * scale
    if scheme == "kmeans":
        return _kmeans_rows(rows, 2 ** bits)
    if scheme == "log":
        # One bit of sign; the other bits code 2^(bits-1) - 1 exponents below the largest and zero.
        magnitudes = rows.abs()
        top = torch.log2(magnitudes.amax(1, keepdim=True).clamp_min(1e-30)).round()
        count = 2 ** (bits - 1) - 1
        exponent = torch.log2(magnitudes.clamp_min(1e-30)).round().clamp(max=top)
        value = torch.where(exponent > top - count, torch.exp2(exponent), torch.zeros_like(rows))
        return torch.sign(rows) * value
    raise CompressError(f"unknown weight quantisation scheme {scheme!r}; choose one of "
                        + ", ".join(WEIGHT_SCHEMES))


def sqnr_db(reference, quantised):
    """Signal-to-quantisation-noise ratio in dB (None when the quantisation is exact)."""
    noise = (reference.double() - quantised.double()).pow(2).sum().item()
    signal = reference.double().pow(2).sum().item()
    if noise == 0:
        return None
    return 10 * math.log10(max(signal, 1e-300) / noise)


def weight_bytes(weight, bits, scheme, per_channel):
    groups = weight.shape[0] if per_channel else 1
    side = (2 ** bits) * 4 if scheme == "kmeans" else SIDE_BYTES * (2 if scheme == "affine" else 1)
    return math.ceil(weight.numel() * bits / 8) + groups * side


def fake_quantize(model, bits, scheme, per_channel=False):
    """Quantise every convolution and fully connected weight of `model` in place; returns one
    row per layer: {"layer", "weights", "sqnr_db", "bytes_before", "bytes_after"}."""
    if scheme not in WEIGHT_SCHEMES:
        raise CompressError(f"unknown weight quantisation scheme {scheme!r}; choose one of "
                            + ", ".join(WEIGHT_SCHEMES))
    if not 1 <= bits <= 16 or (scheme in ("linear", "log") and bits < 2):
        raise CompressError(f"{bits} bits cannot code the {scheme} scheme; use 2 to 16 bits")
    rows = []
    for name, module in model.named_modules():
        if not isinstance(module, (nn.Conv2d, nn.Linear)):
            continue
        weight = module.weight.data
        groups = weight.reshape(weight.shape[0], -1) if per_channel else weight.reshape(1, -1)
        quantised = quantize_rows(groups, bits, scheme).reshape(weight.shape).to(weight.dtype)
        rows.append({"layer": name, "weights": weight.numel(),
                     "sqnr_db": sqnr_db(weight, quantised),
                     "bytes_before": weight.numel() * weight.element_size(),
                     "bytes_after": weight_bytes(weight, bits, scheme, per_channel)})
        module.weight.data.copy_(quantised)
    if not rows:
        raise CompressError("the design has no convolution or fully connected weights to quantise")
    return rows


def parse_scheme(text):
    """'int8-static', 'int8-dynamic', 'int8-qat' or 'weight:BITS:SCHEME' -> (kind, bits, scheme)."""
    if text in ("int8-static", "int8-dynamic", "int8-qat"):
        return text, 8, None
    parts = text.split(":")
    if len(parts) == 3 and parts[0] == "weight" and parts[1].isdigit() and parts[2] in WEIGHT_SCHEMES:
        return "weight", int(parts[1]), parts[2]
    raise CompressError(f"unknown scheme {text!r}; use int8-static, int8-dynamic, int8-qat or "
                        "weight:BITS:linear|affine|kmeans|log (e.g. weight:4:kmeans)")
