"""The `open` verb: `designer open [NAME_OR_FILE] [--screenshot out.png] [--theme light|dark]`.

Qt is imported only when the verb runs, so `designer --help` and the Qt-free engines stay light.
"""


def _run(args):
    from .app import run
    return run(args.design, screenshot=args.screenshot, theme=args.theme, edits=args.set,
               select=args.select, size=args.size)


def _size(text):
    import argparse
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected WIDTHxHEIGHT such as 1600x1000") from None
    return width, height


def add_parser(subparsers):
    p = subparsers.add_parser("open", help="open the editor (optionally with a design or preset)")
    p.add_argument("design", nargs="?", help="a design file (.json) or a preset name")
    p.add_argument("--screenshot", metavar="PNG",
                   help="render the window offscreen to this PNG and exit")
    p.add_argument("--theme", choices=("light", "dark"), default=None,
                   help="default: the theme used last")
    p.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                   help="change a parameter after opening (repeatable; VALUE is JSON or text), "
                        "e.g. --set conv1.kernel=300 to show a shape error")
    p.add_argument("--select", metavar="NODE", help="select this node (the inspector shows it)")
    p.add_argument("--size", type=_size, default=(1600, 1000), metavar="WxH",
                   help="window size for --screenshot (default 1600x1000)")
    p.set_defaults(run=_run)
