"""The before/after readouts every compression technique reports: parameters, multiply-adds,
storage bytes, validation top-1 error and CPU latency (batch 1, one thread, median of repeats).

`bytes` is the storage of parameters and buffers in the deployable form: fp32 tensors at 4 bytes
per element, int8 tensors at 1 byte plus their scales and zero points; techniques that code
weights in fewer bits compute their own figure. File-format overhead is left out.
"""

import statistics
import time

import torch

from designer.core.atomic import atomic_path
from designer.core.compile import compile_graph
from designer.core.infer import Analyzer
from designer.core.registry import Role
from designer.train.config import TrainConfig
from designer.train.data import FinishedBatches, build_data
from designer.weights import WeightsError, check_finite, load_into, read_state_dict
from .settings import CompressError


REPORT_FIELDS = ("params_before", "params_after", "macs_before", "macs_after", "bytes_before",
                 "bytes_after", "val_top1_error_before", "val_top1_error_after",
                 "latency_ms_before", "latency_ms_after")


def load_model(graph, weights=None):
    """The compiled design (eval mode) with `weights` (a path or a state_dict) loaded; refuses
    weights that do not fill every tensor of the design with one of the same shape."""
    model = compile_graph(graph, include_auxiliary=False)
    if weights is not None:
        state = read_state_dict(weights) if not isinstance(weights, dict) else \
            check_finite(weights)
        report = load_into(model, state)
        if not report.complete:
            where = weights if not isinstance(weights, dict) else "the weights"
            raise WeightsError(f"{where} do not fit the design {graph.name!r}: {report}")
    return model.eval()


def input_shape(graph):
    inputs = graph.nodes_of_role(Role.INPUT)
    if len(inputs) != 1:
        raise CompressError(f"compression needs exactly one Input node; the design has "
                            f"{len(inputs)}")
    return tuple(inputs[0].params["shape"])


def design_counts(graph):
    """(parameters, multiply-adds) of a design, from the live analyzer."""
    analyzer = Analyzer(graph)
    errors = analyzer.errors()
    if errors:
        raise CompressError(f"the design has errors ({errors[0][0]}: {errors[0][1]})")
    totals = analyzer.totals
    analyzer.detach()
    return totals.params, totals.macs


def tensor_bytes(tensor):
    """Storage of one tensor; a quantised tensor adds its scales and zero points (4 bytes each)."""
    if tensor.is_quantized:
        size = tensor.numel() * tensor.element_size()
        if tensor.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
            return size + 8 * tensor.q_per_channel_scales().numel()
        return size + 8
    return tensor.numel() * tensor.element_size()


def _flatten_state(value):
    """Tensors inside a state_dict value (quantised Linear layers pack (weight, bias) tuples)."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _flatten_state(item)


def model_bytes(model):
    """Bytes of every parameter and buffer in `model`'s state_dict (shared tensors once)."""
    seen, total = set(), 0
    for value in model.state_dict().values():
        for tensor in _flatten_state(value):
            key = (tensor.data_ptr(), tensor.numel()) if not tensor.is_quantized else id(tensor)
            if key in seen:
                continue
            seen.add(key)
            total += tensor_bytes(tensor)
    return total


def validation_data(dataset, graph, data_dir=None, batch_size=256):
    """The validation loader of `dataset` fitted to the design's input."""
    from torch.utils.data import DataLoader
    config = TrainConfig(dataset=dataset, data_dir=data_dir).validate()
    bundle = build_data(config, input_shape(graph))
    return FinishedBatches(DataLoader(bundle.val, batch_size=batch_size), bundle.evaluate)


def calibration_batches(dataset, graph, batches, data_dir=None, batch_size=32):
    """`batches` batches of training images (no augmentation is wanted, but the training set is
    what a calibration should see)."""
    from torch.utils.data import DataLoader
    config = TrainConfig(dataset=dataset, data_dir=data_dir, crop="none", flip=False).validate()
    bundle = build_data(config, input_shape(graph))
    generator = torch.Generator().manual_seed(0)
    loader = DataLoader(bundle.train, batch_size=batch_size, shuffle=True, generator=generator)
    images = []
    for index, (batch, _) in enumerate(loader):
        if index >= batches:
            break
        images.append(bundle.evaluate(batch))     # uint8 items → normalised floats
    return images


@torch.inference_mode()
def top1_error(model, loader):
    wrong = count = 0
    for images, labels in loader:
        logits = model(images)
        if isinstance(logits, (tuple, list)):
            logits = logits[0]
        wrong += (logits.argmax(1) != labels).sum().item()
        count += labels.numel()
    return wrong / max(1, count)


@torch.inference_mode()
def median_ms(model, x, repeats):
    """Median milliseconds of `repeats` forward passes of `model` on `x`."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(x)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@torch.inference_mode()
def latency_ms(model, shape, repeats=30, warmup=5):
    """Median milliseconds of one forward pass at batch 1 on one CPU thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x = torch.randn(1, *shape)
        for _ in range(warmup):
            model(x)
        return median_ms(model, x, repeats)
    finally:
        torch.set_num_threads(threads)


@torch.inference_mode()
def output_error(reference, candidate, inputs):
    """Relative L2 error of `candidate`'s outputs against `reference`'s over `inputs` batches."""
    num = den = 0.0
    for x in inputs:
        a, b = reference(x), candidate(x)
        num += (a - b).float().pow(2).sum().item()
        den += a.float().pow(2).sum().item()
    return (num / max(den, 1e-30)) ** 0.5


def compare(graph_before, model_before, graph_after, model_after, loader=None, latency=True,
            bytes_after=None, params_after=None):
    """The report's required fields for one before/after pair; errors are None without data."""
    params_before, macs_before = design_counts(graph_before)
    counted_after, macs_after = design_counts(graph_after)
    shape = input_shape(graph_before)
    report = {
        "params_before": params_before,
        "params_after": counted_after if params_after is None else params_after,
        "macs_before": macs_before, "macs_after": macs_after,
        "bytes_before": model_bytes(model_before),
        "bytes_after": model_bytes(model_after) if bytes_after is None else bytes_after,
        "val_top1_error_before": top1_error(model_before, loader) if loader is not None else None,
        "val_top1_error_after": top1_error(model_after, loader) if loader is not None else None,
        "latency_ms_before": latency_ms(model_before, shape) if latency else None,
        "latency_ms_after": latency_ms(model_after, shape) if latency else None,
    }
    return report



def save_state(state, path):
    """Write a state_dict atomically (it loads with torch.load(weights_only=True))."""
    with atomic_path(path) as tmp:
        torch.save({k: v.detach().cpu().contiguous() for k, v in state.items()}, tmp)
