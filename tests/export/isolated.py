"""Run Python code in a child process that can import torch but not `designer`: isolated mode,
no site processing (so the editable install's .pth is ignored), site-packages added by hand, and
the working directory a temporary folder."""

import json
import subprocess
import sys
import sysconfig

PRELUDE = (
    "import sys\n"
    f"sys.path.append({sysconfig.get_paths()['purelib']!r})\n"
    "try:\n"
    "    import designer\n"
    "except ImportError:\n"
    "    pass\n"
    "else:\n"
    "    raise SystemExit('designer is importable in the isolated child')\n"
)


def run_without_designer(code, cwd):
    """Run `code`; it prints one JSON document as its last line, which is returned."""
    done = subprocess.run([sys.executable, "-I", "-S", "-c", PRELUDE + code], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
