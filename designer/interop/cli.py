"""The `designer import` and `designer diff` verbs."""

import json
import sys


def _run_import(args):
    from designer.core.errors import DesignError
    from designer.interop import UnsupportedOpsError
    from designer.interop.files import import_steps, run_to_end
    from designer.weights import weights_path_for
    try:
        result = run_to_end(import_steps(args.source, args.output, args.input, args.pretrained,
                                         force=args.force))
    except UnsupportedOpsError as error:
        print(f"designer: {len(error.items)} operation(s) have no catalogue layer; nothing was "
              f"written:\n{error.report()}", file=sys.stderr)
        return 2
    except DesignError:
        raise                  # main prints its sentence
    except Exception as error:  # a failure the importers did not foresee: still one sentence
        text = str(error).strip().splitlines()
        print(f"designer: importing {args.source} failed ({type(error).__name__}"
              f"{': ' + text[0][:300] if text else ''}); nothing was written", file=sys.stderr)
        return 2
    print(f"wrote {args.output} ({len(result.graph.nodes)} nodes) and "
          f"{weights_path_for(args.output)} ({len(result.state_dict)} tensors)")
    if result.unused:
        shown = ", ".join(result.unused[:8]) + (" ..." if len(result.unused) > 8 else "")
        print(f"not carried over (unused in evaluation): {shown}")
    return 0


def _run_diff(args):
    from designer.arguments import load_for_cli
    from designer.interop.diff import diff_designs, format_diff
    result = diff_designs(load_for_cli(args.a), load_for_cli(args.b))
    print(json.dumps(result) if args.json else format_diff(result))
    return 0


def add_parser(subparsers):
    from designer.arguments import parse_shape
    p = subparsers.add_parser(
        "import", help="import a torchvision, timm, PyTorch or ONNX model as a design",
        description="Trace a model into an editable design (OUT.json) and carry its weights "
                    "into OUT.pt. Sources: torchvision:NAME, timm:NAME, "
                    "module:path/to/file.py:ClassOrFactory (runs that file), or model.onnx. "
                    "Operations the catalogue lacks are listed with where they occur (exit 2, "
                    "nothing written).")
    p.add_argument("source", help="torchvision:NAME, timm:NAME, module:FILE.py:NAME or FILE.onnx")
    p.add_argument("-o", "--output", required=True, metavar="OUT.json",
                   help="the design file to write; the weights go beside it as OUT.pt")
    p.add_argument("--input", type=parse_shape, metavar="CxHxW",
                   help="input shape to trace with (default: the model's own, else 3x224x224)")
    p.add_argument("--pretrained", action="store_true",
                   help="torchvision/timm: start from the published weights, read from PyTorch's "
                        "hub cache (never downloaded; the message says where to put the file)")
    p.add_argument("--force", action="store_true",
                   help="overwrite OUT.json and OUT.pt when they exist")
    p.set_defaults(run=_run_import)

    p = subparsers.add_parser(
        "diff", help="compare two designs: per stage and per node shapes, params, MACs, RF",
        description="Compare design A with design B (files or preset names): totals and ratios, "
                    "per-stage sums, and the nodes added, removed and changed.")
    p.add_argument("a", help="design file or preset name")
    p.add_argument("b", help="design file or preset name")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_run_diff)
