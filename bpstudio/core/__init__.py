"""The Qt-free core: graph model, op registry, engine, gradient check, project files, data sets
and training. NumPy and the standard library only; the GUI, the CLI and scripts all build on it."""

from .engine import Engine
from .errors import BPStudioError, FeedError, FileFormatError, GraphError, ShapeError
from .fileformat import FORMAT_VERSION, load, save
from .gradcheck import compare_gradients, gradcheck
from .graph import Edge, Graph, GraphEvent, Node, Problem
from .ops import REGISTRY, get_op
from .project import Project
from . import datasets
from .datasets import DataError, Dataset, TrainingData
from .optim import OPTIMIZERS, Optimizer, OptimizerError, make_optimizer
from .trainer import DivergenceError, StepStats, Trainer, TrainingError

__all__ = ["BPStudioError", "Edge", "Engine", "FORMAT_VERSION", "FeedError", "FileFormatError",
           "Graph", "GraphError", "GraphEvent", "Node", "Problem", "Project", "REGISTRY",
           "ShapeError", "compare_gradients", "get_op", "gradcheck", "load", "save"]
__all__ += ["DataError", "Dataset", "DivergenceError", "OPTIMIZERS", "Optimizer", "OptimizerError",
            "StepStats", "Trainer", "TrainingData", "TrainingError", "datasets", "make_optimizer"]
