"""File ▸ Export…: choose a format, an output file, optional weights and (for ONNX and torch.export)
the input size, then export the current design through `designer.export.exporter`.

The Weights field starts with the document's current weights (the run just trained, or the
weights the design was saved with); Browse… starts in the runs folder. Weights that fit only some
nodes (the design was edited since) export with the nodes they fit: the dialog first names the
nodes that would be exported untrained, and exports on a second press.

The dialog never raises: a design with errors, an unwritable path or weights that do not fit
appear as a red sentence in the dialog, and a successful export shows what was written (including
whether TorchScript was scripted or had to be traced).
"""

import argparse
import logging
import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QApplication, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QLabel, QLineEdit, QVBoxLayout)

from designer.core.errors import DesignError
from designer.core.registry import Role
from designer.home import runs_root

from .widgets import browse_row

log = logging.getLogger(__name__)

# (format key, menu title, file suffix, file dialog filter); the keys are the engine's formats.
FORMATS = (
    ("torchscript", "TorchScript (.pt)", ".pt", "TorchScript (*.pt)"),
    ("torch_export", "torch.export program (.pt2)", ".pt2", "torch.export (*.pt2)"),
    ("onnx", "ONNX, dynamic batch (.onnx)", ".onnx", "ONNX (*.onnx)"),
    ("python", "PyTorch source (.py)", ".py", "Python (*.py)"),
    ("state_dict", "Weights only: state_dict (.pth)", ".pth", "state_dict (*.pth *.pt)"),
)
NEEDS_INPUT_SIZE = {"onnx", "torch_export"}
ERROR_STYLE = "color: #d33f3f;"


def _slug(name):
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower() or "model"


class ExportDialog(QDialog):
    """`ExportDialog(get_graph, parent, design_path, weights)`: `get_graph()` returns the design
    to export when Export is pressed, so the dialog always exports the current state of the
    editor; the output path starts beside `design_path` (the saved design file) with its name,
    the Weights field with `weights` (the document's current weights)."""

    def __init__(self, get_graph, parent=None, design_path=None, weights=None):
        super().__init__(parent)
        # The export goes beside the saved design under its name; an unsaved design's to home.
        self.design_path = Path(design_path) if design_path else None
        self.setWindowTitle("Export")
        self.setMinimumWidth(560)
        self._get_graph = get_graph
        self.last_result = None
        self.untrained_accepted = None   # what was exported untrained-in-part after a warning

        self.format_box = QComboBox()
        for key, title, _, _ in FORMATS:
            self.format_box.addItem(title, key)
        self.path_edit = QLineEdit()
        self.weights_edit = QLineEdit()
        self.weights_edit.setPlaceholderText("optional: a state_dict or training checkpoint")
        self.weights_edit.setText(str(weights) if weights else "")
        self.input_edit = QLineEdit()
        self.input_edit.setPlaceholderText("C×H×W, e.g. 3x224x224")
        self.input_edit.setToolTip("The input size written into ONNX and torch.export files; "
                                   "the batch dimension stays dynamic.")

        form = QFormLayout()
        form.addRow("Format", self.format_box)
        form.addRow("Save to", browse_row(self.path_edit, self._browse_output))
        form.addRow("Weights", browse_row(self.weights_edit, self._browse_weights))
        self.input_label = QLabel("Input size")
        form.addRow(self.input_label, self.input_edit)

        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.result_label.setMinimumHeight(48)
        self.result_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)

        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.AcceptRole)
        self.export_button.setDefault(True)
        # Export keeps the dialog open so the result line can be read (nothing handles accepted).
        self.export_button.clicked.connect(self.export)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.result_label)
        layout.addWidget(buttons)

        self._fill_defaults()
        self.format_box.currentIndexChanged.connect(self._format_changed)
        self._format_changed()

    # ---- state ------------------------------------------------------------------------------
    def _fill_defaults(self):
        try:
            graph = self._get_graph()
        except Exception:  # the dialog must open even if the editor has nothing loaded
            log.warning("no design to suggest an export name from", exc_info=True)
            graph = None
        if self.design_path is not None:
            folder, name = self.design_path.parent, self.design_path.stem
        else:
            folder, name = Path.home(), _slug(graph.name) if graph is not None else "model"
        self.path_edit.setText(str(folder / f"{name}{self.suffix()}"))
        inputs = graph.nodes_of_role(Role.INPUT) if graph is not None else []
        if inputs:
            self.input_edit.setText("x".join(map(str, inputs[0].params["shape"])))

    def format(self):
        return self.format_box.currentData()

    def suffix(self):
        return FORMATS[self.format_box.currentIndex()][2]

    def _format_changed(self):
        fmt = self.format()
        needs_size = fmt in NEEDS_INPUT_SIZE
        self.input_edit.setEnabled(needs_size)
        self.input_label.setEnabled(needs_size)
        text = self.path_edit.text().strip()
        if text:
            path = Path(text)
            if path.suffix in {s for _, _, s, _ in FORMATS} and path.suffix != self.suffix():
                self.path_edit.setText(str(path.with_suffix(self.suffix())))

    def _browse_output(self):
        row = FORMATS[self.format_box.currentIndex()]
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path_edit.text(), row[3])
        if path:
            if not Path(path).suffix:
                path += row[2]
            self.path_edit.setText(path)

    def _browse_weights(self):
        start = self.weights_edit.text().strip() or str(runs_root())
        path, _ = QFileDialog.getOpenFileName(self, "Weights to load", start,
                                              "PyTorch weights (*.pth *.pt *.ckpt);;All files (*)")
        if path:
            self.weights_edit.setText(path)

    def show_message(self, text, error=False):
        self.result_label.setStyleSheet(ERROR_STYLE if error else "")
        self.result_label.setText(text)

    # ---- export -----------------------------------------------------------------------------
    def export(self):
        """Export with the current choices; the ExportResult, or None after showing the error
        (or, the first time, the nodes the weights would leave untrained)."""
        self.last_result = None
        path = self.path_edit.text().strip()
        if not path:
            self.show_message("Choose a file to write.", error=True)
            return None
        input_shape = None
        if self.format() in NEEDS_INPUT_SIZE and self.input_edit.text().strip():
            from designer.arguments import parse_shape
            try:
                input_shape = parse_shape(self.input_edit.text().strip())
            except argparse.ArgumentTypeError as error:
                self.show_message(f"Input size {error}", error=True)
                return None
        weights = self.weights_edit.text().strip() or None

        self.show_message("Exporting…")
        QApplication.setOverrideCursor(Qt.WaitCursor)
        QApplication.processEvents()
        try:
            from designer.export.exporter import export_design
            from designer.weights import read_state_dict
            graph = self._get_graph()
            state = read_state_dict(Path(weights).expanduser()) if weights else None
            if state is not None and self._warned_untrained(graph, state, weights, input_shape):
                return None
            result = export_design(graph, self.format(), Path(path).expanduser(),
                                   weights=state, input_shape=input_shape, partial=True)
        except DesignError as error:
            self.show_message(str(error), error=True)
            return None
        except Exception as error:  # an unexpected failure is still shown, never raised
            log.exception("export failed")
            self.show_message(f"Export failed: {type(error).__name__}: {error}", error=True)
            return None
        finally:
            QApplication.restoreOverrideCursor()
        text = str(result)
        self.show_message(text[:1].upper() + text[1:] + ".")
        self.last_result = result
        return result

    def _warned_untrained(self, graph, state, weights, input_shape):
        """True after naming the nodes these weights do not fit (the design was edited since
        they were trained), the first time: Export again with the same choices exports those
        nodes untrained and the rest with their weights."""
        from designer.export.exporter import weights_fit
        report = weights_fit(graph, state, input_shape)
        choices = (weights, input_shape, graph.version)
        if report.complete or not report.loaded or self.untrained_accepted == choices:
            return False   # all fit, or none (the export refuses them with its own sentence)
        self.untrained_accepted = choices
        self.show_message(f"The weights fit this design only in part: "
                          f"{report.untrained_sentence(graph.nodes)}, so those would be exported "
                          f"untrained. Press Export again to export with the weights that fit.",
                          error=True)
        return True
