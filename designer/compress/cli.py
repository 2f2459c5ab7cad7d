"""The compression verbs: `designer prune`, `quantize`, `factorize`, `substitute` and
`compress-report`, and the
distillation options of `designer train`. Each prints a before/after table (or one JSON object
with `--json`) and writes its result with `-o`: a design file and its weights beside it
(`OUT.json` + `OUT.pt`, a plain state_dict) or, for int8, a TorchScript module. An existing
output is never overwritten unless `--force` is given. torch is imported inside the handlers so
`designer --help` stays quick.
"""

import json
from pathlib import Path
import sys

FIELD_TITLES = (("params", "parameters"), ("macs", "multiply-adds"), ("bytes", "bytes"),
                ("val_top1_error", "val top-1 error"), ("latency_ms", "latency ms (1 thread)"))


def _error(sentence):
    from designer.compress.measure import CompressError
    return CompressError(sentence)


def _outputs(out, suffix, force):
    """The files `-o OUT` will write, refused up front when they exist (unless --force)."""
    path = Path(out)
    if path.suffix != suffix:
        raise _error(f"{out}: this result is {'a design' if suffix == '.json' else 'a TorchScript module'}"
                     f"; give -o a {suffix} file")
    paths = [path, path.with_suffix(".pt")] if suffix == ".json" else [path]
    for p in paths:
        if p.exists() and not force:
            raise _error(f"{p} exists; pass --force to overwrite it")
        if not p.parent.is_dir():
            raise _error(f"{p.parent}: no such folder")
    return paths


def _load(args):
    from designer.arguments import load_for_cli
    from designer.compress.measure import load_model
    graph = load_for_cli(args.design)
    return graph, load_model(graph, args.weights)


def _loader(args, graph):
    from designer.compress.jobs import validation_loader
    return validation_loader(args, graph)


def _save_design(graph, state, paths, name_suffix):
    from designer.core import fileformat
    from designer.compress.measure import save_state
    graph.set_metadata(name=f"{graph.name} ({name_suffix})")
    save_state(state, paths[1])
    fileformat.save(graph, paths[0])


def _print(report, args, layer_columns=()):
    if args.json:
        print(json.dumps(report))
        return
    print(f"{report['technique']}: {report.get('summary', '')}".rstrip(": "))
    for key, title in FIELD_TITLES:
        before, after = report[f"{key}_before"], report[f"{key}_after"]
        if before is None:
            continue
        if key == "val_top1_error":
            print(f"  {title:<24}{before:>14.2%} → {after:.2%}")
        elif isinstance(before, float):
            print(f"  {title:<24}{before:>14.3f} → {after:.3f}  (×{after / max(before, 1e-12):.2f})")
        else:
            print(f"  {title:<24}{before:>14,} → {after:,}  (×{after / max(before, 1):.2f})")
    for row in report.get("layers", [])[:60]:
        print("  " + "  ".join(f"{k} {_fmt(row[k])}" for k in row))
    for note in report.get("notes", []):
        print(f"  note: {note}")
    if report.get("output"):
        print(f"  wrote {', '.join(report['output'])}")


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# ---- verbs -------------------------------------------------------------------------------------

def _apply(technique, args, suffix, describe):
    """Run one technique for the CLI: check the output first, report, write the result."""
    from designer.arguments import load_for_cli
    from designer.compress import jobs
    from designer.compress.measure import input_shape
    paths = _outputs(args.output, suffix, args.force)
    graph = load_for_cli(args.design)

    def progress(event):
        if event.kind == "epoch" and not args.json:
            print(f"  fine-tune epoch {event.epoch}: val top-1 error {event.val_top1_error:.2%}",
                  file=sys.stderr, flush=True)

    outcome = jobs.run(technique, graph, args.weights, args, on_event=progress)
    if outcome.module is not None:
        import torch
        from designer.compress.quantize import to_torchscript
        to_torchscript(outcome.module, torch.randn(1, *input_shape(graph)), paths[0])
    else:
        _save_design(outcome.graph, outcome.state, paths, describe(args))
    outcome.report["output"] = [str(p) for p in paths]
    _print(outcome.report, args)
    return 0


def _prune(args):
    return _apply("prune", args, ".json", lambda a: f"pruned {a.method} {a.amount:g}")


def _quantize(args):
    from designer.compress.quantize import parse_scheme
    kind, _, _ = parse_scheme(args.scheme)
    return _apply("quantize", args, ".json" if kind == "weight" else ".pt",
                  lambda a: f"weights {a.scheme}")


def _factorize(args):
    return _apply("factorize", args, ".json", lambda a: "factorised")


def _substitute(args):
    return _apply("substitute", args, ".json", lambda a: f"{a.layer} as {a.kind}")


def _compress_report(args):
    from designer.compress.deep_compression import DEFAULTS, deep_compression
    from designer.compress.measure import design_counts, latency_ms, input_shape, top1_error
    graph, model = _load(args)
    loader = _loader(args, graph)
    settings = {"conv": {"amount": args.conv_amount, "bits": args.conv_bits,
                         "index_bits": DEFAULTS["conv"]["index_bits"]},
                "linear": {"amount": args.fc_amount, "bits": args.fc_bits,
                           "index_bits": DEFAULTS["linear"]["index_bits"]}}
    for kind in settings.values():
        if not 0 < kind["amount"] < 1:
            raise _error(f"the amount must be between 0 and 1 (exclusive); got {kind['amount']:g}")
        if not 1 <= kind["bits"] <= 16:
            raise _error(f"the bits must be between 1 and 16; got {kind['bits']}")
    rows, totals, pruned, quantised = deep_compression(model, settings)
    params, macs = design_counts(graph)
    kept = sum(r["kept"] for r in rows)
    errors = {stage: top1_error(m, loader) if loader is not None else None
              for stage, m in (("dense", model), ("pruned", pruned), ("quantized", quantised))}
    errors["huffman"] = errors["quantized"]          # Huffman coding is lossless
    shape = input_shape(graph)
    report = {"technique": "compress-report", "params_before": params,
              "params_after": params - sum(r["weights"] for r in rows) + kept,
              "macs_before": macs, "macs_after": macs,
              "bytes_before": totals["dense"], "bytes_after": totals["huffman"],
              "val_top1_error_before": errors["dense"],
              "val_top1_error_after": errors["huffman"],
              "latency_ms_before": latency_ms(model, shape),
              "latency_ms_after": latency_ms(quantised, shape),
              "stages": [{"stage": stage, "bytes": totals[stage],
                          "ratio": totals["dense"] / totals[stage],
                          "val_top1_error": errors[stage]}
                         for stage in ("dense", "pruned", "quantized", "huffman")],
              "layers": rows,
              "notes": ["no fine-tuning between stages (the paper retrains after pruning and "
                        "after quantisation)", "latency is of the dense model holding the "
                        "quantised values: the sparse, coded form needs a decoder to run"]}
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"Deep Compression estimate for {graph.name}")
    for stage in report["stages"]:
        error = stage["val_top1_error"]
        print(f"  {stage['stage']:<10}{stage['bytes']:>14,} bytes  ×{stage['ratio']:.1f} smaller"
              + (f"  val top-1 error {error:.2%}" if error is not None else ""))
    for row in rows:
        print("  " + "  ".join(f"{k} {_fmt(row[k])}" for k in row))
    for note in report["notes"]:
        print(f"  note: {note}")
    return 0


# ---- parsers -----------------------------------------------------------------------------------

def _amount(text):
    import argparse
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    return value


def _common(p, output=True, dataset_help="measure validation top-1 error on this dataset"):
    from designer.train.config import DATASETS
    p.add_argument("design", help="a design file (.json) or a preset name")
    p.add_argument("--weights", required=True, metavar="CKPT",
                   help="the trained weights (a state_dict or a training checkpoint)")
    p.add_argument("--dataset", choices=DATASETS, help=dataset_help)
    p.add_argument("--data-dir", metavar="DIR", help="where the dataset files are")
    if output:
        p.add_argument("-o", "--output", required=True, metavar="OUT",
                       help="the result to write (never overwritten without --force)")
        p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _training(p, epochs_help, lr_help):
    """The options of the training that follows pruning or substitution (fine-tuning) or
    quantisation (QAT)."""
    p.add_argument("--finetune-epochs", type=int, default=0, metavar="N", help=epochs_help)
    p.add_argument("--lr", type=float, default=0.01, help=lr_help)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)


def add_parser(subparsers):
    p = subparsers.add_parser(
        "prune", help="remove filters (rewriting the design) or single weights",
        description="Structured filter pruning by L1 norm (l1) or BatchNorm scale (bn) writes a "
                    "narrower design and its weights; magnitude pruning zeroes single weights.")
    _common(p)
    p.add_argument("--method", choices=("l1", "bn", "magnitude"), default="l1")
    p.add_argument("--amount", type=_amount, default=0.5,
                   help="share of filters (or weights) to remove, in (0, 1)")
    p.add_argument("--global", dest="global_", action="store_true",
                   help="rank all layers together instead of removing the amount from each")
    p.add_argument("--layers", metavar="A,B", help="prune only these layers (module names)")
    p.add_argument("--layer-amounts", metavar="A=0.3,B=0.7",
                   help="a different amount for the filters of these layers")
    _training(p, "fine-tune on --dataset with the training engine afterwards",
              "fine-tuning learning rate")
    p.add_argument("--iterations", type=int, default=1, metavar="K",
                   help="reach the amount in K prune (→ fine-tune) rounds of equal share")
    p.add_argument("--rewind", metavar="CKPT", help="lottery ticket: after the first pruning, "
                   "reset the kept weights to these (e.g. the initial weights) before training")
    p.set_defaults(run=_prune)

    p = subparsers.add_parser(
        "quantize", help="int8 (static or dynamic) or weight-only quantisation",
        description="int8-static and int8-dynamic write a TorchScript module (-o OUT.pt); "
                    "weight:BITS:linear|affine|kmeans|log writes the design with its quantised "
                    "weights (-o OUT.json, weights in OUT.pt) and each layer's SQNR.")
    _common(p, dataset_help="calibrate (int8-static) and measure error on this dataset")
    p.add_argument("--scheme", required=True,
                   help="int8-static, int8-dynamic, int8-qat or "
                        "weight:BITS:linear|affine|kmeans|log")
    p.add_argument("--per-channel", action="store_true",
                   help="one scale (or codebook) per output channel instead of per tensor")
    p.add_argument("--calibration-batches", type=int, default=10, metavar="N")
    _training(p, "int8-qat: epochs of quantisation-aware training on --dataset",
              "int8-qat learning rate")
    p.set_defaults(run=_quantize)

    p = subparsers.add_parser(
        "factorize", help="low-rank SVD factorisation of fully connected and conv layers",
        description="Each chosen layer becomes two: a rank-r layer and the original one "
                    "reading those r features (a k×k conv with r filters then a 1×1).")
    _common(p)
    rank = p.add_mutually_exclusive_group(required=True)
    rank.add_argument("--energy", type=float, help="keep this share of Σσ² (e.g. 0.9)")
    rank.add_argument("--rank", type=int, help="the same rank r for every chosen layer")
    p.add_argument("--layers", metavar="A,B", help="factorise only these layers")
    p.add_argument("--spatial", action="store_true",
                   help="split k×k convolutions into k×1 then 1×k (instead of k×k then 1×1)")
    p.set_defaults(run=_factorize)

    p = subparsers.add_parser(
        "substitute", help="make one convolution cheaper (depthwise-separable or Ghost module)",
        description="Replace a convolution by a depthwise-separable convolution or a Ghost "
                    "module with the same output shape; other layers keep their weights.")
    _common(p)
    p.add_argument("--layer", required=True, help="the convolution (its module name)")
    p.add_argument("--with", dest="kind", choices=("separable", "ghost"), required=True)
    _training(p, "fine-tune on --dataset with the training engine afterwards",
              "fine-tuning learning rate")
    p.set_defaults(run=_substitute)

    p = subparsers.add_parser(
        "compress-report", help="Deep Compression stages: prune, k-means quantise, Huffman",
        description="Bytes and validation error after each stage of Deep Compression.")
    _common(p, output=False)
    p.add_argument("--conv-amount", type=float, default=0.6)
    p.add_argument("--fc-amount", type=float, default=0.9)
    p.add_argument("--conv-bits", type=int, default=8)
    p.add_argument("--fc-bits", type=int, default=5)
    p.set_defaults(run=_compress_report)


def add_distillation_arguments(parser):
    """The knowledge-distillation options of `designer train`."""
    group = parser.add_argument_group("knowledge distillation")
    group.add_argument("--teacher", metavar="DESIGN", help="distil from this trained design")
    group.add_argument("--teacher-weights", metavar="CKPT", help="the teacher's weights")
    group.add_argument("--temperature", type=float, default=2.0,
                       help="softmax temperature T (default 2)")
    group.add_argument("--alpha", type=float, default=0.5,
                       help="loss = A·T²·KL(teacher ‖ student) + (1−A)·CE (default 0.5)")


def distillation_loss_from_args(args, student_graph):
    """The DistillationLoss asked for with --teacher, or None."""
    if not getattr(args, "teacher", None):
        return None
    from designer.compress.distill import distillation_for
    return distillation_for(student_graph, args.teacher, args.teacher_weights, args.temperature,
                            args.alpha)
