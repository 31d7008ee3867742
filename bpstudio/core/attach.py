"""Give an inference graph (an imported model, say) the loss its data call for, with an input
for the target, so that it can be trained, stepped through and gradient-checked like any graph.

:func:`plan_loss` works out what to add and where, and checks it, without changing the graph;
:func:`attach_loss` carries the plan out through the editing API. The GUI builds the same plan
into one undoable macro of add-node and connect commands instead, so both make the same edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import GraphError
from .graph import Graph
from .layout import COLUMN_SPACING, ROW_SPACING
from .model import Node
from .ops import get_op
from .shapes import BATCH, format_shape, normalize_axis

# The losses offered, and the data each one is for.
LOSS_KINDS = {
    "softmax_ce": "classes",
    "mse": "values",
}
TASK_LOSS = {"classification": "softmax_ce", "regression": "mse"}
SAMPLE_ROWS = 4


def loss_for_task(task: str) -> str:
    """The loss kind for a data set's task: softmax_ce for classification, mse for regression."""
    try:
        return TASK_LOSS[task]
    except KeyError:
        raise GraphError(f"unknown task {task!r}: use {' or '.join(TASK_LOSS)}") from None


@dataclass(frozen=True)
class LossPlan:
    """What attaching a loss adds: a target input and the loss node, wired from
    ``prediction`` (a node id) into the loss's first port and from the target into its target
    port."""

    kind: str
    prediction: str
    target_name: str
    target_shape: tuple[int, ...]
    target_sample: np.ndarray | None
    target_position: tuple[float, float] | None
    loss_name: str
    loss_position: tuple[float, float] | None

    @property
    def ports(self) -> tuple[str, str]:
        """The loss's prediction port and target port."""
        spec = get_op(self.kind)
        return spec.input_names()[0], spec.inputs[spec.target_input].name

    def describe(self, graph: Graph) -> str:
        """One sentence saying what the plan adds, for a status line or a note."""
        return (f"added {self.kind} '{self.loss_name}' comparing "
                f"'{graph.nodes[self.prediction].name}' with a new target input "
                f"'{self.target_name}' {format_shape((BATCH,) + self.target_shape)}")


def plan_loss(graph: Graph, kind: str) -> LossPlan:
    """What :func:`attach_loss` would add, checked; the graph is not changed. Raises
    GraphError when the graph already has a loss, has several outputs, or its output does not
    fit the loss (softmax_ce needs (N, classes) scores)."""
    if kind not in LOSS_KINDS:
        raise GraphError(f"unknown loss {kind!r}: use {' or '.join(LOSS_KINDS)}")
    losses = [n for n in graph.nodes.values() if n.spec.is_loss]
    if losses:
        raise GraphError(f"the graph already has a loss ({losses[0].label})")
    output = graph.default_output()  # refuses an empty graph, or several outputs
    shapes = graph.check([output])
    prediction = output
    if kind == "softmax_ce" and output.op == "softmax":
        # softmax_ce applies the softmax itself: it takes the scores the softmax normalises.
        shape = shapes[output.id]
        if shape and normalize_axis(output.params["axis"], len(shape)) == len(shape) - 1:
            edge = graph.input_edges(output)[0]
            prediction = graph.nodes[edge.src]
    shape = shapes[prediction.id]
    if not shape or shape[0] != BATCH or BATCH in shape[1:]:
        raise GraphError(f"{prediction.label} gives {format_shape(shape)}: a loss needs a "
                         "prediction per sample, with the batch N first")
    if kind == "softmax_ce":
        if len(shape) != 2 or shape[1] < 2:
            raise GraphError(f"{prediction.label} gives {format_shape(shape)}: softmax "
                             "cross-entropy needs (N, classes) class scores, two classes or "
                             "more")
        target_shape: tuple[int, ...] = ()
    else:
        target_shape = tuple(int(d) for d in shape[1:])
    rows = _sample_rows(graph, prediction)
    rng = np.random.default_rng(0)
    if rows is None:
        sample = None
    elif kind == "softmax_ce":
        sample = rng.integers(0, int(shape[1]), size=(rows,)).astype(np.float64)
    else:
        sample = np.round(rng.normal(size=(rows,) + target_shape), 3)
    loss_position, target_position = _positions(graph, prediction)
    return LossPlan(kind, prediction.id, _free(graph, "y", "target"), target_shape, sample,
                    target_position, _free(graph, "loss"), loss_position)


def attach_loss(graph: Graph, kind: str) -> Node:
    """Add a loss of ``kind`` ("softmax_ce" for classes, "mse" for values) comparing the graph's
    output with a new target input, and return the loss node. All or nothing: a refusal leaves
    the graph as it was."""
    plan = plan_loss(graph, kind)
    added: list[Node] = []
    try:
        target = graph.add_node("input", name=plan.target_name,
                                params={"shape": plan.target_shape}, value=plan.target_sample,
                                position=plan.target_position)
        added.append(target)
        loss = graph.add_node(plan.kind, name=plan.loss_name, position=plan.loss_position)
        added.append(loss)
        first, second = plan.ports
        graph.connect(plan.prediction, loss, first)
        graph.connect(target, loss, second)
        graph.check([loss])
    except GraphError:
        for node in reversed(added):
            graph.remove_node(node)
        raise
    return loss


def _free(graph: Graph, *names: str) -> str:
    """The first of ``names`` no node uses, else a numbered one."""
    for name in names:
        if graph.find(name) is None:
            return name
    return graph.unique_name(names[-1])


def _sample_rows(graph: Graph, prediction: Node) -> int | None:
    """How many sample rows the inputs hold (the target gets as many), or None without any."""
    for node in graph.topological_order([prediction]):
        if node.spec.source == "input" and node.value is not None:
            return int(node.value.shape[0])
    return None


def _positions(graph: Graph, prediction: Node) -> tuple[Any, Any]:
    """The loss one column right of every node, level with the prediction, and the target
    below it, one column to its left; None when the graph is not laid out."""
    placed = [n.position for n in graph.nodes.values() if n.position is not None]
    if prediction.position is None or not placed:
        return None, None
    right = max(float(p[0]) for p in placed)
    y = float(prediction.position[1])
    return (right + COLUMN_SPACING, y), (right, y + ROW_SPACING)


__all__ = ["LOSS_KINDS", "LossPlan", "TASK_LOSS", "attach_loss", "loss_for_task", "plan_loss"]
