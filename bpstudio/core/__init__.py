"""The Qt-free core: graph model, op registry, engine, gradient check. NumPy and the standard
library only; the GUI, the CLI and scripts all build on it."""

from .engine import Engine
from .errors import BPStudioError, FeedError, GraphError, ShapeError
from .gradcheck import compare_gradients, gradcheck
from .graph import Edge, Graph, GraphEvent, Node, Problem
from .ops import REGISTRY, get_op
from . import datasets
from .datasets import DataError, Dataset, TrainingData
from .optim import OPTIMIZERS, Optimizer, OptimizerError, make_optimizer
from .trainer import DivergenceError, StepStats, Trainer, TrainingError

__all__ = ["BPStudioError", "Edge", "Engine", "FeedError", "Graph", "GraphError", "GraphEvent",
           "Node", "Problem", "REGISTRY", "ShapeError", "compare_gradients", "get_op", "gradcheck"]
__all__ += ["DataError", "Dataset", "DivergenceError", "OPTIMIZERS", "Optimizer", "OptimizerError",
            "StepStats", "Trainer", "TrainingData", "TrainingError", "datasets", "make_optimizer"]
