"""Small widgets shared by the editor's forms."""

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget


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
