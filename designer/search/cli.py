"""The `grow` verb: a function-preserving edit of a trained design.

`designer grow DESIGN --weights W --widen NODE=N -o OUT` gives a Conv2d or Linear N filters;
`designer grow DESIGN --weights W --deepen NODE -o OUT` inserts an identity-initialised layer (or
the stage's next residual block) after NODE. Both write OUT (a design) and its weights beside it
(OUT.pt) computing what the trained network computes, so training continues from there
(`designer train OUT --init OUT.pt`...). torch is imported inside the handler.
"""

import json
from pathlib import Path


def _widen_value(text):
    import argparse
    node, sep, raw = text.partition("=")
    try:
        width = int(raw)
    except ValueError:
        width = None
    if not sep or not node.strip() or width is None:
        raise argparse.ArgumentTypeError(f"--widen {text!r}: expected NODE=N, N a whole number")
    return node.strip(), width


def _grow(args):
    from designer.arguments import load_for_cli
    from designer.weights import read_state_dict, save_design_with_weights, weights_path_for
    from .grow import GrowError, deepen, widen
    out = Path(args.output)
    if out.suffix != ".json":
        raise GrowError(f"{out}: the grown design is a design file; give -o a .json file")
    for path in (out, weights_path_for(out)):
        if path.exists() and not args.force:
            raise GrowError(f"{path} exists; pass --force to overwrite it")
    if not out.parent.is_dir():
        raise GrowError(f"{out.parent}: no such folder")
    graph = load_for_cli(args.design)
    state = read_state_dict(args.weights)
    if args.widen:
        node, width = args.widen
        growth = widen(graph, state, node, width, noise=args.noise, seed=args.seed)
    else:
        growth = deepen(graph, state, args.deepen, seed=args.seed)
    growth.command.redo()
    save_design_with_weights(graph, growth.state, out)
    result = {"design": str(out), "weights": str(weights_path_for(out)), "edit": growth.text,
              "max_difference": growth.max_difference}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{growth.text}; outputs differ by at most {growth.max_difference:.2g} (relative)")
        print(f"wrote {out} and {weights_path_for(out)}")
    return 0


def add_parser(subparsers):
    p = subparsers.add_parser("grow", help="widen or deepen a trained design keeping what it "
                              "computes (Net2Net), writing the design and its weights")
    p.add_argument("design", help="a design file (.json) or a preset name")
    p.add_argument("--weights", required=True, metavar="W",
                   help="the trained weights (a state_dict, a checkpoint or a run folder)")
    edit = p.add_mutually_exclusive_group(required=True)
    edit.add_argument("--widen", type=_widen_value, metavar="NODE=N",
                      help="give the Conv2d or Linear NODE N filters (or features)")
    edit.add_argument("--deepen", metavar="NODE",
                      help="insert an identity-initialised layer after NODE (after a residual "
                           "block: one more block of its kind)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="the grown design (.json); its weights go beside it (.pt)")
    p.add_argument("--noise", type=float, default=0.0,
                   help="--widen: relative noise in how a copied unit's outgoing weights are "
                        "split (the sum is kept), so the copies can learn apart")
    p.add_argument("--seed", type=int, default=0, help="which units --widen copies")
    p.add_argument("--force", action="store_true", help="overwrite OUT and its weights")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_grow)
