"""Layers: what a group of nodes is when it is a fully connected layer, and how healthy it is.

A dense layer is the group of ``x @ W + b`` then an activation, as :meth:`Graph.dense` builds
it (W a parameter of shape (fan_in, fan_out), or its transpose as an imported Gemm has it; the
bias optional; the activation optional). :func:`dense_layer` reads it from a group's members,
so what the canvas and the inspector show (fan-in, fan-out, activation, initialiser) follows
every edit of the nodes. :func:`group_dense_layers` finds the ungrouped layers of a graph (the
pass run after an ONNX import). :func:`layer_health` measures, from a forward pass's output of
a layer, the fraction of its ReLU units that are dead or of its sigmoid/tanh outputs that are
saturated (see docs/training.md for the thresholds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .graph import Graph
from .model import Group, GroupRef, Node

# The ops a layer may end in, one number in per number out.
ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh")
DEAD, SATURATED = "dead", "saturated"
# Saturated: where the local derivative has fallen below a tenth of its peak, so that the
# layer passes back under a tenth of the gradient it could. For a sigmoid, s(1 - s) < 0.025,
# that is |s - 1/2| > sqrt(0.225) (|z| > 3.64); for tanh, 1 - t^2 < 0.1, that is
# |t| > sqrt(0.9) (|z| > 1.82). Tested on the output, which the forward pass already holds.
SATURATION_FRACTION = 0.1
_SATURATION_BOUND = {"sigmoid": math.sqrt(0.25 - 0.25 * SATURATION_FRACTION),
                     "tanh": math.sqrt(1.0 - SATURATION_FRACTION)}


@dataclass(frozen=True)
class DenseLayer:
    """The roles of a dense layer's nodes, read from its group."""

    group: Group
    weight: Node              # the parameter W
    transpose: Node | None    # W.T fed to the product (an imported Gemm with transB)
    matmul: Node
    bias: Node | None         # the parameter b
    pre_activation: Node      # z = x @ W + b (the product itself without a bias)
    output: Node              # the activation's output (z itself without one)
    activation: str | None    # the activation's op

    @property
    def name(self) -> str:
        return self.group.name

    @property
    def fan_in(self) -> int:
        shape = self.weight.value.shape
        return int(shape[1] if self.transpose is not None else shape[0])

    @property
    def fan_out(self) -> int:
        shape = self.weight.value.shape
        return int(shape[0] if self.transpose is not None else shape[1])

    @property
    def init(self) -> str:
        return str(self.weight.params.get("init", ""))

    @property
    def parameters(self) -> tuple[Node, ...]:
        return (self.weight,) if self.bias is None else (self.weight, self.bias)

    @property
    def health_kind(self) -> str | None:
        """What :func:`layer_health` measures for this layer's activation (None: nothing)."""
        return health_kind(self.activation)


def health_kind(activation: str | None) -> str | None:
    if activation == "relu":
        return DEAD
    if activation in _SATURATION_BOUND:
        return SATURATED
    return None


def dense_layer(graph: Graph, group: GroupRef) -> DenseLayer | None:
    """The group as a dense layer, or None when its members are something else."""
    g = graph.group(group)
    members = graph.members(g)
    ids = {n.id for n in members}
    for matmul in (n for n in members if n.op == "matmul"):
        layer = _layer_from(graph, matmul, lambda n: n.id in ids, g)
        if layer is not None and {n.id for n in _nodes(layer)} == ids:
            return layer
    return None


def dense_layers(graph: Graph) -> list[DenseLayer]:
    """Every group that is a dense layer, from the input side to the loss side."""
    depth = graph.depths()
    layers = [layer for layer in (dense_layer(graph, g) for g in graph.groups.values())
              if layer is not None]
    return sorted(layers, key=lambda layer: depth[layer.matmul.id])


def group_dense_layers(graph: Graph, stem: str = "layer", collapsed: bool = True) -> list[Group]:
    """Group every dense layer whose nodes are in no group yet (a matmul of a parameter
    matrix, perhaps transposed, plus a bias, then an activation), naming them ``layer1``,
    ``layer2``... from the input side; returns the new groups. Nodes another part of the graph
    also uses (a weight shared by two layers) are left as they are."""
    made = []
    depth = graph.depths()
    for matmul in sorted((n for n in graph.nodes.values() if n.op == "matmul"),
                         key=lambda n: depth[n.id]):
        if matmul.group is not None:
            continue
        layer = _layer_from(graph, matmul, lambda n: n.group is None, None)
        if layer is None:
            continue
        nodes = _nodes(layer)
        name = graph.unique_group_name(f"{stem}{len(made) + 1}")
        made.append(graph.add_group(name, [n.id for n in nodes], collapsed=collapsed))
    return made


def _layer_from(graph: Graph, matmul: Node, allowed: Callable[[Node], bool],
                group: Group | None) -> DenseLayer | None:
    """The dense layer around ``matmul``, if its neighbours make one. Every inner node but
    the output must feed only the next node of the layer, and ``allowed`` must accept each."""
    edges = graph.input_edges(matmul)
    if edges[1] is None or not allowed(matmul):
        return None

    def sole_consumer(node: Node) -> Node | None:
        out = graph.output_edges(node)
        return graph.nodes[out[0].dst] if len(out) == 1 else None

    def private(node: Node, consumer: Node) -> bool:
        return allowed(node) and sole_consumer(node) is consumer

    right = graph.nodes[edges[1].src]
    transpose = None
    if right.op == "transpose" and private(right, matmul):
        transpose, edge = right, graph.input_edges(right)[0]
        right = graph.nodes[edge.src] if edge is not None else right
    weight = right
    if weight.spec.source != "parameter" or weight.value is None or weight.value.ndim != 2 \
            or not private(weight, transpose or matmul):
        return None
    fan_out = weight.value.shape[0 if transpose is not None else 1]
    z, bias = matmul, None
    consumer = sole_consumer(matmul)
    if consumer is not None and consumer.op == "add" and allowed(consumer):
        others = [graph.nodes[e.src] for e in graph.input_edges(consumer)
                  if e is not None and e.src != matmul.id]
        if len(others) == 1 and others[0].spec.source == "parameter" \
                and private(others[0], consumer) and others[0].value is not None \
                and others[0].value.shape in ((fan_out,), (1, fan_out)):
            z, bias = consumer, others[0]
    output, activation = z, None
    after = sole_consumer(z)
    if after is not None and after.op in ACTIVATIONS and allowed(after):
        output, activation = after, after.op
    if group is None:
        group = Group("", "")  # (a layer not yet grouped: only its roles are read)
    return DenseLayer(group, weight, transpose, matmul, bias, z, output, activation)


def _nodes(layer: DenseLayer) -> list[Node]:
    nodes = [layer.weight, layer.transpose, layer.matmul, layer.bias, layer.pre_activation,
             layer.output]
    unique: dict[str, Node] = {}
    for n in nodes:
        if n is not None:
            unique.setdefault(n.id, n)
    return list(unique.values())


# ------------------------------------------------------------------------------------ health
@dataclass(frozen=True)
class Health:
    """A layer's health after a forward pass: ``kind`` "dead" (ReLU units whose output is 0
    for every row of the batch) or "saturated" (sigmoid or tanh outputs where the slope is
    below a tenth of its peak), and the fraction of units (dead) or outputs (saturated)."""

    kind: str
    fraction: float


def layer_health(activation: str | None, output: np.ndarray) -> Health | None:
    """The health of a layer whose activation ``activation`` gave ``output`` (batch first)
    on a forward pass; None for an activation it says nothing about."""
    kind = health_kind(activation)
    if kind is None:
        return None
    return Health(kind, health_fraction(activation, output))


def health_fraction(activation: str, output: np.ndarray) -> float:
    """The fraction :func:`layer_health` reports: dead units for relu, saturated outputs for
    sigmoid and tanh (NaN for an empty output). Kept to a few NumPy calls: a trainer measures
    every layer with it."""
    a = output if isinstance(output, np.ndarray) else np.asarray(output, dtype=np.float64)
    if a.size == 0:
        return math.nan
    if activation == "relu":
        if a.ndim != 2:  # one row per sample, one column per unit
            a = a.reshape(len(a), -1) if a.ndim > 1 else a.reshape(-1, 1)
        # A ReLU's output is never below 0: a unit is dead when its largest output is 0.
        units = a.shape[1]
        return (units - np.count_nonzero(a.max(axis=0))) / units
    if activation == "sigmoid":
        a = a - 0.5
    return np.count_nonzero(np.abs(a) > _SATURATION_BOUND[activation]) / a.size


def forward_health(graph: Graph, value: Callable[[Node], np.ndarray]) -> dict[str, Health]:
    """Group id -> health of every dense layer with a ReLU, sigmoid or tanh, from a forward
    pass: ``value(node)`` gives a node's value (``Engine.value``), or raises LookupError or a
    GraphError for a node the pass did not reach (that layer is left out). What the canvas
    marks on a layer's block after Forward."""
    from .errors import GraphError

    out = {}
    for layer in dense_layers(graph):
        if layer.health_kind is None:
            continue
        try:
            output = value(layer.output)
        except (LookupError, GraphError):
            continue
        out[layer.group.id] = Health(layer.health_kind,
                                     health_fraction(layer.activation, output))
    return out


__all__ = ["ACTIVATIONS", "DEAD", "DenseLayer", "Health", "SATURATED", "SATURATION_FRACTION",
           "dense_layer", "dense_layers", "forward_health", "group_dense_layers",
           "health_fraction", "health_kind", "layer_health"]
