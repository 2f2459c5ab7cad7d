"""ONNX export (opset 17) with a dynamic batch axis on every input and output.

The TorchScript-based exporter (`dynamo=False`) is used first: on these convolutional graphs it is
exact and several times faster than the dynamo exporter, which remains the fallback for a model
the former cannot convert.
"""

import io
import contextlib
import warnings

import torch

from .files import ExportError, atomic_path

OPSET = 17


def _first_line(error):
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:300]


def save_onnx(module, path, example_inputs, input_names, output_names):
    """Write `module` as ONNX; returns a note naming the exporter when the fallback was needed."""
    args = tuple(example_inputs)
    axes = {name: {0: "batch"} for name in list(input_names) + list(output_names)}
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(module, args, tmp, dynamo=False, opset_version=OPSET,
                              input_names=list(input_names), output_names=list(output_names),
                              dynamic_axes=axes)
            return ""
        except Exception as error:
            reason = _first_line(error)
        batch = torch.export.Dim("batch", min=1)
        try:
            # The dynamo exporter narrates its progress on stdout; keep the CLI's output clean.
            with contextlib.redirect_stdout(io.StringIO()):
                torch.onnx.export(module, args, tmp, dynamo=True, opset_version=max(OPSET, 18),
                                  input_names=list(input_names), output_names=list(output_names),
                                  dynamic_shapes=tuple({0: batch} for _ in args),
                                  external_data=False)
        except Exception as error:
            raise ExportError(f"ONNX export failed: {reason}; the dynamo exporter also failed: "
                              f"{_first_line(error)}") from None
        return f"exported with the dynamo exporter (opset 18) because the TorchScript-based one failed: {reason}"
