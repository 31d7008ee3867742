"""Backprop Studio: build computational graphs, run them forward and backward, train and export.

The scripting API (Qt-free)::

    import bpstudio
    g = bpstudio.Graph()
    ...
    engine = bpstudio.Engine(g)
    trainer = bpstudio.Trainer(g, bpstudio.datasets.prepare("moons"), optimizer="adam", lr=0.01)
    for stats in trainer.run(steps=1000): ...
    bpstudio.save(trainer.to_project(), "model.bpg")
    project = bpstudio.load("model.bpg")
    imported = bpstudio.import_onnx("model.onnx")   # a model made elsewhere, as a graph
    bpstudio.attach_loss(imported.graph, "softmax_ce")
    bpstudio.render_svg(g)                           # what a notebook shows for g (or engine)
    bpstudio.show(g)                                 # the app's window on it, until it closes
"""

from .core import (BPStudioError, Engine, FeedError, FileFormatError, Graph, GraphError,
                   OnnxImportError, Project, ShapeError, attach_loss, compare_gradients, gradcheck,
                   import_onnx, load, save)
from .core import (DataError, Dataset, DivergenceError, StepStats, Trainer, TrainingData,
                   TrainingError, datasets, make_optimizer)
from .core.svg import render_svg
from .version import __version__
from .window import show

__all__ = ["BPStudioError", "Engine", "FeedError", "FileFormatError", "Graph", "GraphError",
           "OnnxImportError", "Project", "ShapeError", "__version__", "attach_loss",
           "compare_gradients", "gradcheck", "import_onnx", "load", "render_svg", "save", "show"]
__all__ += ["DataError", "Dataset", "DivergenceError", "StepStats", "Trainer", "TrainingData",
            "TrainingError", "datasets", "make_optimizer"]
