"""Export engines (Qt-free): a design leaves the app as TorchScript, a torch.export program (.pt2),
ONNX, a standalone PyTorch source file or a state_dict.

`designer.export.exporter.export_design` is the one entry point the CLI and the dialog call; the
format engines live in `torchscript`, `onnx`, `python_source`. Trained or third-party weights come
in through `designer.weights`, which training, compression and insight share.
Importing this package costs nothing: torch is imported by the engine modules themselves.
"""
