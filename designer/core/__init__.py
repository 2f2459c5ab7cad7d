"""Qt-free core: the graph model, the layer/block catalogue, inference, compilation and design files.

Nothing under this package imports PySide6 or pyqtgraph.
"""
