"""A walkthrough's record of one forward and one backward pass of the engine.

:func:`trace` runs an :class:`~bpstudio.core.engine.Engine` on a graph (by default on the
project's sample) and copies out, step by step and in the engine's own order, what each node
received and computed on the way forward, and on the way back: the gradient that reached it
(and, where its value fanned out, each part of that sum), its op's local derivative, and what it
handed back through each input port. Every number is the engine's own (its values, gradients
and recorded contributions); the only thing added is the local derivative's numbers, which come
from the op's own backward rule run with a gradient of 1.

The walkthrough panel, the practice mode, the exported handout and the tests all read a
:class:`Trace`, so they cannot disagree with each other or with the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .engine import Engine
from .graph import Graph, NodeRef
from .ops import Context
from .sample import sample_feeds
from .shapes import BATCH

FORWARD, BACKWARD = "forward", "backward"



@dataclass(frozen=True)
class Received:
    """One input of a node on the way forward: the value it got through ``port``."""

    port: str
    source_id: str
    source_name: str
    value: np.ndarray
    batched: bool


@dataclass(frozen=True)
class ForwardStep:
    """A node computing (or, for inputs, parameters and constants, producing) its value."""

    node_id: str
    name: str
    op: str
    title: str
    source: str | None          # "input", "parameter", "constant", or None for an op
    inputs: tuple[Received, ...]
    value: np.ndarray
    batched: bool               # the value has one row per sample

    phase = FORWARD


@dataclass(frozen=True)
class Arrival:
    """One part of a node's gradient: what ``consumer`` handed back through its ``port``."""

    consumer_id: str
    consumer_name: str
    port: str
    gradient: np.ndarray


@dataclass(frozen=True)
class Handoff:
    """What a node hands back to the node feeding its input ``port``.

    ``local`` is the local derivative d(out)/d(input) as numbers where it is elementwise (None
    where it is a Jacobian); ``gradient`` is the engine's contribution (None when this port
    takes no gradient, e.g. class labels)."""

    port: str
    source_id: str
    source_name: str
    local: np.ndarray | None
    gradient: np.ndarray | None
    batched: bool


@dataclass(frozen=True)
class BackwardStep:
    """A node on the way back: the gradient that reached it and what it hands on."""

    node_id: str
    name: str
    op: str
    title: str
    source: str | None
    derivative: str             # the op's local derivative as a formula (from the registry)
    is_output: bool             # where the backward pass starts, seeded with 1
    gradient: np.ndarray        # d output / d value (the engine's; zeros if nothing reached it)
    arrivals: tuple[Arrival, ...]
    handoffs: tuple[Handoff, ...]
    # For a ReLU: where its input was <= 0, so that its slope is 0 and the gradient stops.
    stopped: np.ndarray | None
    batched: bool

    phase = BACKWARD

    @property
    def reached(self) -> bool:
        """Whether any gradient reached this node (labels and what feeds only them get none)."""
        return self.is_output or bool(self.arrivals)

    @property
    def fans_out(self) -> bool:
        """Whether the gradient is a sum of parts from several wires."""
        return len(self.arrivals) > 1


Step = ForwardStep | BackwardStep


@dataclass(frozen=True)
class Trace:
    """The forward steps then the backward steps of one pass, in the engine's order."""

    output_id: str
    output_name: str
    rows: int                   # samples in the batch
    forward: tuple[ForwardStep, ...]
    backward: tuple[BackwardStep, ...]

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.forward + self.backward

    @property
    def loss(self) -> np.ndarray:
        return self.forward[-1].value

    def forward_step(self, ref: str) -> ForwardStep:
        """The forward step of the node with id or name ``ref``."""
        return _find(self.forward, ref)

    def backward_step(self, ref: str) -> BackwardStep:
        """The backward step of the node with id or name ``ref``."""
        return _find(self.backward, ref)


def _find(steps, ref: str):
    for step in steps:
        if ref in (step.node_id, step.name):
            return step
    raise KeyError(f"no step for node '{ref}'")


def trace(graph: Graph, feeds: Mapping[str, Any] | None = None,
          output: NodeRef | None = None) -> Trace:
    """Run ``graph`` forward on ``feeds`` (by default its sample) and backward from 1 at
    ``output`` (by default its loss), and record every step. Raises what the engine raises
    (a GraphError or FeedError naming the node at fault)."""
    engine = Engine(graph, output=output)
    engine.forward(sample_feeds(graph) if feeds is None else feeds)
    engine.backward(record_contributions=True)
    return record(engine)


def record(engine: Engine) -> Trace:
    """The trace of an engine that has just run forward and backward(record_contributions=True)."""
    graph, plan = engine.graph, engine.plan
    contributions = engine.contributions()
    shapes, _problems = graph.infer_shapes()
    batched = {step.node.id: _is_batched(shapes.get(step.node.id)) for step in plan.steps}
    names = {step.node.id: step.node.name for step in plan.steps}
    forward = []
    for step in plan.steps:
        node = step.node
        received = tuple(
            Received(port.name, edge.src, names[edge.src], _copy(engine.value(edge.src)),
                     batched[edge.src])
            for port, edge in zip(node.spec.inputs, graph.input_edges(node)))
        forward.append(ForwardStep(node.id, node.name, node.op, node.spec.title, step.source,
                                   received, _copy(engine.value(node.id)), batched[node.id]))
    # The order the engine hands gradients back in: consumers later in the plan go first.
    position = {step.node.id: k for k, step in enumerate(plan.steps)}
    output_id = plan.steps[plan.output].node.id
    backward = []
    for step in reversed(plan.steps):
        node = step.node
        arrivals = []
        edges = [e for e in graph.output_edges(node) if e.dst in position]
        edges.sort(key=lambda e: (-position[e.dst], graph.nodes[e.dst].spec.input_names()
                                  .index(e.dst_port)))
        for edge in edges:
            part = contributions.get((edge.dst, edge.dst_port))
            if part is not None:
                arrivals.append(Arrival(edge.dst, names[edge.dst], edge.dst_port, _copy(part)))
        gradient = _copy(engine.grad(node.id))
        handoffs: tuple[Handoff, ...] = ()
        stopped = None
        reached = node.id == output_id or bool(arrivals)
        if step.source is None:
            handoffs = _handoffs(step, engine, contributions, names, batched, reached)
            if node.op == "relu":
                stopped = ~(_copy(engine.value(node.id)) > 0)
        backward.append(BackwardStep(
            node.id, node.name, node.op, node.spec.title, step.source, node.spec.derivative,
            node.id == output_id, gradient, tuple(arrivals), handoffs, stopped,
            batched[node.id]))
    return Trace(output_id, names[output_id], _rows(forward), tuple(forward), tuple(backward))


def _handoffs(step, engine: Engine, contributions, names, batched, reached: bool):
    node = step.node
    edges = engine.graph.input_edges(node)
    local = _local_derivatives(step, engine) if reached else None
    parts = []
    for k, (port, edge) in enumerate(zip(node.spec.inputs, edges)):
        part = contributions.get((node.id, port.name))
        parts.append(Handoff(port.name, edge.src, names[edge.src],
                             None if local is None else local[k],
                             None if part is None else _copy(part), batched[edge.src]))
    return tuple(parts)


def _local_derivatives(step, engine: Engine) -> list[np.ndarray | None] | None:
    """d(out)/d(input) per port as numbers, where that is one number per input element: for an
    elementwise op without broadcasting, or for an op with a single number out (a loss, a full
    mean or sum). The op's own backward rule gives them when handed a gradient of 1; it runs
    on a fresh context so that the engine's reused arrays are left alone."""
    value = engine.value(step.node.id)
    inputs = [engine.value(edge.src) for edge in engine.graph.input_edges(step.node)]
    # Per port: an input broadcast over the batch gets the sum of its local derivatives times
    # the gradients, which is not one number per element (unless one number comes in).
    given = [value.size == 1 or (step.node.spec.elementwise and np.shape(x) == value.shape)
             for x in inputs]
    if not any(given):
        return None
    probe = Context(step.context.needs_input_grad)
    probe.save(*step.context.saved)
    try:
        grads = step.backward(probe, np.ones_like(value))
    except (ValueError, ArithmeticError, IndexError):
        return None
    return [None if g is None or not ok else _copy(g) for g, ok in zip(grads, given)]


def _is_batched(shape) -> bool:
    return bool(shape) and shape[0] == BATCH


def _rows(forward: list[ForwardStep]) -> int:
    for step in forward:
        if step.batched:
            return int(step.value.shape[0])
    return 1


def _copy(array: Any) -> np.ndarray:
    # The engine's arrays are reused by its next step: a trace keeps its own.
    return np.array(array, dtype=np.float64, copy=True)


__all__ = ["Arrival", "BACKWARD", "BackwardStep", "FORWARD", "ForwardStep", "Handoff",
           "Received", "Step", "Trace", "record", "trace"]
