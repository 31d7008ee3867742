"""A project's :class:`~bpstudio.core.interface.ModelInterface` (what its exports expect and
return), read from the data it was trained on; and the predictions the app makes on raw rows,
which an exported model must reproduce."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import datasets
from .datasets import CLASSIFICATION, DataError, TrainingData
from .errors import TrainingError
from .trainer import FEATURES, bind_inputs
from ..engine import Engine
from ..errors import BPStudioError
from ..graph import Graph, Node, NodeRef
from ..interface import AS_IS, ModelInterface, readout_for
from ..project import Project


def training_data(project: Project) -> TrainingData | None:
    """The data the project trains on (split and standardised as training sees it), or None
    for a project without data. A data file that cannot be read is a DataError naming it."""
    saved = project.training or {}
    if "data" not in saved:
        return None
    return datasets.from_settings(saved)


def feature_input(project: Project) -> tuple[Node, Node]:
    """The input node that takes the features, and the loss the project trains."""
    graph = project.graph
    saved = project.training or {}
    losses = [n for n in graph.nodes.values() if n.spec.is_loss]
    named = graph.find(saved["loss"]) if isinstance(saved.get("loss"), str) else None
    loss = named if named is not None else (losses[0] if len(losses) == 1 else None)
    if loss is None:
        raise TrainingError("the project has no single loss to tell its features from its "
                            "target: export the bare graph (--raw)")
    inputs = [n for n in graph.topological_order([loss]) if n.spec.source == "input"]
    bindings = bind_inputs(graph, inputs, loss, saved.get("bindings"))
    features = [n for n in inputs if bindings[n.name] == FEATURES]
    if len(features) != 1:
        raise TrainingError(f"{len(features)} inputs take the features; an export with the "
                            "standardisation needs one")
    return features[0], loss


def model_interface(project: Project, output: NodeRef | None = None,
                    data: TrainingData | None = None) -> ModelInterface | None:
    """What an export of ``project`` (up to ``output``, by default the loss's prediction)
    expects and returns; None for a project without training data (its exports are the bare
    graph). ``data`` saves rebuilding the project's data when the caller has it."""
    if data is None:
        try:
            data = training_data(project)
        except DataError as exc:
            raise DataError(f"{exc}: an export reads the data the project was trained on for "
                            "its names and standardisation (export the bare graph, --raw on the "
                            "command line, to do without)") from None
    if data is None:
        return None
    graph = project.graph
    node, loss = feature_input(project)
    prediction = graph.nodes[graph.input_edges(loss)[0].src]
    chosen = prediction if output is None else graph.node(output)
    if node.id not in {n.id for n in graph.topological_order([chosen])}:
        return None  # the chosen output does not read the features: nothing to standardise
    train = data.train
    scaler = data.standardizer
    # Scores become probabilities only at the prediction the loss reads; an inner node chosen
    # as the output is exported as the values it holds.
    readout = readout_for(loss.op, train.task) if chosen.id == prediction.id else AS_IS
    return ModelInterface(
        feature_input=node.name, feature_names=tuple(train.feature_names),
        target_name=train.target_name, task=train.task,
        class_names=tuple(train.class_names) if train.task == CLASSIFICATION else (),
        mean=None if scaler is None else scaler.mean.copy(),
        std=None if scaler is None else scaler.std.copy(),
        readout=readout, data_name=train.name)


def predict_raw(graph: Graph, interface: ModelInterface, raw_features: Any,
                output: NodeRef | None = None) -> np.ndarray:
    """What the app predicts for raw feature rows: standardised as in training, run through the
    engine, read as the app reads the output (probabilities for scores). The exports must
    agree with it."""
    node = graph.node(interface.feature_input)
    rows = interface.standardise(raw_features)
    shape = tuple(node.params["shape"])
    feeds = {node.name: rows.reshape((len(rows),) + shape)}
    engine = Engine(graph, output=output if output is not None else _prediction(graph))
    for other in engine.plan.steps:
        if other.source == "input" and other.node.name != node.name:
            feeds[other.node.name] = np.zeros((len(rows),) + tuple(other.node.params["shape"]))
    try:
        out = engine.forward(feeds)
    except BPStudioError as exc:
        raise DataError(f"the rows do not fit input '{node.name}': {exc}") from None
    return interface.read_output(out)


def _prediction(graph: Graph) -> Node:
    loss = graph.default_output()
    return graph.nodes[graph.input_edges(loss)[0].src] if loss.spec.is_loss else loss


__all__ = ["feature_input", "model_interface", "predict_raw", "training_data"]
