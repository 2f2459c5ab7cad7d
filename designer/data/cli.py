"""The `designer data` verb: what a dataset holds and its problems, each with its files, as a
table or (`--json`) one object: {"classes", "counts": {"train": {class: n}, "val": {...}},
"sizes", "channels", "problems": [{"kind", "path", "detail", "files"}], ...}."""

import json


def _run(args):
    from designer.data.report import describe
    input_shape = args.input
    if args.design is not None:
        from designer.arguments import load_for_cli
        graph = load_for_cli(args.design, args.input)
        input_shape = _design_input(graph)
    report = describe(args.dataset, args.data_dir, args.val_fraction, input_shape)
    if args.write:
        from designer.data.report import write_folder
        count = write_folder(report, args.write)
        print(f"wrote {count:,} PNG files of {report.title} into {args.write}/train and "
              f"{args.write}/val, one folder per class")
        return 0
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print("\n".join(report.summary()))
    return 0


def _design_input(graph):
    from designer.core.registry import Role
    from designer.train.images import DatasetError
    inputs = graph.nodes_of_role(Role.INPUT)
    if len(inputs) != 1:
        raise DatasetError(f"the design has {len(inputs)} Input nodes; comparing a dataset "
                           "with it needs exactly one")
    return tuple(inputs[0].params["shape"])


def add_parser(subparsers):
    from designer.arguments import parse_shape
    from designer.train.config import DATASETS
    p = subparsers.add_parser(
        "data", help="describe a dataset: classes, counts, sizes and problems",
        description="Describe a dataset as training reads it: its classes, the images per class "
                    "in each split, their sizes and channels (against a design's input with "
                    "--design or --input), and the problems found, each with its files: "
                    "unreadable images, images in both train and val, empty or tiny classes, "
                    "strong imbalance, channels that differ from the input, sizes the resize "
                    "stretches. An image folder (--dataset imagefolder) is a folder of class "
                    "sub-folders, optionally under train/ and val/, or a CSV file of path,label "
                    "rows (--data-dir names it).")
    p.add_argument("--dataset", required=True, choices=list(DATASETS),
                   help="the dataset, as `designer train --dataset` names it")
    p.add_argument("--data-dir", metavar="DIR",
                   help="where the dataset's files are: for imagefolder the folder or CSV file")
    p.add_argument("--val-fraction", type=float, default=0.2, metavar="F",
                   help="the share held out for validation where the dataset has no split of "
                        "its own (default 0.2, as training)")
    p.add_argument("--design", help="a design file or preset whose input the images are "
                                    "compared with")
    p.add_argument("--input", type=parse_shape, metavar="CxHxW",
                   help="the input shape to compare with (overrides the design's)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--write", metavar="DIR",
                   help="write a built-in dataset's images as PNG files into DIR/train/<class>/ "
                        "and DIR/val/<class>/ (an image folder to try the folder path on)")
    p.set_defaults(run=_run)
    return p
