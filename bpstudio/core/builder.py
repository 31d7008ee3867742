"""The scripting API: one builder method per op, so that a graph is a few lines of Python.

    g = Graph()
    x = g.input("x")
    w = g.parameter("w", value=0.5)
    loss = g.mse(g.relu(g.add(g.mul(w, x), g.parameter("b", value=0.1))), g.input("t"))

Every method returns the new node, which serves as an input to the next call. Inputs may also be
given by name, or as plain numbers or arrays (they become constant nodes). ``g.apply(op, ...)``
reaches any registered op, including ones added after this file was written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .errors import GraphError
from .model import Node
from .ops import get_op

Operand = Any  # Node | node name | number | array


@dataclass(frozen=True)
class PlannedNode:
    op: str
    name: str
    params: dict[str, Any]


@dataclass(frozen=True)
class DensePlan:
    """What a dense layer adds, before anything is added: its nodes (W, b, the product, z, then
    the activation if any), the wires among them as (from, to, input port) indices into
    ``nodes``, the node and port the layer's input wires into, the node that is its output,
    and the group over them all. :meth:`GraphBuilder.dense` carries a plan out; an editor can
    carry the same plan out as undoable commands (add each node, wire, group)."""

    name: str
    nodes: tuple[PlannedNode, ...]
    wires: tuple[tuple[int, int, str], ...]
    input: tuple[int, str]
    output: int
    collapsed: bool


class GraphBuilder:
    """Mixed into :class:`~bpstudio.core.graph.Graph`."""

    def apply(self, op: str, *inputs: Operand, name: str | None = None, **params: Any) -> Node:
        """Add a node of ``op`` fed by ``inputs`` (in port order) and return it."""
        spec = get_op(op)
        ports = spec.input_names()
        if len(inputs) != len(ports):
            raise TypeError(f"{op} takes {len(ports)} input(s) ({', '.join(ports)}), "
                            f"got {len(inputs)}")
        sources = [self._operand(x) for x in inputs]
        node = self.add_node(op, name=name, params=params)
        for src, port in zip(sources, ports):
            self.connect(src, node, port)
        return node

    def _operand(self, x: Operand) -> Node:
        if isinstance(x, (Node, str)):
            return self.node(x)
        if isinstance(x, (int, float, np.ndarray, list, tuple, np.number)):
            return self.constant(x)
        raise TypeError(f"cannot use {type(x).__name__} as a graph input")

    # Sources -------------------------------------------------------------------------------
    def input(self, name: str, shape: Sequence[int] = ()) -> Node:
        """A data feed; ``shape`` is one sample's shape (the batch dimension N comes first)."""
        return self.add_node("input", name=name, params={"shape": tuple(shape)})

    def parameter(self, name: str | None = None, value: Any = None, shape: Sequence[int] | None = None,
                  init: str = "normal", scale: float = 0.1) -> Node:
        """A trainable array: give ``value``, or ``shape`` and an initialiser."""
        if (value is None) == (shape is None):
            raise TypeError("parameter() takes either value= or shape=")
        params: dict[str, Any] = {"init": init, "scale": scale}
        if shape is not None:
            params["shape"] = tuple(shape)
        return self.add_node("parameter", name=name, params=params, value=value)

    def constant(self, value: Any, name: str | None = None) -> Node:
        return self.add_node("constant", name=name, value=value)

    # Arithmetic ----------------------------------------------------------------------------
    def add(self, a: Operand, b: Operand, name: str | None = None) -> Node:
        return self.apply("add", a, b, name=name)

    def sub(self, a: Operand, b: Operand, name: str | None = None) -> Node:
        return self.apply("subtract", a, b, name=name)

    def mul(self, a: Operand, b: Operand, name: str | None = None) -> Node:
        return self.apply("multiply", a, b, name=name)

    def div(self, a: Operand, b: Operand, name: str | None = None) -> Node:
        return self.apply("divide", a, b, name=name)

    def matmul(self, a: Operand, b: Operand, name: str | None = None) -> Node:
        return self.apply("matmul", a, b, name=name)

    def power(self, x: Operand, exponent: float, name: str | None = None) -> Node:
        return self.apply("power", x, name=name, exponent=exponent)

    def square(self, x: Operand, name: str | None = None) -> Node:
        return self.apply("square", x, name=name)

    def sum(self, x: Operand, axis: int | None = None, keepdims: bool = False,
            name: str | None = None) -> Node:
        return self.apply("sum", x, name=name, axis=axis, keepdims=keepdims)

    def mean(self, x: Operand, axis: int | None = None, keepdims: bool = False,
             name: str | None = None) -> Node:
        return self.apply("mean", x, name=name, axis=axis, keepdims=keepdims)

    def transpose(self, x: Operand, name: str | None = None) -> Node:
        return self.apply("transpose", x, name=name)

    def flatten(self, x: Operand, name: str | None = None) -> Node:
        return self.apply("flatten", x, name=name)

    # Activations and functions ------------------------------------------------------------
    def relu(self, x: Operand, name: str | None = None) -> Node:
        return self.apply("relu", x, name=name)

    def leaky_relu(self, x: Operand, alpha: float = 0.01, name: str | None = None) -> Node:
        return self.apply("leaky_relu", x, name=name, alpha=alpha)

    def sigmoid(self, x: Operand, name: str | None = None) -> Node:
        return self.apply("sigmoid", x, name=name)

    def tanh(self, x: Operand, name: str | None = None) -> Node:
        return self.apply("tanh", x, name=name)

    def softmax(self, x: Operand, axis: int = -1, name: str | None = None) -> Node:
        return self.apply("softmax", x, name=name, axis=axis)

    def exp(self, x: Operand, name: str | None = None) -> Node:
        return self.apply("exp", x, name=name)

    def log(self, x: Operand, name: str | None = None) -> Node:
        return self.apply("log", x, name=name)

    # Losses --------------------------------------------------------------------------------
    def mse(self, prediction: Operand, target: Operand, name: str | None = None) -> Node:
        return self.apply("mse", prediction, target, name=name)

    def bce(self, probability: Operand, target: Operand, name: str | None = None) -> Node:
        return self.apply("bce", probability, target, name=name)

    def bce_logits(self, logits: Operand, target: Operand, name: str | None = None) -> Node:
        return self.apply("bce_logits", logits, target, name=name)

    def softmax_ce(self, logits: Operand, labels: Operand, name: str | None = None) -> Node:
        return self.apply("softmax_ce", logits, labels, name=name)

    # Layers --------------------------------------------------------------------------------
    def dense_plan(self, fan_in: int, fan_out: int, name: str | None = None,
                   activation: str | None = None, init: str = "xavier_uniform",
                   scale: float = 0.1, collapsed: bool = True) -> DensePlan:
        """The plan of :meth:`dense` (see :class:`DensePlan`), checked against the graph: the
        names free, the sizes, initialiser and activation valid; GraphError otherwise. Without
        ``name``, the first free ``layerN``."""
        if name is None:
            name = next(f"layer{k}" for k in range(1, len(self.nodes) + 2)
                        if self._dense_names_problem(f"layer{k}") is None)
        problem = self._dense_names_problem(name)
        if problem is not None:
            raise GraphError(problem)
        if activation is not None:
            spec = get_op(activation)  # (KeyError names the unknown op)
            if not spec.elementwise or len(spec.inputs) != 1:
                raise GraphError(f"a layer's activation takes one value to one value, as "
                                 f"relu, sigmoid or tanh do; {activation} does not")
        parameter = get_op("parameter")
        try:
            weights = {"shape": parameter.param("shape").coerce((fan_in, fan_out)),
                       "init": parameter.param("init").coerce(init),
                       "scale": parameter.param("scale").coerce(scale)}
        except ValueError as exc:
            raise GraphError(f"dense layer '{name}': {exc}") from None
        nodes = [PlannedNode("parameter", f"{name}.W", weights),
                 PlannedNode("parameter", f"{name}.b",
                             {"shape": (weights["shape"][1],), "init": "zeros", "scale": 0.1}),
                 PlannedNode("matmul", f"{name}.matmul", {}),
                 PlannedNode("add", name if activation is None else f"{name}.z", {})]
        wires = [(0, 2, "b"), (2, 3, "a"), (1, 3, "b")]
        if activation is not None:
            nodes.append(PlannedNode(activation, name, {}))
            wires.append((3, 4, get_op(activation).input_names()[0]))
        return DensePlan(name, tuple(nodes), tuple(wires), (2, "a"), len(nodes) - 1,
                         bool(collapsed))

    def _dense_names_problem(self, name: str) -> str | None:
        """Why a dense layer cannot be called ``name`` (its nodes' names or the group's)."""
        for node_name in (name, f"{name}.W", f"{name}.b", f"{name}.matmul", f"{name}.z"):
            problem = self.name_problem(node_name)
            if problem is not None:
                return problem
        return self.group_name_problem(name)

    def dense(self, x: Operand, fan_in: int, fan_out: int, name: str,
              activation: str | None = None, init: str = "xavier_uniform",
              scale: float = 0.1, collapsed: bool = True) -> Node:
        """x @ W + b (then an activation): the nodes of one fully connected layer, with
        parameters named ``{name}.W`` and ``{name}.b``, the product ``{name}.matmul``, the
        pre-activation ``{name}.z`` and the output ``{name}`` (the sum itself when there is no
        activation), gathered in a group (a layer) called ``name``, shown as one block while
        ``collapsed``. ``scale`` is the initialiser's (the standard deviation of "normal", the
        half-width of "uniform")."""
        plan = self.dense_plan(fan_in, fan_out, name, activation, init, scale, collapsed)
        source = self._operand(x)
        nodes = [self.add_node(p.op, name=p.name, params=p.params) for p in plan.nodes]
        self.connect(source, nodes[plan.input[0]], plan.input[1])
        for a, b, port in plan.wires:
            self.connect(nodes[a], nodes[b], port)
        self.add_group(plan.name, nodes, collapsed=plan.collapsed)
        return nodes[plan.output]
