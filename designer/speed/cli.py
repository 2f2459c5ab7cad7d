"""The `profile` and `sweep` verbs.

`designer profile DESIGN [--input CxHxW] [--batch N] [--device cpu|cuda] [--threads N] [--json]`
prints measured per-node latency, memory access cost, arithmetic intensity, the roofline verdict
and ShuffleNet V2 guideline hints. `designer sweep DESIGN --dataset D --param NAME=VALUES ...
--out DIR` trains one run per trial under Optuna and writes trials.csv and tradeoff.png.
torch and optuna are imported inside the handlers so `designer --help` stays quick.
"""

import json
import sys


def _human_bytes(n):
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n}B"


def format_profile(report):
    from designer.core.summary import human
    total = report["end_to_end_ms"]
    backward = "backward_end_to_end_ms" in report
    header = ("Layer", "Type", "ms", "%", "MACs", "Read", "Written", "MAC/B", "Bound") + (
        ("Backward ms",) if backward else ())
    rows = []
    for n in report["nodes"]:
        share = n["latency_ms"] / total if total else 0.0
        rows.append((n["id"], n["type"], f"{n['latency_ms']:.3f}", f"{share:.1%}", human(n["macs"]),
                     _human_bytes(n["bytes_read"]), _human_bytes(n["bytes_written"]),
                     f"{n['intensity']:.1f}", n["bound"] if n["bytes_read"] else "")
                    + ((f"{n['backward_ms']:.3f}",) if backward else ()))
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]

    def line(row):
        return "  ".join(str(v).rjust(w) if i >= 2 else str(v).ljust(w)
                         for i, (v, w) in enumerate(zip(row, widths))).rstrip()
    out = [line(header), "-" * len(line(header))]
    for n, row in zip(report["nodes"], rows):
        out.append(line(row))
        out.extend(f"    hint {text}" for text in n["hints"])
    out.append("-" * len(line(header)))
    shape = "×".join(str(v) for v in report["input_shape"])
    out.append(f"{report['device']}, {report['threads']} thread(s), batch {report['batch']}, "
               f"input {shape}, {report['dtype']}, median of {report['repeats']} runs")
    if report["not_run"]:
        out.append(f"Not run at inference (auxiliary heads): {', '.join(report['not_run'])}")
    out.append(f"End to end:   {total:.3f} ms")
    out.append(f"Sum of nodes: {report['sum_ms']:.3f} ms (residual {report['residual_ms']:+.3f} ms, "
               f"{report['residual_ms'] / total:+.1%} of end to end)" if total else "")
    if "backward_end_to_end_ms" in report:
        out.append(f"Backward:     {report['backward_end_to_end_ms']:.3f} ms end to end, "
                   f"{report['backward_sum_ms']:.3f} ms attributed to nodes")
    peak = report["peak"]
    out.append(f"Device peak:  {peak['macs_per_s'] / 1e9:.1f} GMAC/s, {peak['bytes_per_s'] / 1e9:.1f} "
               f"GB/s; layers below {peak['ridge_macs_per_byte']:.1f} MACs per byte are memory-bound")
    return "\n".join(out)


def _profile(args):
    from designer.arguments import load_for_cli
    from .profile import profile
    from .settings import PROFILE_SETTINGS
    settings = PROFILE_SETTINGS.check(PROFILE_SETTINGS.given(args))
    graph = load_for_cli(args.design)
    report = profile(graph, args.input, **settings)
    print(json.dumps(report) if args.json else format_profile(report))
    return 0


def _sweep(args):
    from designer.search.settings import SEARCH_SETTINGS
    from designer.search.study import make_sweep
    from .settings import SWEEP_SETTINGS
    from .sweep import parse_param
    settings = SWEEP_SETTINGS.check(SWEEP_SETTINGS.given(args))
    search = SEARCH_SETTINGS.check(SEARCH_SETTINGS.given(args))   # structure search (issue 26)
    study = settings.pop("study")
    sweep = make_sweep(args.design, params=[parse_param(text) for text in args.param],
                       study_name=study, train_settings=dict(_train_setting(t) for t in args.train),
                       **settings, **search)
    try:
        for event in sweep.run():
            if not args.json and event["kind"] == "trial":
                print(_trial_line(event["trial"]), file=sys.stderr)
    except KeyboardInterrupt:
        print(f"designer: sweep interrupted; finished trials are kept in {sweep.out}; run the same "
              f"command to resume", file=sys.stderr)
        return 130
    result = sweep.result()
    if args.json:
        print(json.dumps(result))
    else:
        complete = [t for t in result["trials"] if t["state"] == "complete"]
        print(f"{len(result['trials'])} trial(s), {len(complete)} complete; Pareto front "
              f"(error vs MACs): trials {', '.join(str(n) for n in result['pareto']) or 'none'}")
        if "front" in result:
            print(f"Pareto front ({' vs '.join(result['objectives'])}"
                  + (f", within {', '.join(result['constraints'])}" if result["constraints"]
                     else "") + f"): trials {', '.join(map(str, result['front'])) or 'none'}")
        print(f"wrote {sweep.out / 'trials.csv'} and {sweep.out / 'tradeoff.png'}")
    failed = [t for t in result["trials"] if t["state"] == "failed"]
    if failed and len(failed) == len(result["trials"]):
        print(f"designer: every trial failed ({len(failed)}); trial {failed[0]['number']}: "
              f"{failed[0]['message'] or 'no reason recorded'}", file=sys.stderr)
        return 2
    return 0


def _trial_line(trial):
    settings = ", ".join(f"{k}={v}" for k, v in trial["settings"].items())
    error = trial["val_top1_error"]
    tail = (f"val top-1 error {error:.2%}" if error is not None else trial.get("message") or "")
    if trial.get("warm_start"):            # --warm-start: which trial it grew from
        tail += f" ({trial['warm_start']})"
    return f"trial {trial['number']} {trial['state']}: {settings}: {tail}"


def _train_setting(text):
    import argparse
    name, sep, raw = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--train {text!r}: expected NAME=VALUE")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return name.strip().replace("-", "_"), value


def add_parser(subparsers):
    from designer.arguments import parse_shape
    from .settings import PROFILE_SETTINGS, SWEEP_SETTINGS
    p = subparsers.add_parser("profile", help="measured per-layer latency, memory access cost "
                              "and ShuffleNet V2 guideline hints")
    p.add_argument("design", help="a design file (.json) or a preset name")
    p.add_argument("--input", type=parse_shape, metavar="CxHxW", help="override the input shape")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    PROFILE_SETTINGS.add_arguments(p)
    p.set_defaults(run=_profile)

    p = subparsers.add_parser("sweep", help="train a grid or search of variants (Optuna) and plot "
                              "error against MACs, parameters and latency")
    p.add_argument("design", help="a design file (.json) or a preset name")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUES",
                   help="a swept setting (repeatable): a training setting (lr=0.01,0.05), a design "
                        "parameter NODE.PARAM as for `open --set` (conv1.out_channels=4:16:4, "
                        "start:stop:step inclusive), or width=0.5,1.0 to scale every out_channels")
    p.add_argument("--train", action="append", default=[], metavar="NAME=VALUE",
                   help="a fixed training setting for every trial, e.g. batch_size=32")
    p.add_argument("--json", action="store_true", help="print one JSON object when done")
    SWEEP_SETTINGS.add_arguments(p, required=("dataset", "out"))
    from designer.search.settings import SEARCH_SETTINGS
    SEARCH_SETTINGS.add_arguments(p)
    p.set_defaults(run=_sweep)
