"""The `designer export` verb: write a design or preset as TorchScript, a torch.export program,
ONNX, PyTorch source or a state_dict, optionally with weights loaded first."""

FORMAT_CHOICES = ("torchscript", "torch_export", "onnx", "python", "state_dict")


def _run(args):
    # torch is imported here, not at module import, so `designer --help` stays quick.
    from designer.arguments import load_for_cli
    from designer.export.exporter import export_design
    graph = load_for_cli(args.design)
    result = export_design(graph, args.format, args.output, weights=args.weights,
                           input_shape=args.input)
    print(result)
    return 0

def add_parser(subparsers):
    from designer.arguments import parse_shape
    p = subparsers.add_parser(
        "export", help="export a design to TorchScript, torch.export, ONNX, PyTorch source or weights",
        description="Export a design for deployment. The model is compiled for inference: eval "
                    "mode, auxiliary heads dropped.")
    p.add_argument("design", help="a design file (.json) or a preset name")
    p.add_argument("--format", "-f", required=True, choices=FORMAT_CHOICES,
                   help="torchscript (.pt), torch_export (.pt2), onnx (.onnx, dynamic batch), "
                        "python (a standalone .py file) or state_dict (.pth)")
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="the file to write")
    p.add_argument("--weights", metavar="CHECKPOINT",
                   help="load these weights first (a state_dict or a training checkpoint)")
    p.add_argument("--input", type=parse_shape, metavar="CxHxW",
                   help="override the design's input shape (e.g. 3x224x224)")
    p.set_defaults(run=_run)
