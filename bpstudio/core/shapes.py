"""Symbolic shapes for inference before any data exists.

A shape is a tuple whose entries are ints or the string ``"N"``: the batch size, unknown until
data is fed. Inputs carry a leading ``"N"``; parameters and constants have concrete shapes.
"""

from __future__ import annotations

import functools
from typing import Sequence, Union

import numpy as np

from .errors import ShapeError

BATCH = "N"
Dim = Union[int, str]
Shape = tuple[Dim, ...]


def format_shape(shape: Sequence[Dim]) -> str:
    """``(N, 3)``, ``(4,)``, ``()``: the way NumPy prints a shape, with N for the batch."""
    inner = ", ".join(str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def broadcast(*shapes: Shape) -> Shape:
    """NumPy's broadcasting rule over symbolic shapes; N only meets N or 1."""
    ndim = max((len(s) for s in shapes), default=0)
    out: list[Dim] = []
    for axis in range(-ndim, 0):
        dims = {s[axis] for s in shapes if len(s) >= -axis} - {1}
        if len(dims) > 1:
            raise ShapeError("shapes " + " and ".join(format_shape(s) for s in shapes)
                             + " cannot be broadcast together")
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def normalize_axis(axis: int, ndim: int, what: str = "axis") -> int:
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{what} {axis} is out of range for {ndim} dimension(s)")
    return axis % ndim


@functools.lru_cache(maxsize=16)
def ones(length: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of ``length`` ones, made once per length and dtype: a product with it
    sums the rows (or columns) of a matrix in BLAS, reading it once."""
    vector = np.ones(length, dtype)
    vector.flags.writeable = False
    return vector


def unbroadcast(grad, shape: tuple[int, ...], ctx=None, key: str = "sum"):
    """Sum a gradient back to the shape of the input it belongs to (undoes broadcasting).
    Given an op's context, a bias's gradient is written into its reused array ``key``."""
    if grad.shape == shape:
        return grad
    if grad.ndim == 2 and shape == grad.shape[1:]:
        # A bias's gradient, a batch of rows summed into one: one product with a vector of
        # ones reads the batch once, where sum(axis=0) adds the rows one by one, at about
        # twice the cost.
        return np.matmul(ones(grad.shape[0], grad.dtype), grad,
                         out=None if ctx is None else ctx.buffer(key, shape, grad.dtype))
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    kept = tuple(i for i, d in enumerate(shape) if d == 1 and grad.shape[i] != 1)
    if kept:
        grad = grad.sum(axis=kept, keepdims=True)
    return grad


def result_shape(a, b) -> tuple[int, ...]:
    """The broadcast shape of two arrays, with a fast path for the common same-shape and
    bias-over-a-batch cases (NumPy's general rule costs microseconds per call)."""
    sa, sb = a.shape, b.shape
    if sa == sb or (len(sb) <= len(sa) and sa[len(sa) - len(sb):] == sb):
        return sa
    if len(sa) < len(sb) and sb[len(sb) - len(sa):] == sa:
        return sb
    return np.broadcast_shapes(sa, sb)
