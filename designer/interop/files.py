"""A model imported into files: the design (OUT.json) and its weights beside it (OUT.pt), as
`designer import` and the editor's File ▸ Import… write them.

`import_steps(source, output, ...)` is a generator: it yields a sentence before each stage
(loading, tracing, checking the weights, writing), so a caller can show progress and stop between
stages, and returns the `ImportResult`. Nothing is written unless the weights load into the
compiled design exactly; the two files are written as one unit (both or neither).
"""

from pathlib import Path

from designer.core.atomic import writable_target
from designer.core.compile import compile_graph
from designer.core.layout import layered_positions
from designer.weights import match, save_design_with_weights, weights_path_for
from . import ModelLoadError


def import_steps(source, output, input_shape=None, pretrained=False, aspect=None, force=False):
    """Import `source` (torchvision:NAME, timm:NAME, module:FILE.py:NAME or FILE.onnx) into
    `output` and the weights beside it. `aspect` (width / height of the canvas) lays a long
    network out in columns, as presets open; without it the import's own layout is kept. An
    existing output is refused before any work unless `force`."""
    output = Path(output)
    for path in (output, weights_path_for(output)):
        writable_target(path)          # a folder, device or FIFO there is refused now
        if path.exists() and not force:
            raise ModelLoadError(f"{path} exists; pass --force to overwrite it")
    if not output.parent.is_dir():
        raise ModelLoadError(f"{output.parent}: no such folder")
    if str(source).lower().endswith(".onnx"):
        from .onnx import import_onnx      # the onnx package is an optional extra
        yield f"reading {Path(source).name}…"
        result = import_onnx(source, input_shape)
    else:
        from .pytorch import default_input_shape, import_model, load_source
        yield f"loading {source}…"
        model = load_source(source, pretrained)
        shape = tuple(input_shape) if input_shape else default_input_shape(model, source)
        yield f"tracing it at {'×'.join(map(str, shape))}…"
        result = import_model(model, shape, name=source.split(":")[-1],
                              description=f"Imported from {source} by `designer import`.")
    yield "checking that the weights load into the design…"
    module = compile_graph(result.graph)
    try:
        module.load_state_dict(result.state_dict, strict=True)
    except RuntimeError as error:
        report, _ = match(module, result.state_dict)
        why = str(report) if not report.exact else str(error).splitlines()[0]
        hint = (" (does --input give the channels and size the model takes?)"
                if input_shape and report.mismatched else "")
        raise ModelLoadError(f"the imported weights do not load into the design: "
                             f"{why}{hint}") from None
    if aspect is not None:
        for node_id, position in layered_positions(result.graph, aspect=aspect).items():
            result.graph.move(node_id, position)
    yield f"writing {output.name}…"
    save_design_with_weights(result.graph, module.state_dict(), output)
    return result


def run_to_end(steps):
    """Drive a generator to its end; its return value (for callers without progress)."""
    while True:
        try:
            next(steps)
        except StopIteration as end:
            return end.value
