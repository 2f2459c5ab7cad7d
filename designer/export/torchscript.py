"""TorchScript (.pt) and torch.export (.pt2) files of a compiled design.

TorchScript: the compiled `fx.GraphModule` is scripted, which keeps every branch of the model;
only when scripting fails does it fall back to tracing, and the result says so (a traced model
replays the operations of one example input). The archive loads with plain `torch.jit.load`,
without `designer`. torch.export: an `ExportedProgram` with a dynamic batch dimension when the
model allows one, loaded back with `torch.export.load`.
"""

import warnings

import torch

from .files import ExportError, atomic_path


def _first_line(error):
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:300]


def to_torchscript(module, example_inputs):
    """(ScriptModule, method, note): method is "scripted" or "traced"."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return torch.jit.script(module), "scripted", ""
        except Exception as script_error:
            reason = _first_line(script_error)
        try:
            with torch.no_grad():
                traced = torch.jit.trace(module, tuple(example_inputs), check_trace=False)
        except Exception as trace_error:
            raise ExportError(f"TorchScript failed: scripting ({reason}) and tracing "
                              f"({_first_line(trace_error)})") from None
    shapes = ", ".join("×".join(map(str, x.shape)) for x in example_inputs)
    return traced, "traced", (f"scripting failed ({reason}), so the model was traced with a "
                              f"{shapes} input: data-dependent branches are frozen as traced")


def save_torchscript(module, path, example_inputs):
    """Write `module` as a TorchScript archive; returns (method, note)."""
    scripted, method, note = to_torchscript(module, example_inputs)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.save's deprecation notice; torch.export is offered too
        torch.jit.save(scripted, tmp)
    return method, note


def save_torch_export(module, path, example_inputs):
    """Write `module` as a torch.export program (.pt2); returns a note (empty when the batch
    dimension is dynamic as intended)."""
    args = tuple(example_inputs)
    batch = torch.export.Dim("batch", min=1)
    note = ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            program = torch.export.export(module, args, dynamic_shapes=tuple({0: batch} for _ in args))
        except Exception as dynamic_error:
            try:
                program = torch.export.export(module, args)
            except Exception as error:
                raise ExportError(f"torch.export failed: {_first_line(error)}") from None
            note = (f"the batch size is fixed at {args[0].shape[0]}: a dynamic batch was refused "
                    f"({_first_line(dynamic_error)})")
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        torch.export.save(program, handle)  # a handle: any file name the user chose is accepted
    return note
