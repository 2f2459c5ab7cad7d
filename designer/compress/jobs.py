"""Each compression technique as one call shared by the CLI and the editor's Compress panel.

`run(technique, graph, weights, options, control=None, on_event=None)` loads the weights, applies
the technique and measures it, and returns an `Outcome`: the before/after report (the fields of
`measure.REPORT_FIELDS` and more), the new design with its state_dict (or the int8 module for int8
quantisation). `options` maps setting names to values (a dict, or the verbs' parsed arguments);
every setting of `SETTINGS` left out takes its default, and every value is checked there first,
so a bad one is refused with one sentence before any work. Fine-tuning goes through the training
engine; `control` (a `TrainControl`) stops it between steps and `on_event` receives its events.
`preview(...)` computes only the new design's parameters, multiply-adds and bytes, for techniques
that change the graph, without touching data.
"""

from dataclasses import dataclass
from pathlib import Path
import tempfile

from designer.core.compile import compile_graph
from designer.train.config import TrainConfig
from designer.train.loop import Trainer
from designer.weights import load_into, read_state_dict
from . import prune as pruning, quantize as quant
from .factorize import factorize as svd
from .measure import (calibration_batches, compare, design_counts, input_shape, load_model,
                      output_error, save_state, validation_data)
from .prune import full_state
from .settings import SETTINGS, CompressError
from .substitute import substitute as replace

TECHNIQUES = ("prune", "quantize", "factorize", "substitute")


@dataclass
class Outcome:
    report: dict
    graph: object = None         # the new design (None for int8 artefacts)
    state: dict = None           # its state_dict
    module: object = None        # the int8 module (int8 schemes)


def checked(options):
    """Every setting's value from `options` (a mapping, or an argparse namespace whose flags
    left out are None), the rest at their defaults; CompressError for a bad one."""
    given = options if isinstance(options, dict) else SETTINGS.given(options)
    return SETTINGS.check({k: v for k, v in given.items() if k in SETTINGS and v is not None})


def _layer_amounts(options, iterations):
    """--layer-amounts "a=0.3,b=0.6" as {layer: share per round}."""
    text = options.layer_amounts
    if not text:
        return None
    amounts = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            share = float(value)
        except ValueError:
            raise CompressError(f"{part.strip()!r}: write layer=amount, e.g. conv1=0.3") from None
        if not 0 < share < 1:
            raise CompressError(f"the amount for {name.strip()} must be between 0 and 1 "
                                f"(exclusive); got {share:g}")
        amounts[name.strip()] = 1 - (1 - share) ** (1 / iterations)
    return amounts


def validation_loader(options, graph):
    if not options.dataset:
        return None
    return validation_data(options.dataset, graph, options.data_dir)


def train(graph, state, options, control=None, on_event=None, prepare=None):
    """Train `graph` from `state` for finetune_epochs on the dataset with the training engine;
    the trained model (on the CPU). `prepare` is the Trainer's model hook (QAT)."""
    if not options.dataset:
        raise CompressError("fine-tuning needs a dataset (--dataset)")
    with tempfile.TemporaryDirectory(prefix="designer-finetune-") as folder:
        start = Path(folder) / "start.pt"
        save_state(state, start)
        config = TrainConfig(dataset=options.dataset,
                             data_dir=options.data_dir,
                             epochs=options.finetune_epochs, lr=options.lr,
                             batch_size=options.batch_size,
                             seed=options.seed, out=str(Path(folder) / "run")).validate()
        trainer = Trainer(graph, config, control=control, weights=str(start), prepare=prepare)
        finished = None
        for event in trainer.run():
            if on_event is not None:
                on_event(event)
            if event.kind == "finished":
                finished = event
        if finished is None or finished.status != "completed":
            raise CompressError(f"fine-tuning did not complete: "
                                f"{finished.message if finished else 'no result'}")
        return trainer.model.cpu()


def finetune(graph, state, options, masks=None, control=None, on_event=None):
    """The state_dict after fine-tuning; `masks` ({layer: mask}) keep pruned zeros at zero."""
    import torch
    trained = {k: v.detach().cpu() for k, v in
               train(graph, state, options, control, on_event).state_dict().items()}
    if masks:
        with torch.no_grad():
            for path, mask in masks.items():
                trained[f"{path}.weight"] *= mask
    return trained


def _compare(graph, model, new_graph, after, options, **kwargs):
    return compare(graph, model, new_graph, after, validation_loader(options, graph),
                   latency=options.latency, **kwargs)


def prune(graph, model, options, control=None, on_event=None, state=None):
    """Prune by `amount` in `iterations` equal steps (each keeping the same share, then
    fine-tuning when epochs are given); `rewind` (a weights file) resets the kept weights to
    those values after pruning, as in the lottery ticket hypothesis."""
    import copy
    method, amount, iterations = options.method, options.amount, options.iterations
    step_amount = 1 - (1 - amount) ** (1 / iterations)
    rewind = read_state_dict(options.rewind) if options.rewind else None
    if rewind is not None:
        load_model(graph, rewind)        # refuses rewind weights that do not fit the design
    state = pruning.full_state(graph, state if state is not None else model.state_dict())
    epochs = options.finetune_epochs
    notes, rows = [], []
    if method == "magnitude":
        pruned_model = copy.deepcopy(model)
        masks = {}
        for step in range(iterations):
            # Zeros are the smallest magnitudes, so pruning to the cumulative share keeps them.
            cumulative = 1 - (1 - amount) ** ((step + 1) / iterations)
            masks = pruning.prune_magnitude(pruned_model, cumulative, options.global_)
            if rewind is not None and step == 0:
                _rewind_masked(pruned_model, rewind, masks)
            if epochs:
                state = finetune(graph, {**state, **pruned_model.state_dict()}, options, masks,
                                 control, on_event)
                pruned_model = load_model(graph, state)
        # Auxiliary heads (not in the evaluated model) keep their weights unpruned.
        new_graph, state = graph.copy(), {**state, **pruned_model.state_dict()}
        after = load_model(new_graph, state)
        sparsity = pruning.sparsity(after)
        rows = [{"layer": path, "sparsity": 1 - mask.float().mean().item()}
                for path, mask in masks.items()]
        notes.append(f"{sparsity:.1%} of the convolution and fully connected weights are zero; "
                     "the design and its dense storage are unchanged")
    else:
        current, first = graph, None
        for step in range(iterations):
            result = pruning.prune_structured(current, state, method, step_amount,
                                              options.global_, list(options.layers) if options.layers else None,
                                              rewind if step == 0 else None,
                                              _layer_amounts(options, iterations))
            first = first or result
            current, state = result.graph, result.state_dict
            if epochs:
                state = finetune(current, state, options, None, control, on_event)
        new_graph = current
        after = load_model(new_graph, state)
        sparsity = None
        final = {path: kept for path, (_, kept, _) in result.kept.items()}
        rows = [{"layer": path, "filters_before": before, "filters_after": final.get(path, kept)}
                for path, (before, kept, _) in first.kept.items()]
        for producers, reason in result.left_whole:
            notes.append(f"left whole: {', '.join(producers[:4])}"
                         f"{' ...' if len(producers) > 4 else ''} because {reason}")
        notes.extend(result.notes)
    if rewind is not None:
        notes.append("kept weights rewound to the --rewind weights (lottery ticket)")
    report = {"technique": "prune", "method": method, "amount": amount,
              "global": options.global_, "iterations": iterations,
              "finetune_epochs": epochs or 0,
              **_compare(graph, model, new_graph, after, options), "sparsity": sparsity,
              "layers": rows, "notes": notes}
    return Outcome(report, new_graph, state)


def _rewind_masked(model, rewind, masks):
    """Reset every weight to its `rewind` value, keeping the pruned ones at zero."""
    import torch
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name in rewind and rewind[name].shape == tensor.shape:
                tensor.copy_(rewind[name])
        for path, mask in masks.items():
            model.get_submodule(path).weight.mul_(mask)


def quantize(graph, model, options, control=None, on_event=None, state=None):
    import copy
    import torch
    scheme = options.scheme
    kind, bits, name = quant.parse_scheme(scheme)
    per_channel = options.per_channel
    notes = []
    if kind == "weight":
        after = copy.deepcopy(model)
        rows = quant.fake_quantize(after, bits, name, per_channel)
        weights = {f"{r['layer']}.weight" for r in rows}
        other = sum(t.numel() * t.element_size() for k, t in model.state_dict().items()
                    if k not in weights)
        stored = other + sum(r["bytes_after"] for r in rows)
        report = _compare(graph, model, graph, after, options, bytes_after=stored)
        notes.append("the weights written are the quantised values in fp32, so they load as "
                     "--weights anywhere; bytes_after counts them at the quantised width")
        full = state if state is not None else model.state_dict()
        outcome = Outcome(None, graph.copy(), {**full, **after.state_dict()})
    else:
        quant.quantized_engine()
        if kind == "int8-static":
            if not options.dataset:
                raise CompressError("int8 static quantisation calibrates on data: give --dataset")
            calibration = calibration_batches(options.dataset, graph,
                                              options.calibration_batches,
                                              options.data_dir)
            after, path = quant.int8_static(model, calibration, per_channel=True)
            notes.append(f"calibrated on {len(calibration)} batches of "
                         f"{options.dataset}; weights int8 per channel, activations "
                         "int8 per tensor")
            notes.append(quant.fallback_note(path) or quant.PT2E_NOTE)
        elif kind == "int8-qat":
            if not options.dataset or not options.finetune_epochs:
                raise CompressError("quantisation-aware training needs --dataset and "
                                    "--finetune-epochs N")
            full = state if state is not None else model.state_dict()
            example = torch.zeros(1, *input_shape(graph))
            paths = []
            trained = train(graph, full, options, control, on_event,
                            prepare=quant.qat_preparer(example, paths))
            after = quant.convert_trained(trained)
            notes.append(quant.fallback_note(paths[0] if paths else quant.FX)
                         or quant.PT2E_NOTE)
            notes.append(f"trained {options.finetune_epochs} epochs with int8 fake "
                         "quantisation (per-channel weights, per-tensor activations), then "
                         "converted")
        else:
            after = quant.quantize_dynamic(model, per_channel)
        report = _compare(graph, model, graph, after, options)
        rows = []
        for layer, module in model.named_modules():
            if kind == "int8-dynamic" and not isinstance(module, torch.nn.Linear):
                continue
            if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
                w = module.weight.detach()
                q = quant.quantize_rows(w.reshape(w.shape[0], -1), 8, "linear")
                rows.append({"layer": layer, "sqnr_db": quant.sqnr_db(w, q.reshape(w.shape))})
        notes.append("sqnr_db per layer: int8 per-channel weights against fp32")
        outcome = Outcome(None, module=after)
    outcome.report = {"technique": "quantize", "scheme": scheme, "per_channel": per_channel,
                      **report, "layers": rows, "notes": notes}
    return outcome


def factorize(graph, model, options, control=None, on_event=None, state=None):
    import torch
    result = svd(graph, state if state is not None else model.state_dict(),
                 options.energy, options.rank,
                 list(options.layers) if options.layers else None, options.spatial)
    after = load_model(result.graph, result.state_dict)
    loader = validation_loader(options, graph)
    report = _compare(graph, model, result.graph, after, options)
    generator = torch.Generator().manual_seed(0)
    probe = ([images for images, _ in loader][:2] if loader is not None else
             [torch.randn(16, *input_shape(graph), generator=generator)])
    report = {"technique": "factorize", "energy": options.energy,
              "rank": options.rank, **report,
              "output_relative_error": output_error(model, after, probe),
              "layers": result.layers, "notes": [f"kept {p}: {r}" for p, r in result.skipped]}
    return Outcome(report, result.graph, result.state_dict)


def substitute(graph, model, options, control=None, on_event=None, state=None):
    import torch
    layer, kind = options.layer, options.kind
    if not layer:
        raise CompressError("choose the convolution to substitute")
    new_graph = replace(graph, layer, kind)
    torch.manual_seed(options.seed)
    fresh_model = compile_graph(new_graph)
    fresh = load_into(fresh_model, state if state is not None else model.state_dict()).missing
    state = fresh_model.state_dict()
    if options.finetune_epochs:
        state = finetune(new_graph, state, options, None, control, on_event)
    after = load_model(new_graph, state)
    report = {"technique": "substitute", "layer": layer, "with": kind,
              **_compare(graph, model, new_graph, after, options), "layers": [],
              "notes": [f"new (initialised) tensors: {', '.join(fresh)}; fine-tune to recover "
                        "the accuracy (--dataset D --finetune-epochs N)"]}
    return Outcome(report, new_graph, state)


def run(technique, graph, weights, options, control=None, on_event=None):
    """Load `weights` (a path or a state_dict) into `graph` and apply `technique`."""
    if technique not in TECHNIQUES:
        raise CompressError(f"unknown technique {technique!r}")
    options = checked(options)
    model = load_model(graph, weights)          # refuses weights that do not fit
    state = full_state(graph, weights if isinstance(weights, dict) else read_state_dict(weights))
    return globals()[technique](graph, model, options, control, on_event, state)


def preview(technique, graph, state, options):
    """(params, macs, bytes) before and after for techniques that change the design, computed
    from the design and `state` alone (no data, no timing)."""
    options = checked(options)
    if technique not in ("prune", "factorize", "substitute") or (
            technique == "prune" and options.method == "magnitude"):
        raise CompressError("only structured pruning, factorisation and substitution change the "
                            "design; the other techniques are measured when applied")
    model = load_model(graph, state)
    # Without data, fine-tuning or timing: what a preview may cost.
    quick = SETTINGS.check({**options, "dataset": None, "finetune_epochs": 0, "latency": False})
    outcome = globals()[technique](graph, model, quick, state=state)
    params, macs = design_counts(outcome.graph)
    before = design_counts(graph)
    return {"params_before": before[0], "params_after": params, "macs_before": before[1],
            "macs_after": macs, "bytes_before": outcome.report["bytes_before"],
            "bytes_after": outcome.report["bytes_after"]}
