"""What a model predicts over its input space, for the prediction plot: a decision boundary over
the plane for two-feature classification, a fitted curve for one-feature regression.

:func:`prediction_field` runs the model once on a grid of ``resolution`` points per feature (a
single forward pass over every grid point as one batch) with an engine of its own, so it reads
the graph's parameters and changes nothing in the graph. The grid is laid in the standardised
space the model was trained in, and everything in the :class:`PredictionField` it returns is in
the data's own units, so a plot's axes show the values a person recognises.

What ``values`` holds (``representation``):

- ``"probability"``: the probability of class 1, in [0, 1], for binary classification. A single
  output column is sigmoid(logits) under ``bce_logits``, and read as a probability already
  under ``bce`` or a loss-free or ``mse`` output (clipped to [0, 1]); two columns under
  ``softmax_ce`` give softmax column 1.
- ``"class"``: for three or more classes, the predicted class (argmax, as a float), with
  ``confidence`` the probability the model gives it (softmax under ``softmax_ce``; the clipped
  output itself otherwise).
- ``"value"``: for regression, the prediction in the target's units.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from ..engine import Engine
from ..graph import Graph, Node, NodeRef
from ..ops.activations import stable_sigmoid
from .datasets import CLASSIFICATION, REGRESSION, DataError, TrainingData
from .errors import TrainingError
from .trainer import FEATURES

BOUNDARY = "boundary"
CURVE = "curve"
PROBABILITY = "probability"
CLASS = "class"
VALUE = "value"


@dataclass(eq=False)
class PredictionField:
    """A model's prediction over a grid, with the data it was trained on; every coordinate is in
    the data's own (unstandardised) units.

    A boundary's ``values`` is (resolution, resolution) indexed [row, column]: row i is at
    ``y[i]`` (second feature), column j at ``x[j]`` (first feature), as an image is stored. A
    curve's ``values`` is (resolution,), one prediction per ``x``. ``y`` is None for a curve.
    """

    kind: str                               # BOUNDARY or CURVE
    representation: str                     # PROBABILITY, CLASS or VALUE (see the module)
    x: np.ndarray                           # (resolution,) grid along the first feature
    y: np.ndarray | None                    # (resolution,) along the second feature, or None
    values: np.ndarray
    train_points: np.ndarray                # (n, features)
    train_targets: np.ndarray               # (n,) class indices or target values
    val_points: np.ndarray                  # (m, features), m may be 0
    val_targets: np.ndarray                 # (m,)
    confidence: np.ndarray | None = None    # CLASS only: probability of the predicted class
    class_names: tuple[str, ...] = ()
    feature_names: tuple[str, ...] = ()
    target_name: str = "target"
    loss_op: str | None = None              # the loss whose output convention was applied

    def values_only(self) -> FieldValues:
        return FieldValues(self.values, self.confidence)

    def with_values(self, update: FieldValues) -> "PredictionField":
        """This field over the same grid and points, with the values of ``update``."""
        return replace(self, values=update.values, confidence=update.confidence)

    @property
    def resolution(self) -> int:
        return len(self.x)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def x_range(self) -> tuple[float, float]:
        return float(self.x[0]), float(self.x[-1])

    @property
    def y_range(self) -> tuple[float, float] | None:
        return None if self.y is None else (float(self.y[0]), float(self.y[-1]))


@dataclass
class FieldValues:
    """What changes in a run's prediction field from one picture to the next: its values (and
    confidence). A live run sends the whole :class:`PredictionField` once, then these; the
    grid and the data points stay those of the first (:meth:`PredictionField.with_values`)."""

    values: np.ndarray
    confidence: np.ndarray | None = None


def prediction_node_for(graph: Graph, loss: NodeRef) -> Node:
    """The node a loss compares with the target: what the model predicts."""
    loss_node = graph.node(loss)
    edges = graph.input_edges(loss_node)
    if not loss_node.spec.is_loss or not edges or edges[0] is None:
        raise TrainingError(f"{loss_node.label} is not a loss with a wired prediction")
    return graph.nodes[edges[0].src]


def prediction_field(graph: Graph, prediction_node: NodeRef, data: TrainingData,
                     bindings: Mapping[str, str], resolution: int = 60,
                     loss_op: str | None = None, margin: float = 0.1,
                     engine: Engine | None = None) -> PredictionField | None:
    """The model's prediction over a grid spanning the data (plus ``margin`` of its range on
    each side), or None where there is no picture to draw: anything but two-feature
    classification (a boundary) or one-feature regression with one output (a curve).

    ``bindings`` maps input node names to "features" or "target", as the trainer bound them; the
    input bound to the features receives the grid, any other input the prediction depends on
    receives zeros. ``loss_op`` (e.g. "bce_logits") says how to read the output; when None it
    is taken from the loss node that consumes ``prediction_node``.

    ``engine``, an :class:`Engine` of ``graph`` with ``prediction_node`` as its output, is used
    for the pass while it computes from the graph's own parameter arrays (a new one is made
    otherwise): a live run drawing a picture every half second keeps one, and its arrays for
    the grid's thousands of rows are reused instead of made afresh each time.
    """
    train = data.train
    if train.task == CLASSIFICATION and train.n_features == 2:
        kind = BOUNDARY
    elif train.task == REGRESSION and train.n_features == 1:
        kind = CURVE
    else:
        return None
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) \
            or resolution < 2:
        raise ValueError(f"the resolution must be a whole number >= 2, not {resolution!r}")
    node = graph.node(prediction_node)
    if loss_op is None:
        loss_op = _consuming_loss(graph, node)

    inputs = [n for n in graph.topological_order([node]) if n.spec.source == "input"]
    features = [n for n in inputs if bindings.get(n.name) == FEATURES]
    if len(features) != 1:
        raise TrainingError(f"{node.label} must depend on exactly one input bound to the "
                            f"features, not {len(features)}")
    feature_input = features[0]

    # Lay the grid where the model was trained (standardised units), then map it back.
    val = data.validation if data.validation is not None else train.subset(np.arange(0))
    seen = np.concatenate([train.features, val.features])
    low, high = seen.min(axis=0), seen.max(axis=0)
    pad = np.where(high > low, margin * (high - low), 0.5)
    axes = [np.linspace(lo - p, hi + p, int(resolution)) for lo, hi, p in zip(low, high, pad)]
    if kind == BOUNDARY:
        gx, gy = np.meshgrid(axes[0], axes[1])  # row i is axes[1][i], column j is axes[0][j]
        rows = np.column_stack([gx.ravel(), gy.ravel()])
    else:
        rows = axes[0][:, None]

    output = _forward(graph, node, inputs, feature_input, rows, engine)
    if kind == BOUNDARY:
        representation, values, confidence = _classify(output, loss_op, train.n_classes)
        values = values.reshape(resolution, resolution)
        if confidence is not None:
            confidence = confidence.reshape(resolution, resolution)
    else:
        if output.shape[1] != 1:
            return None  # several outputs per sample: no single curve to draw
        representation, values, confidence = VALUE, output[:, 0].copy(), None

    original = _unstandardize(data)
    grid = original(np.column_stack(axes))
    return PredictionField(
        kind=kind, representation=representation,
        x=grid[:, 0].copy(), y=grid[:, 1].copy() if kind == BOUNDARY else None,
        values=values, confidence=confidence,
        train_points=original(train.features), train_targets=train.targets.copy(),
        val_points=original(val.features), val_targets=val.targets.copy(),
        class_names=tuple(train.class_names), feature_names=tuple(train.feature_names),
        target_name=train.target_name, loss_op=loss_op)


def _consuming_loss(graph: Graph, node: Node) -> str | None:
    """The op of the loss that takes ``node`` as its prediction (its first input), if any."""
    for edge in graph.output_edges(node):
        consumer = graph.nodes[edge.dst]
        if consumer.spec.is_loss and edge.dst_port == consumer.spec.input_names()[0]:
            return consumer.op
    return None


def _forward(graph: Graph, node: Node, inputs: list[Node], feature_input: Node,
             rows: np.ndarray, engine: Engine | None = None) -> np.ndarray:
    """One forward pass over every grid row; (rows, outputs per row)."""
    m = len(rows)
    feeds = {}
    for inp in inputs:
        shape = tuple(inp.params["shape"])
        if inp is feature_input:
            if int(np.prod(shape)) != rows.shape[1]:
                raise DataError(f"input '{inp.name}' takes samples of shape {shape} but the "
                                f"data has {rows.shape[1]} feature(s)")
            feeds[inp.name] = rows.reshape((m,) + shape)
        else:
            # A prediction should not read the target; if this graph's does, give it nothing.
            feeds[inp.name] = np.zeros((m,) + shape)
    # An engine whose arrays are its own, and which only reads the graph's parameters.
    if engine is None or not _computes_from(engine, graph, node):
        engine = Engine(graph, output=node)
    out = engine.forward(feeds)
    return np.asarray(out, dtype=np.float64).reshape(m, -1)


def _computes_from(engine: Engine, graph: Graph, node: Node) -> bool:
    """Whether ``engine`` computes ``node`` of ``graph`` from the graph's own parameters."""
    if engine.graph is not graph or engine.dtype != np.float64 or \
            engine.output_node() is not node:
        return False
    return all(graph.node(name).value is array
               for name, array in engine.parameters().items())


def _classify(output: np.ndarray, loss_op: str | None,
              n_classes: int) -> tuple[str, np.ndarray, np.ndarray | None]:
    if output.shape[1] == 1:
        score = output[:, 0]
        p = stable_sigmoid(score) if loss_op == "bce_logits" else np.clip(score, 0.0, 1.0)
        return PROBABILITY, p, None
    if loss_op == "softmax_ce":
        shifted = output - output.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        probs = e / e.sum(axis=1, keepdims=True)
    else:
        probs = np.clip(output, 0.0, 1.0)
    if n_classes == 2 and output.shape[1] == 2:
        return PROBABILITY, probs[:, 1].copy(), None
    predicted = output.argmax(axis=1)
    confidence = probs[np.arange(len(probs)), predicted]
    return CLASS, predicted.astype(np.float64), confidence


def _unstandardize(data: TrainingData):
    scaler = data.standardizer
    if scaler is None:
        return lambda features: np.array(features, dtype=np.float64)
    return lambda features: np.asarray(features, dtype=np.float64) * scaler.std + scaler.mean


__all__ = ["BOUNDARY", "CLASS", "CURVE", "PROBABILITY", "PredictionField", "VALUE",
           "prediction_field", "prediction_node_for"]
