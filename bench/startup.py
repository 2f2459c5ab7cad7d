"""Start-up time of the editor against `import torch`, in one run.

Each figure is the median of --runs fresh processes (after one untimed run that writes the .pyc
files, as an installed app has them, and warms the disk cache), timed from the moment the parent
starts the process (so the interpreter's own start is counted) to
  window shown       the first paint of the canvas with the design drawn: `designer open lenet5`
                     offscreen, through the real start-up path (designer.cli.main), timed by an
                     application-wide event filter that sees the canvas's first Paint event
                     with the design's items in its scene;
  import torch       `import torch` alone, finished;
  import PySide6     `import PySide6.QtWidgets` alone, finished;
  designer summary   `python -m designer summary lenet5`, to the end of the process;
then the ratios window/import-torch and summary/import-torch (targets: ≤ 0.5 each).

    python bench/startup.py [--runs 3] [--design lenet5]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

TARGET = 0.5

# The time (time.time(), comparable with the parent's) of the canvas's first paint with the
# design drawn, printed as "PAINTED <t>"; the process then ends at once.
WINDOW_CHILD = """
import os, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QGraphicsView

class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Paint:
            view = watched.parent()
            if isinstance(view, QGraphicsView) and view.scene() is not None \\
                    and len(view.scene().items()) > 1:
                painted = time.time()
                QTimer.singleShot(0, lambda: (print("PAINTED", painted, flush=True),
                                              os._exit(0)))
        return False

app = QApplication(sys.argv[:1])
first_paint = FirstPaint()
app.installEventFilter(first_paint)
from designer.cli import main
main(["open", sys.argv[1]])
print("the canvas was never painted", file=sys.stderr)
sys.exit(1)
"""

IMPORT_CHILD = "import time\nimport {module}\nprint('PAINTED', time.time(), flush=True)\n"


def timed(args, env, marker=True):
    """Seconds from starting `args` to its "PAINTED <t>" line (marker) or to its end."""
    start = time.time()
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    end = time.time()
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])}… failed:\n{result.stderr[-2000:]}")
    if not marker:
        return end - start
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("PAINTED"))
    return float(line.split()[1]) - start


def median(runs, args, env, marker=True):
    timed(args, env, marker)   # untimed: warms the disk cache and writes the .pyc files
    return statistics.median(timed(args, env, marker) for _ in range(runs))


def verdict(ratio):
    return "met" if ratio <= TARGET else "NOT met"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--design", default="lenet5")
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    home = tempfile.mkdtemp(prefix="startup-bench-")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CNN_DESIGNER_HOME=home,
               PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    # As an installed app runs: from .pyc files, not compiling its sources at every start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    py = sys.executable
    figures = {
        "window shown": median(args.runs, [py, "-c", WINDOW_CHILD, args.design], env),
        "import torch": median(args.runs, [py, "-c", IMPORT_CHILD.format(module="torch")], env),
        "import PySide6.QtWidgets": median(
            args.runs, [py, "-c", IMPORT_CHILD.format(module="PySide6.QtWidgets")], env),
        f"designer summary {args.design}": median(
            args.runs, [py, "-m", "designer", "summary", args.design], env, marker=False),
    }
    print(f"start-up, median of {args.runs} fresh processes (seconds from process start)")
    for name, seconds in figures.items():
        print(f"  {name:<28} {seconds:7.3f} s")
    torch = figures["import torch"]
    window = figures["window shown"] / torch
    summary = figures[f"designer summary {args.design}"] / torch
    for name, ratio in (("window/import-torch", window), ("summary/import-torch", summary)):
        print(f"  {name:<28} {ratio:7.2f}   (target ≤ {TARGET}: {verdict(ratio)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
