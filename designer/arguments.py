"""What every verb's arguments share: the `--input` shape and the design (a file or a preset name).

A leaf beside the core (it imports `designer.core` only), so an engine's verb module can use it
without importing `designer.cli`, the top of the command line that imports every verb.
"""

import argparse


def parse_shape(text):
    try:
        dims = tuple(int(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected C×H×W such as 3x224x224") from None
    if not 1 <= len(dims) <= 3:
        raise argparse.ArgumentTypeError(f"{text!r}: expected C×H×W such as 3x224x224")
    if min(dims) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every size must be at least 1, not {min(dims)}")
    return dims


def load_for_cli(file_or_preset, input_shape=None):
    """Load a design and optionally set its input shape; DesignFileError for unreadable files."""
    from designer.core.presets import load_design
    graph = load_design(file_or_preset)
    if input_shape is not None:
        from designer.core.registry import Role
        inputs = graph.nodes_of_role(Role.INPUT)
        if inputs:
            graph.set_params(inputs[0].id, shape=input_shape)
    return graph
