"""The speed engine is Qt-free, like the other engines."""

import subprocess
import sys


def test_speed_engine_does_not_import_qt():
    code = ("import sys\n"
            "import designer.speed.profile, designer.speed.mac, designer.speed.hints\n"
            "import designer.speed.sweep, designer.speed.plot, designer.speed.cli\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)
