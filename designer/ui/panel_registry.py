"""Dock panels that plug into the main window, and the one place a new panel registers: `PANELS`.

A panel is a QWidget class called as `PanelClass(context)`. The `PanelContext` is all a panel sees
of the editor: the open document (its graph, live analysis, undo stack and current weights), the
selected node ids, the theme, the requests a panel makes (select nodes, show a status-bar message,
open a design file, make a file the current weights, plot runs' curves) and one the editor makes
(compare the open design with another). A panel never imports or reaches into the main window,
and the window never reaches into a panel: both speak through the context, so a panel can be
built and tested on its own with a bare `PanelContext()`. A panel's Weights field follows the
current weights through a `WeightsField`; a form's Dataset and Data folder rows follow the
document's one data choice through a `DataField`.

Adding a panel is one module plus one line in `PANELS`. For example, a panel that shows the
parameter count of the selected layers:

    # designer/ui/selection_panel.py
    from PySide6.QtWidgets import QLabel

    class SelectionPanel(QLabel):
        def __init__(self, context, parent=None):
            super().__init__(parent)
            self.context = context
            context.selection_changed.connect(self.show_selection)

        def show_selection(self, node_ids):
            results = self.context.document.analyzer.results
            total = sum(results[n].params for n in node_ids if n in results)
            self.setText(f"{len(node_ids)} selected · {total:,} parameters")

    # and in PANELS below:
    Panel("Selection", "selection", "designer.ui.selection_panel:SelectionPanel"),

The window makes one dock per entry, in order, tabbed with the Summary and Issues docks at the
bottom (or on the side named by `area`), and lists it in the View menu. Long work runs in a
`designer.ui.jobs.Job`. Optional methods a panel may define: `close_question()` -> (title, text) to
ask before the window closes while the panel has work running (None when idle); `shutdown()`,
called once when the window closes (stop its jobs); `save_state()` -> a JSON-able value and
`restore_state(value)`, what the window keeps of the panel between sessions, with a
`state_changed` signal emitted when that value changes (the window saves it a moment later, not
only when it closes).
"""

import importlib
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal, Slot

from designer.data.choice import CHOICE_SETTINGS, DataChoice


@dataclass(frozen=True)
class Panel:
    title: str            # dock title and View-menu entry
    name: str             # object name: Qt saves the dock's place under it; `window.panels[name]`
    widget: str           # "module:Class", imported when the window is built
    area: str = "bottom"  # "bottom", "left" or "right"

    def create(self, context):
        module, _, cls = self.widget.partition(":")
        return getattr(importlib.import_module(module), cls)(context)


PANELS = (
    Panel("Data", "data", "designer.ui.data_panel:DataPanel"),
    Panel("Train", "train", "designer.ui.train_panel:TrainPanel"),
    Panel("Runs", "runs", "designer.ui.runs_panel:RunsPanel"),
    Panel("Compress", "compress", "designer.ui.compress_panel:CompressPanel"),
    Panel("Deploy", "deploy", "designer.ui.deploy_panel:DeployPanel"),
    Panel("Insight", "insight", "designer.ui.insight.panel:InsightPanel"),
    Panel("Compare", "compare", "designer.ui.compare_panel:ComparePanel", area="right"),
    Panel("Speed", "speed", "designer.ui.speed_panel:SpeedPanel"),
    Panel("Experiments", "experiments", "designer.ui.experiments_panel:ExperimentsPanel"),
)


class PanelContext(QObject):
    """What a panel may see and ask of the editor. The window keeps it current; tests may drive a
    bare one with `set_document` and `set_selection`."""

    document_changed = Signal(object)   # the new Document, or None
    selection_changed = Signal(list)    # node ids selected in the document's graph
    select_requested = Signal(list)     # a panel asks the editor to select and show these nodes
    message_requested = Signal(str)     # a panel asks for a status-bar message
    open_requested = Signal(str)        # a panel asks the editor to open this design file
    compare_requested = Signal(str)     # the editor asks to compare the open design with this
    theme_changed = Signal(object)      # the editor's new `theme.Theme`
    weights_changed = Signal(object)    # the current weights (a Path or None): changed, or a
                                        # new document (after `document_changed`)
    runs_plot_requested = Signal(list)  # a panel asks for these run folders' curves (the Train
                                        # panel plots them, the others hidden)
    data_changed = Signal(object)       # the document's data choice (a DataChoice, or None
                                        # before one is made): changed, or a new document

    def __init__(self, parent=None):
        super().__init__(parent)
        self.document = None
        self.selection = []
        self.theme = None                # None until the window sets one: a panel draws light
        # The data chosen last (the window keeps it between sessions): a new document starts
        # with it, so the dataset is chosen once, not once per design or per session.
        self.last_data_choice = None

    @property
    def graph(self):
        """The open design's graph, or None when no design is open."""
        return self.document.graph if self.document is not None else None

    @property
    def current_weights(self):
        """The open document's current weights (a Path), or None: what Export, Compress and
        Insight start from."""
        return self.document.current_weights if self.document is not None else None

    def set_current_weights(self, path):
        """Make `path` (a weights file, or None) the open document's current weights."""
        if self.document is not None:
            self.document.set_current_weights(path)

    @property
    def data_choice(self):
        """The open document's dataset (a `DataChoice`), or None until one is chosen."""
        return self.document.data_choice if self.document is not None else None

    def set_data_choice(self, choice):
        """Make `choice` the dataset the open document trains on (every panel follows)."""
        if self.document is not None:
            self.document.set_data_choice(choice)

    def select(self, node_ids):
        self.select_requested.emit(list(node_ids))

    def show_message(self, text):
        self.message_requested.emit(text)

    def open_design(self, path):
        """Ask the editor to open this design file (it asks to save unsaved changes first)."""
        self.open_requested.emit(str(path))

    def plot_runs(self, folders):
        """Ask for the curves of these run folders to be plotted together (the Runs panel's
        ticks; the Train panel answers, over the union of their epochs)."""
        self.runs_plot_requested.emit([str(folder) for folder in folders])

    def compare_with(self, file_or_preset):
        """Ask for the open design to be compared with a design file or preset (File ▸ Compare
        With…; the Compare panel answers)."""
        self.compare_requested.emit(str(file_or_preset))

    # -- kept current by the window ---------------------------------------------------------
    def set_document(self, document):
        previous = self.data_choice or self.last_data_choice
        self.document = document
        self.selection = []
        if document is not None:
            if document.data_choice is None:   # a new document trains on the data chosen last
                document.data_choice = previous
            document.weights_changed.connect(self._document_weights_changed, Qt.UniqueConnection)
            document.data_changed.connect(self._document_data_changed, Qt.UniqueConnection)
        self.document_changed.emit(document)
        self.weights_changed.emit(self.current_weights)
        self.data_changed.emit(self.data_choice)

    @Slot(object)
    def _document_weights_changed(self, path):
        if self.sender() is self.document:   # not a document this context has let go of
            self.weights_changed.emit(path)

    @Slot(object)
    def _document_data_changed(self, choice):
        if self.sender() is self.document:
            if choice is not None:
                self.last_data_choice = choice
            self.data_changed.emit(choice)

    def set_selection(self, node_ids):
        self.selection = list(node_ids)
        self.selection_changed.emit(self.selection)

    def set_theme(self, theme):
        self.theme = theme
        self.theme_changed.emit(theme)


class WeightsField:
    """Keeps a panel's Weights field on the context's current weights: the field takes them each
    time they change, unless the person has typed another path into it for the open design (a
    newly opened design's weights always replace it). `read()` gives the field's text and
    `write(text)` fills it; the panel calls `follow()` on `context.weights_changed`, which says
    whether the field was filled."""

    def __init__(self, context, read, write):
        self.context, self.read, self.write = context, read, write
        self.document = None
        self.filled = ""      # what this last wrote: text other than it was typed

    def follow(self):
        typed = self.read().strip() not in ("", self.filled)
        if typed and self.context.document is self.document:
            return False
        path = self.context.current_weights
        self.document, self.filled = self.context.document, "" if path is None else str(path)
        self.write(self.filled)
        return True


class DataField:
    """Keeps a settings form's data rows (dataset, data folder, validation share, augmentation:
    those it has) on the document's data choice, both ways: the rows show the choice each time
    it changes, and editing one of them makes the form's data the choice, which every other
    panel then shows."""

    def __init__(self, context, form):
        self.context, self.form = context, form
        self.names = [name for name in CHOICE_SETTINGS if name in form.editors]
        form.changed.connect(self._edited)
        context.data_changed.connect(self.show)
        self.show(context.data_choice)

    def show(self, choice):
        if choice is not None:    # no choice yet, or of a row: the form keeps its own values
            values = choice.settings()
            self.form.set_values({name: values[name] for name in self.names if name in values})

    def _edited(self, name):
        if name in self.names:
            self.context.set_data_choice(DataChoice.from_settings(self.form.values(),
                                                                  self.context.data_choice))
