"""`designer deploy DESIGN --weights W --target T -o OUT [--dataset D --calibration-batches N]
[--json]`: convert for one target, load the file back in its own runtime and report its size,
latency (batch 1, one thread), agreement with the design and, with --dataset, its validation
top-1 error beside the design's. torch is imported inside the handler so `designer --help` stays
quick.
"""

import json

from .targets import NOT_OFFERED, TARGETS

FIELDS = (("bytes", "bytes", "{:,}"), ("latency_ms", "latency ms (batch 1, 1 thread)", "{:.3f}"),
          ("max_abs_difference", "max |difference| vs design", "{:.3g}"),
          ("val_top1_error", "val top-1 error", "{:.2%}"))


def _deploy(args):
    from designer.arguments import load_for_cli
    from designer.weights import run_weights
    from .engine import deploy
    from .targets import DeployError
    if args.calibration_batches < 1:
        raise DeployError("--calibration-batches must be at least 1; got "
                          f"{args.calibration_batches}")
    graph = load_for_cli(args.design)
    report = deploy(graph, run_weights(args.weights), args.target, args.output,
                    dataset=args.dataset, calibration_batches_count=args.calibration_batches,
                    data_dir=args.data_dir, force=args.force)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"deploy {report['target']}: {report['path']} (checked in {report['runtime']})")
    for key, title, form in FIELDS:
        value, reference = report[key], report.get(f"{key}_reference")
        if value is None and reference is None:
            continue
        shown = form.format(value) if value is not None else "—"
        beside = f"   design: {form.format(reference)}" if reference is not None else ""
        print(f"  {title:<32}{shown:>14}{beside}")
    for note in report["notes"]:
        print(f"  note: {note}")
    return 0


def add_parser(subparsers):
    not_offered = "; ".join(f"{k}: {v}" for k, v in NOT_OFFERED.items())
    p = subparsers.add_parser(
        "deploy", help="convert for a device runtime and check the file in that runtime",
        description="Convert a trained design for ExecuTorch (fp32 or int8, XNNPACK), int8 "
                    "ONNX or Core ML, load the file back in its own runtime, compare it with the "
                    f"design and time it at batch 1 on one thread. Not offered: {not_offered}.")
    p.add_argument("design", help="a design file (.json) or a preset name")
    p.add_argument("--weights", required=True, metavar="W",
                   help="the trained weights (a state_dict .pt, or a training run folder)")
    # No argparse choices: a target asked for but not offered (tflite) gets the reason.
    p.add_argument("--target", required=True, metavar="T",
                   help="; ".join(f"{t.name}: {t.help}" for t in TARGETS.values()))
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the file to write")
    p.add_argument("--dataset", metavar="D",
                   help="calibrate int8 targets on it and report validation top-1 error")
    p.add_argument("--data-dir", metavar="DIR", help="where the dataset's files are")
    p.add_argument("--calibration-batches", type=int, default=4, metavar="N",
                   help="training batches (of 32) an int8 target calibrates on (default 4)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_deploy)
