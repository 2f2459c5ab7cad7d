"""Starting the editor: the QApplication, the main window, crash recovery, and the offscreen
`--screenshot` mode that renders the window to a PNG and exits."""

import atexit
import gc
import os
import sys

from designer.core.errors import DesignError


def _parse_edit(text):
    """'conv1.kernel=7' -> ('conv1', 'kernel', 7); see designer.core.params.parse_edit."""
    from designer.core.params import parse_edit
    return parse_edit(text)


class GuiThreadCollector:
    """Python's cyclic collector, run from a GUI-thread timer (as pyqtgraph's GarbageCollector,
    whose import costs pyqtgraph's 0.4 s before the window): automatic collection is off, and
    every `interval` seconds the generations whose counts passed their thresholds are
    collected."""

    def __init__(self, interval=1.0):
        from PySide6.QtCore import QTimer
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer()
        self.timer.timeout.connect(self.check)
        self.timer.start(int(interval * 1000))

    def check(self):
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self.threshold[generation]:
                gc.collect(generation)
                return


def collect_in_gui_thread(app):
    """Qt widgets must be destroyed in the GUI thread, but Python's cyclic collector runs in
    whichever thread happens to allocate: a worker thread once destroyed a collected QMenu and
    deadlocked on the GIL. Collect from a GUI-thread timer instead."""
    app.garbage_collector = GuiThreadCollector(interval=1.0)


def freeze_startup_heap():
    """Leave what start-up made (torch, Qt, the layer registry, the window: ~390,000 objects)
    out of every later collection: none of it becomes garbage, and a full collection that
    scanned it took 170 ms, a freeze in the middle of whatever the person was doing."""
    gc.collect()
    gc.freeze()


def run(design=None, screenshot=None, theme=None, edits=(), select=None, size=(1600, 1000)):
    if screenshot and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from designer.core.commands import SetParams
    from .window import MainWindow, grab_window

    app = QApplication.instance() or QApplication(sys.argv[:1])
    collect_in_gui_thread(app)
    app.setApplicationName("CNN Designer")
    app.setOrganizationName("cnn-designer")
    # The panels (Train, Runs, Compress, Insight, Compare, Speed, Experiments) are built just
    # after the first paint; a screenshot shows them, so it waits for them.
    window = MainWindow(theme=theme, defer_panels=not screenshot)
    if screenshot:
        window.resize(*size)
    if design:
        if not window.open_design(design, ask=False):
            return 2
    for text in edits:
        node_id, param, value = _parse_edit(text)
        graph = window.document.graph if window.document else None
        if graph is None or node_id not in graph.nodes:
            raise DesignError(f"--set {text!r}: no node {node_id!r} in the design")
        window.editor.push(SetParams(graph, node_id, **{param: value}))
    window.show()
    app.processEvents()  # let the window lay out (and its first fit run) before focusing
    if select and window.scene is not None:
        window.editor.focus_node(select)
    if screenshot:
        freeze_startup_heap()
        grab_window(window, screenshot)
        print(f"wrote {screenshot}")
        window.document and window.document.undo_stack.setClean()
        window.close()
        return 0
    # The window is painted without its panels and without torch: build them now, and load
    # torch in the background, so it is warm by the time the person asks for work that needs it
    # (that work waits for it until then).
    # torch's import starts first, so a panel built next that needs torch (Insight with the
    # weights of the design) sees it loading and waits for it instead of importing it here.
    QTimer.singleShot(0, window.warm_up_torch)
    QTimer.singleShot(0, window.build_panels)
    QTimer.singleShot(0, freeze_startup_heap)
    if not design:
        window.offer_recovery()
    code = app.exec()
    # The window has closed and saved what it must; Python's own teardown of torch, Qt and the
    # objects they hold took ~2.5 s more before the process ended. Run the exit handlers, then
    # end at once.
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
