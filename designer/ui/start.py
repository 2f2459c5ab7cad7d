"""The start page (also File ▸ New): an empty design or any preset, grouped by family, each with its
one-line description and parameter count.

Families and descriptions come from the preset builders (`designer.presetlib`); a preset file
without a builder is listed under "other" with its file's description. Parameter counts are
computed once per preset file and cached beside the recovery files, keyed by the file's size and
modification time, so opening the page stays instant.
"""

import json
import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from designer.core.presets import preset_names, preset_path

from .widgets import filter_tree

log = logging.getLogger(__name__)

NAME_ROLE = Qt.UserRole + 1

# Titles of the preset families (the builder modules' names); others are title-cased.
FAMILY_TITLES = {"alexnet_vgg": "AlexNet, ZFNet, VGG and NIN", "classic": "Classic", "condensenet": "CondenseNet",
                 "densenet": "DenseNet", "ghostnet": "GhostNet", "highway": "Highway networks",
                 "inception": "Inception and GoogLeNet", "mobile": "MobileNet and IGCV3", "resnet": "ResNet and variants",
                 "shufflenet": "ShuffleNet", "squeezenet": "SqueezeNet and SqueezeNext", "xception": "Xception",
                 "other": "Other"}


def family_title(family):
    return FAMILY_TITLES.get(family, family.replace("_", " ").capitalize())


def preset_catalogue():
    """[(name, family, description)] for every preset file."""
    try:
        from designer import presetlib
        builders = presetlib.load_all()
    except Exception:  # a broken builder module must not hide the presets that exist as files
        log.exception("the preset builders could not be loaded; listing preset files only")
        builders = {}
    entries = []
    for name in preset_names():
        info = builders.get(name)
        if info is not None:
            entries.append((name, info.family, info.description))
        else:
            entries.append((name, "other", _file_description(name)))
    return entries


def _file_description(name):
    try:
        with open(preset_path(name), encoding="utf-8") as handle:
            return (json.load(handle).get("description") or "").splitlines()[0]
    except (OSError, ValueError, IndexError):
        return ""


class ParamCounts:
    """Parameter counts of the preset files, cached on disk."""

    def __init__(self, cache_path):
        self.path = cache_path
        try:
            self.cache = json.loads(cache_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.cache = {}

    def _key(self, name):
        stat = preset_path(name).stat()
        return f"{stat.st_size}:{stat.st_mtime_ns}"

    def get(self, name):
        """(parameters, of which in auxiliary heads), or None when not counted yet."""
        entry = self.cache.get(name)
        try:
            fresh = entry and entry["key"] == self._key(name) and "aux" in entry
        except OSError:
            return None
        return (entry["params"], entry["aux"]) if fresh else None

    def compute(self, name):
        from designer.core.presets import load_design
        try:
            params, aux = count_parameters(load_design(name))
        except Exception:  # a preset that fails to load still gets listed (without a count)
            log.exception("cannot count the parameters of preset %s", name)
            params, aux = -1, 0
        self.cache[name] = {"key": self._key(name), "params": params, "aux": aux}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.cache), encoding="utf-8")
        except OSError as error:
            log.warning("cannot cache preset parameter counts in %s: %s", self.path, error)
        return params, aux


def count_parameters(graph):
    """(all parameters, those only in auxiliary heads: layers that feed no main output)."""
    from designer.core.infer import Analyzer
    from designer.core.registry import Role
    results = Analyzer(graph).results
    total = sum(r.params for r in results.values())
    outputs = graph.nodes_of_role(Role.OUTPUT)
    main = [o.id for o in outputs if o.params["role"] == "main"]
    if len(main) == len(outputs):
        return total, 0
    feeding, stack = set(main), list(main)
    while stack:
        for parent in graph.predecessors(stack.pop()):
            if parent not in feeding:
                feeding.add(parent)
                stack.append(parent)
    return total, sum(r.params for nid, r in results.items() if nid not in feeding)


def _millions(params):
    return f"{params / 1e6:.1f} M" if params >= 1e6 else f"{params:,}"


def _count_text(counts):
    if counts is None:
        return "…"
    params, aux = counts
    if params < 0:
        return "unreadable"
    if aux:
        return f"{_millions(params)} with aux heads"
    return f"{_millions(params)} params"


def _count_tip(counts):
    if counts is None or counts[0] < 0 or not counts[1]:
        return ""
    params, aux = counts
    return (f"{params:,} parameters counting the auxiliary heads (used only in training); "
            f"{params - aux:,} without them")


class StartPage(QWidget):
    """Lists an empty design and the presets; `chosen(name)` with "" for an empty design."""
    chosen = Signal(str)
    open_file = Signal()

    def __init__(self, counts, parent=None, show_open=True):
        super().__init__(parent)
        self.counts = counts
        title = QLabel("CNN Designer")
        title.setObjectName("heading")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        title.setFont(font)
        sub = QLabel("Start from an empty design or a classic architecture. Every shape, parameter "
                     "count and multiply-add updates as you edit.")
        sub.setObjectName("dim")
        sub.setWordWrap(True)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter presets…")
        self.search.setClearButtonEnabled(True)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Design", "Parameters", "Description"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().resizeSection(0, 230)
        self.tree.header().resizeSection(1, 150)
        empty = QPushButton("New empty design")
        empty.clicked.connect(lambda: self.chosen.emit(""))
        # Enter in the filter opens the highlighted preset; no button may take it as a default.
        empty.setAutoDefault(False)
        buttons = QHBoxLayout()
        buttons.addWidget(empty)
        if show_open:
            opener = QPushButton("Open a file…")
            opener.clicked.connect(self.open_file.emit)
            opener.setAutoDefault(False)
            buttons.addWidget(opener)
        buttons.addStretch(1)
        buttons.addWidget(self.search)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(sub)
        layout.addLayout(buttons)
        layout.addWidget(self.tree, 1)
        # itemActivated alone: it already fires on double-click (and on Enter).
        self.tree.itemActivated.connect(self._activated)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._open_highlighted)
        self._pending = []
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._count_next)
        self.populate()

    def populate(self):
        self.tree.clear()
        families = {}
        self._pending = []
        for name, family, description in preset_catalogue():
            top = families.get(family)
            if top is None:
                top = QTreeWidgetItem([family_title(family)])
                top.setFlags(Qt.ItemIsEnabled)
                font = top.font(0)
                font.setBold(True)
                top.setFont(0, font)
                families[family] = top
            params = self.counts.get(name)
            child = QTreeWidgetItem([name, _count_text(params), description])
            child.setData(0, NAME_ROLE, name)
            child.setToolTip(1, _count_tip(params))
            child.setToolTip(2, description)
            child.setTextAlignment(1, Qt.AlignRight | Qt.AlignVCenter)
            top.addChild(child)
            if params is None:
                self._pending.append(child)
        for family in sorted(families, key=lambda f: (f == "other", family_title(f))):
            self.tree.addTopLevelItem(families[family])
            families[family].setExpanded(True)
        if self._pending and self.isVisible():
            self._timer.start()

    # Counting runs only while the page is on screen: each count analyses a whole preset, which
    # would stall the editor's event loop once a design is open.
    def showEvent(self, event):
        super().showEvent(event)
        if self._pending:
            self._timer.start()

    def hideEvent(self, event):
        super().hideEvent(event)
        self._timer.stop()

    def _count_next(self):
        # One preset per event-loop turn, so the page stays responsive while counts fill in.
        if not self._pending:
            self._timer.stop()
            return
        child = self._pending.pop(0)
        counts = self.counts.compute(child.data(0, NAME_ROLE))
        child.setText(1, _count_text(counts))
        child.setToolTip(1, _count_tip(counts))

    def preset_items(self):
        return [self.tree.topLevelItem(i).child(j) for i in range(self.tree.topLevelItemCount())
                for j in range(self.tree.topLevelItem(i).childCount())]

    def _filter(self, text):
        words = filter_tree(self.tree, text, lambda family, preset:
                            f"{family.text(0)} {preset.text(0)} {preset.text(2)}")
        current = self.tree.currentItem()
        if words and (current is None or current.isHidden() or not current.data(0, NAME_ROLE)):
            matches = self.visible_presets()
            self.tree.setCurrentItem(matches[0] if matches else None)

    def visible_presets(self):
        return [item for item in self.preset_items() if not item.isHidden() and not item.parent().isHidden()]

    def _open_highlighted(self):
        """Enter in the filter: open the highlighted preset, else the first one shown."""
        current = self.tree.currentItem()
        if current is None or current.isHidden() or not current.data(0, NAME_ROLE):
            matches = self.visible_presets()
            current = matches[0] if matches else None
        if current is not None:
            self._activated(current)

    def keyPressEvent(self, event):
        # Down from the filter moves into the list, so arrows then Enter pick a preset.
        if event.key() == Qt.Key_Down and self.search.hasFocus():
            self.tree.setFocus()
            return
        super().keyPressEvent(event)

    def _activated(self, item, column=0):
        name = item.data(0, NAME_ROLE)
        if name:
            self.chosen.emit(name)


class NewDesignDialog(QDialog):
    """File ▸ New: the start page in a dialog; `choice` is "" (empty) or a preset name."""

    def __init__(self, counts, parent=None):
        super().__init__(parent)
        self.setWindowTitle("New design")
        self.resize(900, 600)
        self.choice = None
        self.page = StartPage(counts, self, show_open=False)
        self.page.chosen.connect(self._chosen)
        buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Cancel).setAutoDefault(False)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.page)
        layout.addWidget(buttons)

    def _chosen(self, name):
        self.choice = name
        self.accept()
