"""The `designer` command: CLI verbs, or the editor window when none is given.

Each verb lives in its own module exposing `add_parser(subparsers)`, which sets `run` as the
handler; modules import torch or Qt only inside their handlers, so `designer --help` is quick.
"""

import argparse
import importlib
import json
import sys

from designer.arguments import load_for_cli, parse_shape

# Verb modules, each with add_parser(subparsers). Order is the order of `designer --help`.
VERB_MODULES = [
    "designer.cli",           # summary, presets
    "designer.ui.cli",        # open (the editor)
    "designer.train.cli",     # train
    "designer.data.cli",      # data
    "designer.export.cli",    # export
    "designer.interop.cli",   # import (PyTorch, ONNX), diff
    "designer.compress.cli",  # prune, quantize, factorize, compress-report
    "designer.insight.cli",   # inspect
    "designer.speed.cli",     # profile, sweep
    "designer.search.cli",    # grow
    "designer.deploy.cli",    # deploy
]


SHAPE_OPTIONS = ("--input",)


def _join_negative_shapes(argv):
    """argparse takes `--input -1x5x5` for two options and answers "expected one argument";
    join it to `--input=-1x5x5` so the shape check explains what is wrong."""
    joined, argv = [], list(argv)
    for i, arg in enumerate(argv):
        previous = argv[i - 1] if i else None
        if previous in SHAPE_OPTIONS and arg[:2].startswith("-") and arg[1:2].isdigit():
            joined[-1] = f"{previous}={arg}"
        else:
            joined.append(arg)
    return joined


def _summary(args):
    from designer.core.summary import format_table, summarize
    graph = load_for_cli(args.design, args.input)
    summary = summarize(graph)
    if args.json:
        print(json.dumps(summary))
    else:
        print(format_table(summary))
    # Like a linter: scripts can tell a design that cannot be exported or trained.
    return 1 if summary["errors"] or summary["problems"] else 0


def _presets(args):
    from designer.core.presets import load_design, preset_names
    from designer.core.infer import Analyzer
    names = preset_names()
    if args.json:
        print(json.dumps(names))
        return 0
    for name in names:
        graph = load_design(name)
        totals = Analyzer(graph).totals
        print(f"{name:<34} {totals.params:>13,} params  {graph.description.splitlines()[0][:70] if graph.description else ''}")
    return 0


def add_parser(subparsers):
    p = subparsers.add_parser("summary", help="per-layer table and totals of a design or preset")
    p.add_argument("design", help="a design file (.json) or a preset name")
    p.add_argument("--input", type=parse_shape, metavar="CxHxW", help="override the input shape")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_summary)
    p = subparsers.add_parser("presets", help="list the preset architectures")
    p.add_argument("--json", action="store_true", help="print the names as a JSON list")
    p.set_defaults(run=_presets)


def build_parser():
    parser = argparse.ArgumentParser(prog="designer", description="CNN Designer")
    subparsers = parser.add_subparsers(dest="verb")
    for name in VERB_MODULES:
        try:
            module = sys.modules[__name__] if name == __name__ else importlib.import_module(name)
        except ModuleNotFoundError as error:
            if not name.startswith(error.name or "?"):  # a missing dependency is a real error
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv=None):
    from designer.core.errors import DesignError
    parser = build_parser()
    args = parser.parse_args(_join_negative_shapes(sys.argv[1:] if argv is None else argv))
    if args.verb is None:
        if "open" in subparsers_names(parser):
            args = parser.parse_args(["open"])
        else:
            parser.print_help()
            return 0
    try:
        return args.run(args) or 0
    except DesignError as error:
        print(f"designer: {error}", file=sys.stderr)
        return 2


def subparsers_names(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()
