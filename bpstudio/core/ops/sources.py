"""Source nodes: where values enter the graph. They have no forward of their own; the engine
reads a feed (input), a trainable array (parameter) or a fixed array (constant)."""

from __future__ import annotations

from ..initializers import INITIALIZERS
from .base import SOURCES, Op, Param, register


@register
class Input(Op):
    name = "input"
    title = "Input"
    group = SOURCES
    source = "input"
    doc = "A named data feed. Its values arrive with the batch dimension first: shape (N, *shape)."
    derivative = "No local derivative: an input receives the gradient but passes it nowhere."
    params = (
        Param("shape", "shape", (), "Shape of one sample, without the batch dimension N."),
    )


@register
class Parameter(Op):
    name = "parameter"
    title = "Parameter"
    group = SOURCES
    source = "parameter"
    doc = "A trainable array (weights or bias). The optimiser updates it from its gradient."
    derivative = "No local derivative: the gradient that arrives here is what the optimiser uses."
    params = (
        Param("shape", "shape", (), "Shape of the array, e.g. 2, 4 for a 2x4 weight matrix."),
        Param("init", "choice", "normal", "How the values are drawn when the shape is set.",
              choices=tuple(INITIALIZERS)),
        Param("scale", "float", 0.1, "Standard deviation (normal), bound (uniform) or value "
              "(constant); the Xavier and He rules ignore it.", minimum=0.0),
    )


@register
class Constant(Op):
    name = "constant"
    title = "Constant"
    group = SOURCES
    source = "constant"
    doc = "A fixed array that takes part in the computation but is never trained."
    derivative = "No local derivative: a constant receives a gradient that nothing uses."
