"""Arithmetic ops. Elementwise ops broadcast like NumPy; their backward sums each gradient back
to the shape of its input (:func:`unbroadcast`), which is where a bias shared by a whole batch
collects the blame of every sample."""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..shapes import BATCH, broadcast, format_shape, normalize_axis, result_shape, unbroadcast
from .base import ARITHMETIC, Op, Param, Port, register

N = BATCH
BROADCAST_CASES = (
    ((N, 3), (N, 3)),   # same shape
    ((N, 3), (3,)),     # bias-style broadcast over the batch
    ((N, 1), (1, 3)),   # both sides broadcast
    ((), (N, 2)),       # scalar on the left
)


def _dtype(a, b):
    """np.result_type(a, b), without its Python-level dispatch in the common case of one
    dtype (an engine computes in one)."""
    return a.dtype if a.dtype == b.dtype else np.result_type(a, b)


def _result(ctx, ufunc, a, b):
    """ufunc(a, b) written into this node's reused output array (or over ``a``, see
    Context.result: a bias added to a product in the product's own array)."""
    sa, sb = a.shape, b.shape
    # (Context.result's test for the common case, a bias over a batch or the same shapes,
    # without its calls: a training step makes it at every add.)
    if (ctx.overwrite_input and type(a) is np.ndarray and a.dtype == b.dtype
            and b.ndim <= a.ndim and sa[a.ndim - b.ndim:] == sb):
        return ufunc(a, b, out=a)
    return ufunc(a, b, out=ctx.result("out", a, result_shape(a, b), _dtype(a, b)))


def _product(ctx, key, grad, other, shape):
    """grad * other, summed back to ``shape``, through reused arrays."""
    return unbroadcast(np.multiply(grad, other, out=ctx.buffer(key, grad.shape, grad.dtype)), shape)


class _Binary(Op):
    group = ARITHMETIC
    elementwise = True
    own_value = True  # (written into a reused array; backward reads inputs, not the result)
    inputs = (Port("a"), Port("b"))
    examples = BROADCAST_CASES

    @staticmethod
    def infer_shape(a, b):
        return broadcast(a, b)


@register
class Add(_Binary):
    name = "add"
    title = "Add"
    doc = "Elementwise a + b (broadcasting)."
    derivative = "d(a + b)/da = 1, d(a + b)/db = 1: the gradient passes through unchanged"
    writes_over_input = True  # backward needs only the shapes

    @staticmethod
    def forward(ctx, a, b):
        ctx.saved = (a.shape, b.shape)  # (not ctx.save: one call fewer per pass)
        return _result(ctx, np.add, a, b)

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.saved
        na, nb = ctx.needs_input_grad
        # (The same shape, as for a product with its bias added: the gradient itself.)
        return ((grad if grad.shape == sa else unbroadcast(grad, sa, ctx, "ga")) if na else None,
                unbroadcast(grad, sb, ctx, "gb") if nb else None)


@register
class Subtract(_Binary):
    name = "subtract"
    title = "Subtract"
    doc = "Elementwise a - b (broadcasting)."
    derivative = "d(a - b)/da = 1, d(a - b)/db = -1"
    writes_over_input = True  # backward needs only the shapes

    @staticmethod
    def forward(ctx, a, b):
        ctx.save(a.shape, b.shape)
        return _result(ctx, np.subtract, a, b)

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.saved
        na, nb = ctx.needs_input_grad
        gb = None
        if nb:
            gb = unbroadcast(np.negative(grad, out=ctx.buffer("gb", grad.shape, grad.dtype)), sb)
        return (unbroadcast(grad, sa) if na else None, gb)


@register
class Multiply(_Binary):
    name = "multiply"
    title = "Multiply"
    doc = "Elementwise a * b (broadcasting)."
    derivative = "d(a * b)/da = b, d(a * b)/db = a: each input's gradient is the other input"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save(a, b)
        return _result(ctx, np.multiply, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        na, nb = ctx.needs_input_grad
        return (_product(ctx, "ga", grad, b, a.shape) if na else None,
                _product(ctx, "gb", grad, a, b.shape) if nb else None)


@register
class Divide(_Binary):
    name = "divide"
    title = "Divide"
    inputs = (Port("a"), Port("b", "Divisor; must not be zero.", domain="positive"))
    doc = "Elementwise a / b (broadcasting)."
    derivative = "d(a / b)/da = 1/b, d(a / b)/db = -a/b^2"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save(a, b)
        return _result(ctx, np.divide, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        na, nb = ctx.needs_input_grad
        ga = grad / b
        return (unbroadcast(ga, a.shape) if na else None,
                unbroadcast(-ga * a / b, b.shape) if nb else None)


@register
class MatMul(Op):
    name = "matmul"
    title = "MatMul"
    group = ARITHMETIC
    inputs = (Port("a", "Left matrix, e.g. a batch of rows (N, k)."),
              Port("b", "Right matrix, e.g. weights (k, m)."))
    doc = "Matrix product a @ b; a layer's weighted sums for a whole batch at once."
    derivative = "d(a @ b)/da = grad @ b.T, d(a @ b)/db = a.T @ grad"
    examples = (((N, 3), (3, 2)), ((N, 4), (4,)), ((3,), (3, 2)), ((2, 3), (3, 4)))
    # The product is a fresh or reused array of its own, and so is each gradient (backward
    # reads the inputs only): a bias may be added in the product's array, and a ReLU's
    # gradient masked in the array handed back to it.
    own_value = True
    hands_back_own = True

    @staticmethod
    def infer_shape(a, b):
        if not a or not b:
            raise ShapeError("matmul needs at least one dimension on each side, got "
                             f"{format_shape(a)} @ {format_shape(b)}")
        inner_a = a[-1]
        inner_b = b[-2] if len(b) >= 2 else b[0]
        if inner_a != inner_b:
            raise ShapeError(f"{format_shape(a)} @ {format_shape(b)}: inner dimensions differ")
        batch = broadcast(a[:-2], b[:-2])
        rows = a[-2:-1]
        cols = b[-1:] if len(b) >= 2 else ()
        return batch + rows + cols

    @staticmethod
    def forward(ctx, a, b):
        ctx.saved = (a, b)  # (not ctx.save: one call fewer per pass)
        if a.ndim == 2 and b.ndim == 2:
            dtype = a.dtype
            return np.matmul(a, b, out=ctx.buffer("out", (a.shape[0], b.shape[1]),
                                                  dtype if b.dtype == dtype else _dtype(a, b)))
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        na, nb = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common layer case, without reshaping
            ga = np.matmul(grad, b.T, out=ctx.buffer("ga", a.shape, grad.dtype)) if na else None
            gb = np.matmul(a.T, grad, out=ctx.buffer("gb", b.shape, grad.dtype)) if nb else None
            return ga, gb
        # General case: promote vectors to matrices the way np.matmul does, then undo it.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = grad
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        ga = gb = None
        if na:
            ga = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if nb:
            gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb


@register
class Power(Op):
    name = "power"
    title = "Power"
    group = ARITHMETIC
    elementwise = True
    inputs = (Port("x", domain="positive"),)
    params = (Param("exponent", "float", 2.0, "The fixed power p in x^p."),)
    doc = "Elementwise x^p for a fixed exponent p."
    derivative = "d x^p/dx = p * x^(p-1)"
    examples = (((N, 3),), ((),))

    @staticmethod
    def infer_shape(x, exponent):
        return x

    @staticmethod
    def forward(ctx, x, exponent):
        ctx.save(x, exponent)
        return x ** exponent

    @staticmethod
    def backward(ctx, grad):
        x, p = ctx.saved
        return (grad * (p * x ** (p - 1.0)),)


@register
class Square(Op):
    name = "square"
    title = "Square"
    group = ARITHMETIC
    elementwise = True
    inputs = (Port("x"),)
    doc = "Elementwise x^2."
    derivative = "d x^2/dx = 2x"
    examples = (((N, 3),), ((),))

    @staticmethod
    def infer_shape(x):
        return x

    @staticmethod
    def forward(ctx, x):
        ctx.save(x)
        return np.multiply(x, x, out=ctx.buffer("out", x.shape, x.dtype))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        g = np.multiply(x, 2.0, out=ctx.buffer("gx", x.shape, grad.dtype))
        return (np.multiply(g, grad, out=g),)


class _Reduction(Op):
    group = ARITHMETIC
    inputs = (Port("x"),)
    params = (
        Param("axis", "axis", None, "Axis to reduce over; None reduces over every element."),
        Param("keepdims", "bool", False, "Keep the reduced axis with length 1."),
    )
    examples = (((N, 3),), ((N, 2, 3),), ((4,),))

    @staticmethod
    def infer_shape(x, axis, keepdims):
        if axis is None:
            return tuple(1 for _ in x) if keepdims else ()
        ax = normalize_axis(axis, len(x))
        if keepdims:
            return x[:ax] + (1,) + x[ax + 1:]
        return x[:ax] + x[ax + 1:]

    @staticmethod
    def _spread(grad, shape, axis, keepdims):
        """Give every element that went into the reduction the reduced element's gradient."""
        if axis is not None and not keepdims:
            grad = np.expand_dims(grad, axis)
        return np.broadcast_to(grad, shape)


@register
class Sum(_Reduction):
    name = "sum"
    title = "Sum"
    doc = "Sum of the elements, over all axes or one."
    derivative = "d sum(x)/dx_i = 1: every element gets the whole gradient"

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.save(x.shape, axis, keepdims)
        return np.asarray(x.sum(axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        shape, axis, keepdims = ctx.saved
        return (_Reduction._spread(grad, shape, axis, keepdims),)


@register
class Mean(_Reduction):
    name = "mean"
    title = "Mean"
    doc = "Mean of the elements, over all axes or one."
    derivative = "d mean(x)/dx_i = 1/n for n elements averaged"

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.save(x.shape, axis, keepdims)
        return np.asarray(x.mean(axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        shape, axis, keepdims = ctx.saved
        count = int(np.prod(shape)) if axis is None else shape[axis]
        return (_Reduction._spread(grad / count, shape, axis, keepdims),)
