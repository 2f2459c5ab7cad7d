"""The Qt-free training engine: settings (`config`), datasets fitted to a design (`data`), the
loop as a generator of metric events with checkpoints and DDP (`loop`), and the `train` verb
(`cli`). Import the submodules directly; this package imports nothing heavy so the CLI starts fast.
"""
