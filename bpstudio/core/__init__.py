"""The Qt-free core: NumPy and the standard library only; the GUI, the CLI and scripts all build
on it.

The kernel lives here (graph model, op registry, builder, engine, gradient check, layout,
project, attaching a loss). Two rooms use it and never each other: ``training/`` (data sets,
optimizers, the Trainer and its history) and ``files/`` (the project file format, atomic writes,
exports, the ONNX import). The public API of all three is re-exported here.
"""

from .attach import attach_loss
from .engine import Engine
from .errors import (BPStudioError, FeedError, FileFormatError, GraphError, OnnxImportError,
                     ShapeError)
from .gradcheck import compare_gradients, gradcheck
from .graph import Graph
from .model import Edge, GraphEvent, Node, Problem
from .ops import REGISTRY, get_op
from .project import Project
from .files.fileformat import FORMAT_VERSION, load, save
from .files.import_onnx import import_onnx
from .training import datasets
from .training.datasets import DataError, Dataset, TrainingData
from .training.optim import OPTIMIZERS, Optimizer, OptimizerError, make_optimizer
from .training.trainer import DivergenceError, StepStats, Trainer, TrainingError

__all__ = ["BPStudioError", "Edge", "Engine", "FORMAT_VERSION", "FeedError", "FileFormatError",
           "Graph", "GraphError", "GraphEvent", "Node", "OnnxImportError", "Problem", "Project",
           "REGISTRY", "ShapeError", "attach_loss", "compare_gradients", "get_op", "gradcheck",
           "import_onnx", "load", "save"]
__all__ += ["DataError", "Dataset", "DivergenceError", "OPTIMIZERS", "Optimizer", "OptimizerError",
            "StepStats", "Trainer", "TrainingData", "TrainingError", "datasets", "make_optimizer"]
