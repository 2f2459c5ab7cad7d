"""File ▸ Import…: a torchvision or timm model chosen from a searchable list (with parameter
counts), an ONNX file, or a model class in a Python file, imported as a design with its weights.

The import is `designer import`'s (designer.interop.files.import_steps): it runs in a `Job`, its
stages show in the status line, Stop ends it between stages (nothing is written unless it
finishes), and a model the catalogue cannot hold is one sentence naming each operation and where
it occurs. The result is written to its own folder under the user data folder (the design and its
weights beside it), laid out in columns for the canvas as presets are, and `imported(path)` asks
the window to open it: the weights beside a design become its current weights.
"""

import re
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QTabWidget, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from designer.core.errors import DesignError
from designer.core.params import Param
from designer.core.settings import Settings
from designer.core.summary import human
from designer.home import app_home
from .forms import SettingsForm
from .jobs import Job

SOURCE_SETTINGS = Settings([
    Param("onnx_file", "path", None, optional=True, title="ONNX file", none_text="choose a file",
          pattern="ONNX models (*.onnx)", help="A model exported to ONNX"),
    Param("python_file", "path", None, optional=True, title="Python file",
          none_text="choose a file", pattern="Python files (*.py)",
          help="A Python file that defines the model (it is run: choose only your own code)"),
    Param("python_name", "str", None, optional=True, title="Class or factory",
          none_text="e.g. Net", help="The nn.Module class or the function returning the model"),
])
IMPORT_SETTINGS = Settings([
    Param("input", "shape", None, optional=True, title="Input", min=1, min_length=3,
          max_length=3, none_text="the model's own, e.g. 3×224×224",
          help="The input shape to trace with (C×H×W); empty: the model's own, else 3×224×224"),
    Param("pretrained", "bool", False, title="Pretrained weights",
          help="torchvision and timm: start from their published weights, read from "
               "PyTorch's hub cache (never downloaded)"),
])
LIBRARY, NAME, PARAMS = 0, 1, 2


def _natural(text):
    """resnet18 before resnet101: digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text.lower())]


class _ModelRow(QTreeWidgetItem):
    """A row that sorts as a person reads it: torchvision's models first, names in natural
    order, parameter counts as numbers (a model not counted yet last)."""

    def __lt__(self, other):
        column = self.treeWidget().sortColumn() if self.treeWidget() else LIBRARY
        return self._key(column) < other._key(column)

    def _key(self, column):
        library, name = self.text(LIBRARY), _natural(self.text(NAME))
        if column == PARAMS:
            count = self.data(PARAMS, Qt.UserRole)
            return (count is None, count or 0, name)
        if column == NAME:
            return (name, library)
        return (library != "torchvision", library, name)


class ImportDialog(QDialog):
    imported = Signal(str)     # the design file written

    def __init__(self, aspect=1.6, out_root=None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Import a model")
        self.aspect = aspect               # the canvas's width / height, for the layout
        self.out_root = out_root or app_home() / "imported"
        self.job = None
        self.stopping = False
        self.counting = None               # the job counting the chosen timm model's parameters
        self.resize(720, 560)

        self.search = QLineEdit(placeholderText="Search torchvision and timm models…")
        self.search.textChanged.connect(self._filter)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Library", "Model", "Parameters"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSortingEnabled(True)
        self.tree.headerItem().setTextAlignment(PARAMS, Qt.AlignRight | Qt.AlignVCenter)
        self.tree.currentItemChanged.connect(self._chosen)
        self.tree.itemDoubleClicked.connect(lambda *_: self.start())
        zoo = QWidget()
        column = QVBoxLayout(zoo)
        column.addWidget(self.search)
        column.addWidget(self.tree, 1)
        self.sources = SettingsForm(SOURCE_SETTINGS)
        self.tabs = QTabWidget()
        self.tabs.addTab(zoo, "Model zoo")
        self.tabs.addTab(self.sources, "File")
        self.settings = SettingsForm(IMPORT_SETTINGS)

        self.progress = QProgressBar(textVisible=False, maximumHeight=8)
        self.progress.setRange(0, 1)
        self.status = QLabel("Listing the models…")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.import_button = QPushButton("Import")
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop", enabled=False)
        self.stop_button.clicked.connect(self.stop)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        buttons.addButton(self.import_button, QDialogButtonBox.ActionRole)
        buttons.addButton(self.stop_button, QDialogButtonBox.ActionRole)

        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.settings)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self._list_models()

    # -- the model zoo ---------------------------------------------------------------------------
    def _list_models(self):
        from designer.interop.zoo import zoo_models
        self.lister = Job(parent=self)
        self.lister.returned.connect(self._show_models)
        self.lister.errored.connect(self.status.setText)
        self.lister.start(zoo_models)

    def _show_models(self, models):
        self.tree.setSortingEnabled(False)
        for model in models:
            library, _, name = model.source.partition(":")
            item = _ModelRow([library, name, _count(model.params)])
            item.setData(NAME, Qt.UserRole, model.source)
            item.setData(PARAMS, Qt.UserRole, model.params)
            item.setTextAlignment(PARAMS, Qt.AlignRight | Qt.AlignVCenter)
            self.tree.addTopLevelItem(item)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(LIBRARY, Qt.AscendingOrder)   # torchvision's first
        for column in range(3):
            self.tree.resizeColumnToContents(column)
        self.status.setText(f"{len(models):,} models; type to search, or choose a file.")
        self._filter(self.search.text())

    def _filter(self, text):
        words = text.lower().split()
        for index in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(index)
            haystack = f"{item.text(LIBRARY)} {item.text(NAME)}".lower()
            item.setHidden(not all(word in haystack for word in words))

    def _chosen(self, item, _previous=None):
        """A model without a count (timm's) is counted on the meta device when chosen."""
        if item is None or item.data(PARAMS, Qt.UserRole) is not None or self.counting:
            return
        from designer.interop.zoo import parameter_count
        source = item.data(NAME, Qt.UserRole)
        self.counting = Job(parent=self)
        self.counting.returned.connect(lambda count: self._counted(source, count))
        self.counting.finished.connect(self._count_done)
        self.counting.start(parameter_count, source)

    def _counted(self, source, count):
        for index in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(index)
            if item.data(NAME, Qt.UserRole) == source:
                item.setData(PARAMS, Qt.UserRole, count)
                item.setText(PARAMS, _count(count))

    def _count_done(self):
        self.counting = None
        self._chosen(self.tree.currentItem())    # the person may have moved on meanwhile

    # -- importing -------------------------------------------------------------------------------
    def source(self):
        """What to import, as `designer import` takes it, or None with the reason shown."""
        if self.tabs.currentIndex() == 0:
            item = self.tree.currentItem()
            chosen = item is not None and not item.isHidden()
            return item.data(NAME, Qt.UserRole) if chosen else None
        values = self.sources.values()
        if values["onnx_file"]:
            return values["onnx_file"]
        if values["python_file"] and values["python_name"]:
            return f"module:{values['python_file']}:{values['python_name'].strip()}"
        return None

    @property
    def is_running(self):
        return self.job is not None

    def start(self):
        from designer.interop.files import import_steps
        source = self.source()
        if self.is_running:
            return False
        if source is None:
            return self._fail("Choose a model in the list, an ONNX file, or a Python file and "
                              "the class or function that makes the model.")
        try:
            settings = IMPORT_SETTINGS.check(self.settings.values())
        except DesignError as error:
            return self._fail(str(error))
        name = source.replace("\\", "/").split("/")[-1].split(":")[-1].removesuffix(".onnx")
        folder = self.out_root / f"{name}_{time.strftime('%Y%m%d-%H%M%S')}"
        self.output = folder / f"{name}.json"
        folder.mkdir(parents=True)
        self.job = Job(parent=self)
        self.job.yielded.connect(self.status.setText)
        self.job.returned.connect(self._done)
        self.job.errored.connect(self._fail)
        self.job.finished.connect(self._idle)
        self.status.setStyleSheet("")
        self.progress.setRange(0, 0)
        self.import_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.job.start(import_steps, source, self.output, settings.input, settings.pretrained,
                       self.aspect)
        return True

    def stop(self):
        if self.job is not None:
            self.job.stop()
            self.stopping = True
            self.status.setText("Stopping after this stage…")

    def _done(self, result):
        self.status.setText(f"Imported {len(result.graph.nodes)} nodes and "
                            f"{len(result.state_dict)} tensors into {self.output}")
        self.imported.emit(str(self.output))
        self.accept()

    def _fail(self, sentence):
        self.status.setStyleSheet("color: #d33f3f;")
        self.status.setText(sentence)
        return False

    def _idle(self):
        if self.stopping:
            self.status.setText("Stopped; nothing was written.")
        if not self.output.exists():       # stopped or failed: its folder goes too
            try:
                self.output.parent.rmdir()
            except OSError:
                pass
        self.job, self.stopping = None, False
        self.progress.setRange(0, 1)
        self.import_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def done(self, code):
        """Closing waits for the running jobs: a Job's thread must end before it is destroyed."""
        for job in (self.job, self.counting, self.lister):
            if job is not None:
                job.stop()
                job.wait()
        super().done(code)


def _count(params):
    return "" if params is None else human(params).replace(".00", "")
