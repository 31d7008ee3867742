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

from typing import Any, Sequence

import numpy as np

from .model import Node
from .ops import get_op

Operand = Any  # Node | node name | number | array


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
    def dense(self, x: Operand, fan_in: int, fan_out: int, name: str,
              activation: str | None = None, init: str = "xavier_uniform",
              scale: float = 0.1, collapsed: bool = True) -> Node:
        """x @ W + b (then an activation): the nodes of one fully connected layer, with
        parameters named ``{name}.W`` and ``{name}.b``, the product ``{name}.matmul``, the
        pre-activation ``{name}.z`` and the output ``{name}`` (the sum itself when there is no
        activation), gathered in a group (a layer) called ``name``, shown as one block while
        ``collapsed``. ``scale`` is the initialiser's (the standard deviation of "normal", the
        half-width of "uniform")."""
        w = self.parameter(f"{name}.W", shape=(fan_in, fan_out), init=init, scale=scale)
        b = self.parameter(f"{name}.b", shape=(fan_out,), init="zeros")
        product = self.matmul(x, w, name=f"{name}.matmul")
        z = self.add(product, b, name=name if activation is None else f"{name}.z")
        out = z if activation is None else self.apply(activation, z, name=name)
        members = [w, b, product, z] + ([] if activation is None else [out])
        self.add_group(self.unique_group_name(name), members, collapsed=collapsed)
        return out
