"""CNN Designer: design convolutional networks as node graphs, inspect, train and export them."""

__version__ = "0.1.0"
