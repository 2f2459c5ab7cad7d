"""The compression verbs: `designer prune`, `quantize`, `factorize`, `substitute` and
`compress-report`. Each prints a before/after table (or one JSON object
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
    from designer.weights import save_design_with_weights
    graph.set_metadata(name=f"{graph.name} ({name_suffix})")
    save_design_with_weights(graph, state, paths[0])   # paths[1] is the weights beside it


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
    options = jobs.checked(args)          # a bad setting is refused before anything runs
    paths = _outputs(args.output, suffix, args.force)
    graph = load_for_cli(args.design)

    def progress(event):
        if event.kind == "epoch" and not args.json:
            print(f"  fine-tune epoch {event.epoch}: val top-1 error {event.val_top1_error:.2%}",
                  file=sys.stderr, flush=True)

    outcome = jobs.run(technique, graph, options.weights, options, on_event=progress)
    if outcome.module is not None:
        import torch
        from designer.compress.quantize import to_torchscript
        to_torchscript(outcome.module, torch.randn(1, *input_shape(graph)), paths[0])
    else:
        _save_design(outcome.graph, outcome.state, paths, describe(options))
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
    from designer.compress.deep_compression import deep_compression, stage_settings
    from designer.compress.measure import design_counts, latency_ms, input_shape, top1_error
    from designer.compress.settings import REPORT_SETTINGS
    settings = stage_settings(REPORT_SETTINGS.check(REPORT_SETTINGS.given(args)))
    graph, model = _load(args)
    loader = _loader(args, graph)
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

def _common(p, output=True):
    p.add_argument("design", help="a design file (.json) or a preset name")
    if output:
        p.add_argument("-o", "--output", required=True, metavar="OUT",
                       help="the result to write (never overwritten without --force)")
        p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _verb(subparsers, name, help, description, run, required=()):
    """A compression verb: the design, -o/--force/--json, and its settings from the schema."""
    from designer.compress.settings import SETTINGS, VERB_SETTINGS
    p = subparsers.add_parser(name, help=help, description=description)
    _common(p)
    SETTINGS.only("weights", *VERB_SETTINGS[name]).add_arguments(p, ("weights",) + required)
    p.set_defaults(run=run)


def add_parser(subparsers):
    _verb(subparsers, "prune", "remove filters (rewriting the design) or single weights",
          "Structured filter pruning by L1 norm (l1) or BatchNorm scale (bn) writes a narrower "
          "design and its weights; magnitude pruning zeroes single weights.", _prune)
    _verb(subparsers, "quantize", "int8 (static or dynamic) or weight-only quantisation",
          "int8-static and int8-dynamic write a TorchScript module (-o OUT.pt); "
          "weight:BITS:linear|affine|kmeans|log writes the design with its quantised weights "
          "(-o OUT.json, weights in OUT.pt) and each layer's SQNR.", _quantize, ("scheme",))
    _verb(subparsers, "factorize", "low-rank SVD factorisation of fully connected and conv "
          "layers", "Each chosen layer becomes two: a rank-r layer and the original one reading "
          "those r features (a k×k conv with r filters then a 1×1). Give --energy or --rank.",
          _factorize)
    _verb(subparsers, "substitute", "make one convolution cheaper (depthwise-separable or "
          "Ghost module)", "Replace a convolution by a depthwise-separable convolution or a "
          "Ghost module with the same output shape; other layers keep their weights.",
          _substitute, ("layer", "kind"))

    from designer.compress.settings import REPORT_SETTINGS, SETTINGS
    p = subparsers.add_parser(
        "compress-report", help="Deep Compression stages: prune, k-means quantise, Huffman",
        description="Bytes and validation error after each stage of Deep Compression.")
    _common(p, output=False)
    SETTINGS.only("weights", "dataset", "data_dir").add_arguments(p, ("weights",))
    REPORT_SETTINGS.add_arguments(p)
    p.set_defaults(run=_compress_report)
