"""The layer palette: every registered layer and block, grouped by kind, searchable; drag an entry
onto the canvas or double-click it to add it."""

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from designer.core.registry import REGISTRY, Role

from .theme import category_colour, icon
from .view import LAYER_MIME
from .widgets import filter_tree

# Internal plumbing a person never adds by hand (a Group is made by grouping a selection).
HIDDEN = {Role.BLOCK_INPUT, Role.GROUP}
TYPE_ROLE = Qt.UserRole + 1


class _Tree(QTreeWidget):
    def startDrag(self, actions):
        item = self.currentItem()
        type_name = item.data(0, TYPE_ROLE) if item else None
        if not type_name:
            return
        mime = QMimeData()
        mime.setData(LAYER_MIME, type_name.encode("utf-8"))
        mime.setText(type_name)
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(item.icon(0).pixmap(24, 24))
        drag.exec(Qt.CopyAction)


class Palette(QWidget):
    add_requested = Signal(str)  # layer type

    def __init__(self, theme, parent=None):
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search layers and blocks…")
        self.search.setClearButtonEnabled(True)
        self.tree = _Tree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setIndentation(12)
        self.tree.setUniformRowHeights(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.search.textChanged.connect(self.filter)
        # itemActivated alone: it already fires on double-click (and on Enter); connecting
        # itemDoubleClicked too added every layer twice.
        self.tree.itemActivated.connect(self._activated)
        self.theme = theme
        self._build()

    def _build(self):
        self.tree.clear()
        sections = {}
        for spec in REGISTRY.specs():
            if spec.role not in HIDDEN:
                sections.setdefault(spec.category, []).append(spec)
        for category in sorted(sections, key=lambda c: (c.order, c.title)):
            top = QTreeWidgetItem([category.title])
            top.setFlags(Qt.ItemIsEnabled)
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            self.tree.addTopLevelItem(top)
            for spec in sorted(sections[category], key=lambda s: s.title.lower()):
                child = QTreeWidgetItem([spec.title])
                child.setData(0, TYPE_ROLE, spec.type)
                child.setToolTip(0, f"<b>{spec.title}</b> <i>{spec.type}</i><br>{spec.help}")
                child.setIcon(0, icon("block" if spec.is_block else "layer",
                                      category_colour(category).name()))
                top.addChild(child)
            top.setExpanded(True)

    def set_theme(self, theme):
        self.theme = theme

    def filter(self, text):
        filter_tree(self.tree, text, lambda section, layer: (
            f"{layer.text(0)} {layer.data(0, TYPE_ROLE)} {section.text(0)} {layer.toolTip(0)}"))
        for i in range(self.tree.topLevelItemCount()):
            self.tree.topLevelItem(i).setExpanded(True)

    def entries(self):
        """The layer types listed, in order (visible ones only)."""
        found = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                if not top.child(j).isHidden() and not top.isHidden():
                    found.append(top.child(j).data(0, TYPE_ROLE))
        return found

    def item_for(self, type_name):
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                if top.child(j).data(0, TYPE_ROLE) == type_name:
                    return top.child(j)
        return None

    def _activated(self, item, column=0):
        type_name = item.data(0, TYPE_ROLE)
        if type_name:
            self.add_requested.emit(type_name)
