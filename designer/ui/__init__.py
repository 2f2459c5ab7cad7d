"""The PySide6 editor: the only Qt code in the project (window, canvas, palette, inspector,
panels). Importing this package does not import Qt; `designer.ui.app` does."""
