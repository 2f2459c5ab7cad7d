"""The window opens before PyTorch: building it with a preset open and painting it imports neither
torch nor torchvision (nor pyqtgraph: the app builds the panels just after the first paint); they
load afterwards, torch in the background (designer/ui/warmup.py), and a job started meanwhile
waits for it with "loading PyTorch…" in the status bar."""

import os
import subprocess
import sys

OPEN_PAINT_THEN_WARM_UP = """
import sys
from PySide6.QtWidgets import QApplication
from designer.ui.window import MainWindow
from designer.ui import warmup
from designer.ui.jobs import Job

app = QApplication([])
window = MainWindow(defer_panels=True)
assert window.open_design("lenet5", ask=False)
window.show()
app.processEvents()
window.grab()                      # paints every widget, the canvas with the design among them
assert len(window.scene.items()) > 10
heavy = [m for m in ("torch", "torchvision", "pyqtgraph") if m in sys.modules]
assert not heavy, f"imported while the window was built and painted: {heavy}"
assert window.panels == {}

window.build_panels()              # what the app does next: the panels, up to date
assert set(window.panels) >= {"train", "insight", "compress", "speed"}, set(window.panels)
assert window.panels["insight"].graph is window.document.graph
assert "torch" not in sys.modules

def needs_torch():
    import torch
    return torch.ones(2).sum().item()

window.warm_up_torch()
job = Job(parent=window)
results = []
job.returned.connect(results.append)
job.start(needs_torch)
assert window.statusBar().currentMessage() == warmup.LOADING_MESSAGE, \\
    window.statusBar().currentMessage()
assert job.wait(120_000)
warmup.wait(120)
app.processEvents()
assert results == [2.0], results
assert "torchvision" in sys.modules
assert window.statusBar().currentMessage() == "", window.statusBar().currentMessage()
window.document.undo_stack.setClean()
print("ok")
"""


def test_window_is_built_and_painted_without_torch_which_then_loads_in_the_background(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CNN_DESIGNER_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", OPEN_PAINT_THEN_WARM_UP], capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]


OPEN_WITH_WEIGHTS_THEN_PROFILE = """
import sys, time
from pathlib import Path
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from designer.ui.window import MainWindow
from designer.ui import warmup

app = QApplication([])
window = MainWindow(defer_panels=True)
assert window.open_design(sys.argv[1], ask=False)
window.show()
app.processEvents()
window.grab()
assert window.document.current_weights == Path(sys.argv[2]), window.document.current_weights
assert "torch" not in sys.modules, "opening a design with weights beside it imported torch"
window.warm_up_torch()             # as the app does after the first paint: torch, then panels
window.build_panels()
insight = window.panels["insight"]
assert insight.subject is None and insight.status.text() == warmup.LOADING_MESSAGE
panel = window.panels["speed"]
panel.form.set_values({"repeats": 2, "warmup": 1})
QTest.mouseClick(panel.profile_button, Qt.LeftButton)
# Had the click imported the engine, it would have waited for the whole import of torch.
assert warmup.waiting(), "the Profile click waited for PyTorch's import"
assert panel.summary.text() == warmup.LOADING_MESSAGE, panel.summary.text()
deadline = time.monotonic() + 240
while panel.is_running and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.02)
assert panel.report is not None, panel.summary.text()
assert "ms forward" in panel.summary.text(), panel.summary.text()
warmup.wait(120)
app.processEvents()                # the loaded signal: Insight loads the weights now
assert insight.subject is not None, insight.status.text()
print("ok")
"""


def test_a_design_with_weights_opens_and_profile_waits_for_torch_without_freezing(tmp_path):
    """The weights beside a design are found without torch, and the Speed panel's Profile button
    clicked while torch still loads says "loading PyTorch…" and profiles once it has loaded."""
    import torch
    from designer.core import fileformat
    from designer.core.compile import compile_graph
    from designer.core.presets import load_design
    graph = load_design("reactor_digits")
    fileformat.save(graph, tmp_path / "design.json")
    torch.save(compile_graph(graph).state_dict(), tmp_path / "design.pt")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CNN_DESIGNER_HOME=str(tmp_path / "home"))
    result = subprocess.run([sys.executable, "-c", OPEN_WITH_WEIGHTS_THEN_PROFILE,
                             str(tmp_path / "design.json"), str(tmp_path / "design.pt")],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]
