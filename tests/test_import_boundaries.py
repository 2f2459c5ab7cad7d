"""The engines are Qt-free: importing them must not pull in PySide6 or pyqtgraph."""

import subprocess
import sys


def test_core_train_export_do_not_import_qt():
    code = ("import sys, importlib\n"
            "for name in ('designer.core.graph', 'designer.core.infer', 'designer.core.compile',"
            " 'designer.core.fileformat', 'designer.cli', 'designer.train', 'designer.export'):\n"
            "    try:\n"
            "        importlib.import_module(name)\n"
            "    except ModuleNotFoundError as e:\n"
            "        if not name.startswith(e.name): raise\n"
            "from designer.core.registry import REGISTRY; REGISTRY.specs()\n"
            "from designer.cli import build_parser; build_parser()\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)
