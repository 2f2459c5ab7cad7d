"""Small widgets shared by the editor's forms."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSplitter, QVBoxLayout, QWidget


def browse_row(edit, on_browse):
    """A path field with a Browse… button beside it, as one form row."""
    row = QWidget()
    box = QHBoxLayout(row)
    box.setContentsMargins(0, 0, 0, 0)
    box.addWidget(edit, 1)
    button = QPushButton("Browse…")
    button.clicked.connect(on_browse)
    box.addWidget(button)
    return row


def side_by_side(panel, left, right, sizes=None):
    """Fill `panel` with `left` (its settings) beside `right` (its results) in a splitter whose
    right side takes the room the panel grows by; `sizes` are the starting widths."""
    splitter = QSplitter(Qt.Horizontal)
    splitter.addWidget(left)
    splitter.addWidget(right)
    splitter.setStretchFactor(1, 1)
    if sizes:
        splitter.setSizes(sizes)
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addWidget(splitter)
    return splitter


def filter_tree(tree, text, haystack):
    """Search a two-level tree (sections of entries), as the palette and the start page do: show
    the entries whose `haystack(section, entry)` text holds every word of `text` (any case), hide
    sections left empty. Returns the words."""
    words = text.lower().split()
    for i in range(tree.topLevelItemCount()):
        section = tree.topLevelItem(i)
        shown = 0
        for j in range(section.childCount()):
            entry = section.child(j)
            match = all(word in haystack(section, entry).lower() for word in words)
            entry.setHidden(not match)
            shown += match
        section.setHidden(not shown)
    return words
