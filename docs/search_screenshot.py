"""Grab the Experiments panel showing a structure search (run under xvfb-run):

    python docs/search_screenshot.py SEARCH_RESULT.json OUT.png

SEARCH_RESULT.json is what bench/search_digits.py writes (search_result.json in its folder)."""

import json
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication


def main(result_path, out):
    from designer.ui.window import MainWindow
    app = QApplication.instance() or QApplication([])
    result = json.loads(open(result_path, encoding="utf-8").read())
    window = MainWindow()
    window.resize(1500, 1250)
    window.show()
    window.open_design("reactor_digits")
    window.build_panels()
    dock = next(d for d in window.panel_docks if d.objectName() == "experiments")
    dock.show()
    dock.raise_()
    panel = window.panels["experiments"]
    panel.editors["objective"].set_value(result["objectives"])
    panel.editors["constraint"].set_value(result["constraints"])
    panel.editors["space"].set_value("design")
    for record in result["trials"]:
        panel.add_trial(record)
    panel.cost_box.setCurrentIndex(panel.cost_box.findData("latency"))
    panel.y_box.setCurrentIndex(panel.y_box.findData("error"))
    from PySide6.QtWidgets import QSplitter
    for _ in range(20):
        app.processEvents()
    window.resizeDocks([dock], [640], Qt.Vertical)
    plot_and_table = next(s for s in panel.findChildren(QSplitter)
                          if s.orientation() == Qt.Vertical)
    plot_and_table.setSizes([380, 260])     # room for the plot over the table
    for _ in range(20):
        app.processEvents()
    window.grab().save(out)
    if window.document is not None:
        window.document.undo_stack.setClean()
    window.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
