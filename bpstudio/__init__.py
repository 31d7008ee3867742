"""Backprop Studio: build computational graphs, run them forward and backward, train and export.

The scripting API (Qt-free)::

    import bpstudio
    g = bpstudio.Graph()
    ...
    engine = bpstudio.Engine(g)
    bpstudio.save(g, "model.bpg")
    project = bpstudio.load("model.bpg")
"""

__version__ = "0.1.0"  # before the imports: the file format records it

from .core import (BPStudioError, Engine, FeedError, FileFormatError, Graph, GraphError,  # noqa: E402
                   Project, ShapeError, compare_gradients, gradcheck, load, save)

__all__ = ["BPStudioError", "Engine", "FeedError", "FileFormatError", "Graph", "GraphError",
           "Project", "ShapeError", "__version__", "compare_gradients", "gradcheck", "load", "save"]
