"""Backprop Studio: build computational graphs, run them forward and backward, train and export.

The scripting API (Qt-free)::

    import bpstudio
    g = bpstudio.Graph()
    ...
    engine = bpstudio.Engine(g)
"""

from .core import (BPStudioError, Engine, FeedError, Graph, GraphError, ShapeError,
                   compare_gradients, gradcheck)

__version__ = "0.1.0"

__all__ = ["BPStudioError", "Engine", "FeedError", "Graph", "GraphError", "ShapeError",
           "__version__", "compare_gradients", "gradcheck"]
