"""The chain rule through a whole dense layer, in matrix form, with the engine's numbers.

A walkthrough at a collapsed layer shows its four gradients at once rather than op by op:

    dL/dz = dL/da ⊙ f'(z)      dL/dW = Xᵀ dL/dZ      dL/db = Σ_rows dL/dz      dL/dx = dL/dz Wᵀ

:func:`layer_chain` reads every one of these arrays from a :class:`~bpstudio.core.trace.Trace`
(the engine's values, gradients and contributions; f'(z) is the activation's local derivative
as the trace records it), and :func:`describe_layer` words them for one row of the batch in
the walkthrough's lines (see :mod:`.trace_text`). :func:`walk` is the trace's steps with each
collapsed layer's ops folded into one :class:`LayerStep` per phase, so that a walk steps over a
collapsed layer as one block and through an opened one op by op. Nothing is recomputed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .graph import Graph
from .layers import DenseLayer, dense_layer
from .model import GroupRef
from .trace import BACKWARD, FORWARD, Step, Trace
from .trace_text import HEAD, MATH, TEXT, Line, number

# How each activation's local derivative reads, for the line f'(z) = ...
_DERIVATIVE = {"relu": "1 where z > 0, else 0", "leaky_relu": "1 where z > 0, else alpha",
               "sigmoid": "s(z) (1 - s(z))", "tanh": "1 - tanh(z)^2"}


@dataclass(frozen=True)
class LayerChain:
    """One dense layer's pass, every array the engine's (rows first where per sample): its
    input ``x``, the matrix ``w`` the product uses (W, or W.T for an imported Gemm), the bias,
    ``z``, the output ``a``, and the gradients dL/da, f'(z), dL/dz, dL/dW (of the matrix the
    product uses, summed over the rows), dL/db (summed over the rows) and dL/dx (what the layer
    hands back to its input)."""

    layer: DenseLayer
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None
    z: np.ndarray
    a: np.ndarray
    dl_da: np.ndarray
    f_prime: np.ndarray | None   # None without an activation (a = z)
    dl_dz: np.ndarray
    dl_dw: np.ndarray
    dl_db: np.ndarray | None
    dl_dx: np.ndarray
    rows: int
    output_name: str             # L: the node the backward pass started from

    @property
    def name(self) -> str:
        return self.layer.name


def layer_chain(trace: Trace, graph: Graph, group: GroupRef) -> LayerChain:
    """The matrix form of the chain rule through ``group`` (a dense layer) in ``trace``.
    Raises ValueError when the group is no dense layer, KeyError when the trace did not pass
    through it."""
    layer = dense_layer(graph, group)
    if layer is None:
        raise ValueError(f"group '{graph.group(group).name}' is not a dense layer")
    product = trace.forward_step(layer.matmul.id)
    x_in, w_in = product.inputs
    out_back = trace.backward_step(layer.output.id)
    z_back = trace.backward_step(layer.pre_activation.id)
    product_back = trace.backward_step(layer.matmul.id)
    to_x, to_w = product_back.handoffs
    f_prime = None
    if layer.activation is not None:
        f_prime = out_back.handoffs[0].local
        if f_prime is None:  # the trace gives no number per element (the pass did not reach it)
            f_prime = np.zeros_like(trace.forward_step(layer.output.id).value)
    b = dl_db = None
    if layer.bias is not None:
        b = trace.forward_step(layer.bias.id).value
        handoff = next(h for h in z_back.handoffs if h.source_id == layer.bias.id)
        dl_db = handoff.gradient
    return LayerChain(
        layer, x_in.value, w_in.value, b, trace.forward_step(layer.pre_activation.id).value,
        trace.forward_step(layer.output.id).value, out_back.gradient, f_prime,
        z_back.gradient, _or_zeros(to_w.gradient, w_in.value), dl_db,
        _or_zeros(to_x.gradient, x_in.value), trace.rows, trace.output_name)


def _or_zeros(gradient: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    # (a port that takes no gradient, such as the data feeding the first layer in a pass
    # that computes only what parameters need: nothing flows there)
    return np.zeros_like(like) if gradient is None else gradient


@dataclass(frozen=True)
class LayerStep:
    """A collapsed layer in a walk: its ops' steps of one phase, as one step."""

    chain: LayerChain
    phase: str                  # FORWARD or BACKWARD
    node_ids: tuple[str, ...]   # the member steps it stands for, in the trace's order

    @property
    def node_id(self) -> str:
        """The node a walk is "at" (for highlighting): the layer's output."""
        return self.chain.layer.output.id

    @property
    def group_id(self) -> str:
        return self.chain.layer.group.id

    @property
    def name(self) -> str:
        return self.chain.name


def walk(trace: Trace, graph: Graph) -> tuple[Step | LayerStep, ...]:
    """The trace's steps, forward then backward, with each collapsed dense layer's steps of a
    phase replaced by one LayerStep where the first of them stood. Other groups, and layers
    opened on the canvas, keep their op-by-op steps."""
    chains = {}
    for group in graph.groups.values():
        if group.collapsed and dense_layer(graph, group) is not None:
            try:
                chains[group.id] = layer_chain(trace, graph, group)
            except KeyError:  # the pass did not go through this layer
                continue
    member_of = {node_id: group_id for group_id in chains
                 for node_id in graph.member_ids(group_id)}
    out: list[Step | LayerStep] = []
    for phase, steps in ((FORWARD, trace.forward), (BACKWARD, trace.backward)):
        covered: dict[str, list[str]] = {}
        placed: dict[str, int] = {}
        for step in steps:
            group_id = member_of.get(step.node_id)
            if group_id is None:
                out.append(step)
                continue
            covered.setdefault(group_id, []).append(step.node_id)
            if group_id not in placed:
                placed[group_id] = len(out)
                out.append(None)  # (filled below, once every member step is known)
        for group_id, index in placed.items():
            out[index] = LayerStep(chains[group_id], phase, tuple(covered[group_id]))
    return tuple(out)


def describe_layer_step(step: LayerStep, row: int | None = None) -> list[Line]:
    """The walkthrough's lines for a layer step: its forward product, or its four gradients
    in matrix form."""
    if step.phase == FORWARD:
        return _forward_lines(step.chain, row)
    return [_heading(step.chain)] + _backward_lines(step.chain, row)


def describe_layer(chain: LayerChain, row: int | None = None) -> list[Line]:
    """The walkthrough's lines for a collapsed layer, following sample ``row`` (None: all
    rows): the forward product, then the four gradients in matrix form."""
    return _forward_lines(chain, row) + _backward_lines(chain, row)


def _heading(chain: LayerChain) -> Line:
    layer = chain.layer
    return (HEAD, f"Layer: {chain.name} ({layer.fan_in} -> {layer.fan_out}, "
                  f"{layer.activation or 'no activation'})")


def _which(chain: LayerChain, row: int | None) -> str:
    return "all rows" if row is None else f"row {row + 1} of {chain.rows}"


def _forward_lines(chain: LayerChain, row: int | None) -> list[Line]:
    layer, r = chain.layer, row
    lines: list[Line] = [
        _heading(chain),
        (TEXT, f"The whole layer at once, in matrix form, on {_which(chain, r)}."),
        (MATH, f"x = {number(chain.x, True, r)}"),
        (MATH, f"z = x W + b = {number(chain.z, True, r)}"),
    ]
    if layer.activation is not None:
        lines.append((MATH, f"a = {layer.activation}(z) = {number(chain.a, True, r)}"))
    return lines


def _backward_lines(chain: LayerChain, row: int | None) -> list[Line]:
    layer, r = chain.layer, row
    L = chain.output_name
    lines: list[Line] = [
        (TEXT, f"Backward, from the gradient that reaches the layer's output, on "
               f"{_which(chain, r)}. X stacks the rows' inputs ({chain.rows} x {layer.fan_in}) "
               f"and dL/dZ their gradients at z ({chain.rows} x {layer.fan_out})."),
        (MATH, f"dL/da = d {L}/d {layer.output.name} = {number(chain.dl_da, True, r)}"),
    ]
    if chain.f_prime is not None:
        lines += [(MATH, f"f'(z) = {_DERIVATIVE.get(layer.activation, 'its local derivative')}"
                         f" = {number(chain.f_prime, True, r)}"),
                  (MATH, f"dL/dz = dL/da ⊙ f'(z) = {number(chain.dl_dz, True, r)}")]
    else:
        lines.append((MATH, f"dL/dz = dL/da = {number(chain.dl_dz, True, r)}  (no activation)"))
    lines.append((MATH, f"dL/dW = Xᵀ dL/dZ ({layer.fan_in} x {layer.fan_out}, summed over the "
                        f"{chain.rows} rows) = {number(chain.dl_dw)}"))
    if chain.dl_db is not None:
        lines.append((MATH, f"dL/db = Σ over rows of dL/dz = {number(chain.dl_db)}"))
    lines.append((MATH, f"dL/dx = dL/dz Wᵀ = {number(chain.dl_dx, True, r)}"))
    lines.append((TEXT, "dL/dW and dL/db add every row's part: each row's x and dL/dz "
                        "contribute xᵀ dL/dz and dL/dz. dL/dx goes back to the layer's input."))
    return lines


__all__ = ["LayerChain", "LayerStep", "describe_layer", "describe_layer_step", "layer_chain",
           "walk"]
