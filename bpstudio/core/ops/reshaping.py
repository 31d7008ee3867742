"""Ops that move numbers without computing new ones: a transpose and a flatten. No value
changes, so the backward pass only puts each gradient back where its number came from.

Both exist so that ONNX models import node for node: Gemm may transpose either operand, and a
model's classifier head often starts by flattening (N, 28, 28) images into (N, 784) rows.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ShapeError
from ..shapes import BATCH, format_shape
from .base import ARITHMETIC, Op, Port, register

N = BATCH


@register
class Transpose(Op):
    name = "transpose"
    title = "Transpose"
    group = ARITHMETIC
    inputs = (Port("x", "An array; for a matrix (k, m) the result is (m, k)."),)
    doc = "Reverses the order of the axes: the matrix transpose (rows become columns)."
    derivative = "d x.T/dx: each number only moved, so the gradient moves back (grad.T)"
    # No batch case: reversing axes would move N away from the front, where inputs and data
    # expect it. Gemm transposes weights and other fixed matrices.
    examples = (((2, 3),), ((4,),), ((3, 1),), ((2, 3, 4),))

    @staticmethod
    def infer_shape(x):
        return tuple(reversed(x))

    @staticmethod
    def forward(ctx, x):
        return np.transpose(x)

    @staticmethod
    def backward(ctx, grad):
        return (np.transpose(grad),)


@register
class Flatten(Op):
    name = "flatten"
    title = "Flatten"
    group = ARITHMETIC
    inputs = (Port("x", "A batch (N, ...) of samples of any shape."),)
    doc = "Keeps the first axis and lays every sample out as one row: (N, a, b) becomes (N, a*b)."
    derivative = "d flatten(x)/dx: each number only moved, so the gradient is reshaped back"
    examples = (((N, 2, 3),), ((N, 4),), ((N,),), ((2, 3, 2),))

    @staticmethod
    def infer_shape(x):
        if not x:
            raise ShapeError("flatten needs at least one axis (the batch), got ()")
        rest = x[1:]
        if BATCH in rest:
            raise ShapeError(f"flatten keeps the first axis; {format_shape(x)} has the batch N "
                             "further in")
        return (x[0], math.prod(rest))

    @staticmethod
    def forward(ctx, x):
        ctx.save(x.shape)
        return x.reshape(x.shape[0], -1)

    @staticmethod
    def backward(ctx, grad):
        (shape,) = ctx.saved
        return (grad.reshape(shape),)
