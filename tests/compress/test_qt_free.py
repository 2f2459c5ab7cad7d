"""The compression engine is Qt-free, like the other engines, and registering the compress verbs
(`designer --help`) does not import torch."""

import subprocess
import sys


def test_compress_verbs_skip_torch_and_the_engine_skips_qt():
    code = ("import sys, argparse\n"
            "import designer.compress.cli as cli\n"
            "parser = argparse.ArgumentParser(); cli.add_parser(parser.add_subparsers())\n"
            "assert 'torch' not in sys.modules, 'torch imported at parser time'\n"
            "import designer.compress.prune, designer.compress.quantize, designer.compress.jobs\n"
            "import designer.compress.factorize, designer.compress.distill\n"
            "import designer.compress.deep_compression, designer.compress.substitute\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)
