"""Backprop Studio: build computational graphs, run them forward and backward, train and export.

The scripting API (Qt-free)::

    import bpstudio
    g = bpstudio.Graph()
    ...
    engine = bpstudio.Engine(g)
    trainer = bpstudio.Trainer(g, bpstudio.datasets.prepare("moons"), optimizer="adam", lr=0.01)
    for stats in trainer.run(steps=1000): ...
"""

from .core import (BPStudioError, Engine, FeedError, Graph, GraphError, ShapeError,
                   compare_gradients, gradcheck)
from .core import (DataError, Dataset, DivergenceError, StepStats, Trainer, TrainingData,
                   TrainingError, datasets, make_optimizer)

__version__ = "0.1.0"

__all__ = ["BPStudioError", "Engine", "FeedError", "Graph", "GraphError", "ShapeError",
           "__version__", "compare_gradients", "gradcheck"]
__all__ += ["DataError", "Dataset", "DivergenceError", "StepStats", "Trainer", "TrainingData",
            "TrainingError", "datasets", "make_optimizer"]
