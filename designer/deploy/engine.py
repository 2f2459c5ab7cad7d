"""Convert a trained design for one target, load the file back in that target's own runtime,
compare it with the design on the same inputs and measure it there.

`deploy(graph, weights, target, out, ...)` returns the report (`REPORT_FIELDS` and more). The file
is written through `atomic_path`: it is converted into a temporary file beside `out`, loaded and
run from there, and replaces `out` only when all of that succeeded, so a failure leaves nothing
half written. A design the target cannot take (an operator its runtime lacks) is refused with a
sentence naming the node and the operator.

Latency is batch 1 in the target's runtime on one CPU thread: warm-up runs, then the median of
`repeats`; the design's own (eager PyTorch, one thread) is measured the same way beside it.
ExecuTorch programs are exported at batch 1 (what a device runs), so validation runs image by
image; the ONNX file keeps a dynamic batch axis.
"""

import contextlib
import io
import os
from pathlib import Path
import shutil
import statistics
import tempfile
import time
import warnings

import torch

from designer.compress.quantize import xnnpack_quantizer
from designer.compress.measure import (calibration_batches, input_shape, latency_ms, load_model,
                                       validation_data)
from designer.core.atomic import atomic_path
from .targets import DeployError, require, target as find_target

REPORT_FIELDS = ("target", "path", "bytes", "latency_ms", "max_abs_difference", "val_top1_error",
                 "val_top1_error_reference")
COMPARE_INPUTS = 4        # batch-1 inputs (validation images, else random) compared on
RANDOM_CALIBRATION = 4    # random batches an int8 target calibrates on without --dataset


def _first_line(error):
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:300]


# ---- timing ---------------------------------------------------------------------------------

def median_ms(run, repeats=30, warmup=5):
    """Median milliseconds of `repeats` calls of `run()` after `warmup` calls."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@contextlib.contextmanager
def one_thread():
    """PyTorch at one thread, restored afterwards (ExecuTorch's pool is pinned once, in
    `load_executorch`)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _pin_executorch_pool():
    """ExecuTorch's thread pool at one thread, set once before the first program loads. The pool
    is process-wide and starts with a thread per core; resetting it while programs are loaded
    frees the pool their XNNPACK delegates hold (a segfault in libexecutorch_threadpool.so when
    it was reset to one thread and back around each timing), so it is never changed again."""
    from executorch.extension.pybindings import portable_lib
    if portable_lib._threadpool_get_thread_count() != 1:
        portable_lib._unsafe_reset_threadpool(1)


# ---- where an operator came from ------------------------------------------------------------

def node_of(fx_node, graph):
    """The design node an exported graph's node belongs to: the innermost module path in its
    nn_module_stack whose first part (or whole path) is a node id of `graph`."""
    stack = fx_node.meta.get("nn_module_stack") or {}
    ids = set(graph.nodes)
    for path, _ in reversed(list(stack.values())):
        path = path.replace("L['self'].", "").replace("L__self___", "")
        for candidate in (path, path.split(".")[0]):
            if candidate in ids:
                return candidate
    return None


def _unsupported(graph, node_name, op, runtime):
    where = f"node {node_name!r}" if node_name else "a node of the design"
    return DeployError(f"{where} uses the operator {op}, which {runtime} has no kernel for; "
                       "replace that layer to deploy to this target")


# ---- targets --------------------------------------------------------------------------------

class Program:
    """A converted file in its runtime: `run(x)` gives the output tensor; `batch` is the batch
    size it was built for (None: any)."""
    def __init__(self, run, batch=None, notes=()):
        self.run, self.batch, self.notes = run, batch, list(notes)


def _export(model, example, graph):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.export.export(model, (example,))
    except Exception as error:
        raise DeployError(f"torch.export cannot capture the design {graph.name!r}: "
                          f"{_first_line(error)}") from None


def pt2e_int8(model, example, calibration, graph):
    """The PT2E int8 model (quantize/dequantize around int8 weights) calibrated on `calibration`,
    captured at batch 1 (what the program runs); `designer quantize` captures with a free batch
    dimension instead (compress.quantize.int8_static)."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    captured = _export(model, example, graph).module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_pt2e(captured, xnnpack_quantizer(per_channel=True))
        with torch.no_grad():
            for batch in calibration:
                for image in batch.split(1):        # exported at batch 1
                    prepared(image)
        return convert_pt2e(prepared)


def lower_executorch(model, example, graph):
    """(the ExecuTorch program manager, the edge program) lowered to XNNPACK; DeployError naming
    the node when an operator is left to a kernel the runtime lacks."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower
    from executorch.extension.pybindings import portable_lib
    exported = _export(model, example, graph)
    try:
        with warnings.catch_warnings(), _bilinear_patterns_only_when_upsampling(exported):
            warnings.simplefilter("ignore")
            edge = to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])
            program = edge.to_executorch()
    except Exception as error:
        raise DeployError(f"ExecuTorch cannot lower the design {graph.name!r}: "
                          f"{_first_line(error)}") from None
    kernels = set(portable_lib._get_operator_names())
    for node in program.exported_program().graph_module.graph.nodes:
        op = node.target
        if node.op != "call_function" or not hasattr(op, "_schema"):
            continue
        name = op._schema.name + (f".{op._overloadname}" if op._overloadname != "default" else "")
        if name.startswith("aten::") and name not in kernels:
            raise _unsupported(graph, node_of(node, graph), name.replace("::", ".", 1),
                               "the ExecuTorch runtime (portable kernels, XNNPACK)")
    return program, edge


@contextlib.contextmanager
def _bilinear_patterns_only_when_upsampling(exported):
    """XNNPACK's lowering matches decomposed bilinear upsampling against patterns it builds with
    four exports on first use (most of a small design's lowering time); a program without
    upsampling has nothing to match, so the patterns are left unbuilt."""
    from executorch.backends.xnnpack._passes import convert_to_upsample_bilinear2d as upsample
    if any("upsample" in str(node.target) or "grid_sampler" in str(node.target)
           for node in exported.graph.nodes):
        yield
        return
    original = upsample.bilinear_2d.get_graphs_dict
    upsample.bilinear_2d.get_graphs_dict = dict
    try:
        yield
    finally:
        upsample.bilinear_2d.get_graphs_dict = original


def delegation(edge):
    """(delegated operator nodes, operators left outside XNNPACK as {name: count})."""
    from executorch.devtools.backend_debug import get_delegation_info
    info = get_delegation_info(edge.exported_program().graph_module)
    left = {}
    for _, row in info.get_operator_delegation_dataframe().iterrows():
        name, count = row["op_type"], int(row["occurrences_in_non_delegated_graphs"])
        if name not in ("Total", "getitem") and count:
            left[name] = count
    return info.num_delegated_nodes, left


def load_executorch(path):
    """`run(x)` of a .pte file's forward method in the ExecuTorch runtime (one thread)."""
    from executorch.runtime import Runtime
    _pin_executorch_pool()
    method = Runtime.get().load_program(Path(path)).load_method("forward")

    def run(x):
        return method.execute([x.contiguous()])[0]
    return run


def load_onnx(path):
    """`run(x)` of an ONNX file in onnxruntime's CPU provider, one thread."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(x):
        return torch.from_numpy(session.run(None, {name: x.numpy()})[0])
    return run


def build_executorch(model, example, calibration, graph, tmp):
    int8 = calibration is not None
    if int8:
        model = pt2e_int8(model, example, calibration, graph)
    program, edge = lower_executorch(model, example, graph)
    delegated, left = delegation(edge)
    with open(tmp, "wb") as file:
        program.write_to_file(file)
    notes = [f"{delegated} operator nodes run in the XNNPACK delegate"
             + (f"; outside it: {', '.join(f'{k} ×{v}' for k, v in left.items())}" if left
                else ", none outside it")]
    return Program(load_executorch(tmp), batch=1, notes=notes)


def build_onnx_int8(model, example, calibration, graph, tmp):
    import numpy as np
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    from designer.export.files import ExportError
    from designer.export.onnx import save_onnx
    with tempfile.TemporaryDirectory(prefix="designer-onnx-") as folder:
        fp32, prepared = Path(folder) / "fp32.onnx", Path(folder) / "prepared.onnx"
        try:
            save_onnx(model, fp32, (example,), ["input"], ["output"])
        except ExportError as error:
            raise DeployError(str(error)) from None
        _check_onnx_ops(fp32, graph)

        class Batches(CalibrationDataReader):
            def __init__(self):
                self.items = iter([{"input": b.numpy().astype(np.float32)} for b in calibration])

            def get_next(self):
                return next(self.items, None)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
            except Exception:       # the pre-processing is an optimisation, not a requirement
                shutil.copyfile(fp32, prepared)
            # 7-bit weights (reduce_range): on x86 CPUs without VNNI (AVX2 only, as here)
            # onnxruntime's int8 kernels add pairs of products in 16 bits, which full-range
            # weights overflow (LeNet-5's logits were off by 17 % of their range here, 7 % with it).
            quantize_static(str(prepared), tmp, Batches(), quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QInt8,
                            weight_type=QuantType.QInt8, reduce_range=True)
    try:
        run = load_onnx(tmp)
    except Exception as error:
        raise DeployError(f"onnxruntime cannot load the int8 model: {_first_line(error)}") from None
    return Program(run, notes=["QDQ int8: per-channel int8 weights (7-bit range), int8 "
                               "activations (onnxruntime static quantisation)"])


def _check_onnx_ops(path, graph):
    """DeployError naming the node of an operator onnxruntime's CPU provider cannot run."""
    import onnx
    import onnxruntime as ort
    try:
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:
        text = str(error)
        model = onnx.load(str(path))
        for node in model.graph.node:
            if node.op_type in text:
                module = node.name.strip("/").split("/")[0]
                raise _unsupported(graph, module if module in graph.nodes else None,
                                   f"ONNX {node.op_type}", "onnxruntime") from None
        raise DeployError(f"onnxruntime cannot load the design: {_first_line(error)}") from None


def build_coreml(model, example, calibration, graph, tmp):
    import coremltools as ct
    exported = _export(model, example, graph).run_decompositions({})
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            converted = ct.convert(exported, convert_to="mlprogram")
    except Exception as error:
        raise DeployError(f"Core ML cannot convert the design {graph.name!r}: "
                          f"{_first_line(error)}") from None
    converted.save(tmp)
    spec = ct.utils.load_spec(tmp)
    inputs = [tuple(i.type.multiArrayType.shape) for i in spec.description.input]
    if inputs != [tuple(example.shape)]:
        raise DeployError(f"the Core ML model takes {inputs}, not {tuple(example.shape)}")
    return Program(None, batch=1, notes=[
        "Core ML cannot run on this system: the saved spec was loaded back and its input "
        f"checked ({'x'.join(map(str, inputs[0]))}); agreement and latency need an Apple device"])


BUILDERS = {"executorch": build_executorch, "executorch-int8": build_executorch,
            "onnx-int8": build_onnx_int8, "coreml": build_coreml}


# ---- checking the file ----------------------------------------------------------------------

def _outputs(module, x):
    with torch.inference_mode():
        y = module(x)
    return y[0] if isinstance(y, (tuple, list)) else y


def _run(program, x):
    if program.batch is None:
        return program.run(x)
    return torch.cat([program.run(image) for image in x.split(program.batch)])


def max_difference(program, model, inputs):
    return max((_run(program, x).float() - _outputs(model, x).float()).abs().max().item()
               for x in inputs)


def top1_error(run, loader):
    wrong = count = 0
    with torch.inference_mode():
        for images, labels in loader:
            wrong += (run(images).argmax(1) != labels).sum().item()
            count += labels.numel()
    return wrong / max(1, count)


def check_output(out, t, force=False):
    """`out` as the path to write for target `t`: the right suffix, its folder there, and not
    overwriting a file unless `force`."""
    path = Path(out)
    if path.suffix != t.suffix:
        raise DeployError(f"{out}: the {t.name} target writes a {t.suffix} file; give -o a name "
                          f"ending in {t.suffix}")
    if not path.parent.is_dir():
        raise DeployError(f"{path.parent}: no such folder")
    if path.exists() and not force:
        raise DeployError(f"{path} exists; pass --force to overwrite it")
    return path


@contextlib.contextmanager
def _atomic_folder(path):
    """atomic_path for a folder result (a Core ML .mlpackage): built beside, renamed over."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        yield str(tmp)
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _size(path):
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def deploy(graph, weights, target, out, dataset=None, calibration_batches_count=4,
           data_dir=None, force=False, repeats=30, latency=True):
    """Convert `graph` with `weights` (a path or a state_dict, None for its initial weights) for
    `target` into `out`; the report (see the module docstring)."""
    t = find_target(target)
    require(t)
    path = check_output(out, t, force)
    model = load_model(graph, weights)
    shape = input_shape(graph)
    generator = torch.Generator().manual_seed(0)
    inputs = [torch.randn(1, *shape, generator=generator) for _ in range(COMPARE_INPUTS)]
    notes = []
    calibration = None
    if t.int8:
        if dataset:
            calibration = calibration_batches(dataset, graph, calibration_batches_count, data_dir)
            notes.append(f"calibrated on {len(calibration)} batches of {dataset}")
        else:
            calibration = [torch.randn(8, *shape, generator=generator)
                           for _ in range(RANDOM_CALIBRATION)]
            notes.append("calibrated on random inputs (no --dataset): size and latency are "
                         "meaningful, accuracy is not")
    loader = validation_data(dataset, graph, data_dir) if dataset else None
    if loader is not None:       # compare on real images: int8 is calibrated for them
        images = next(iter(loader))[0][:COMPARE_INPUTS]
        inputs = [image[None] for image in images]
    writer = _atomic_folder if t.suffix == ".mlpackage" else atomic_path
    with writer(path) as tmp:
        program = BUILDERS[t.name](model, inputs[0], calibration, graph, tmp)
        report = {"target": t.name, "path": str(path), "runtime": t.runtime,
                  "bytes": _size(tmp), "latency_ms": None, "max_abs_difference": None,
                  "val_top1_error": None, "val_top1_error_reference": None,
                  "latency_ms_reference": None, "notes": notes + program.notes}
        if program.run is not None:
            report["max_abs_difference"] = max_difference(program, model, inputs)
            if loader is not None:
                report["val_top1_error"] = top1_error(lambda x: _run(program, x), loader)
            if latency:
                with one_thread():
                    report["latency_ms"] = median_ms(lambda: program.run(inputs[0]), repeats)
    if loader is not None:
        report["val_top1_error_reference"] = top1_error(lambda x: _outputs(model, x), loader)
    if latency:
        report["latency_ms_reference"] = latency_ms(model, shape, repeats)
    report["bytes_reference"] = sum(v.numel() * v.element_size()
                                    for v in model.state_dict().values())
    return report
