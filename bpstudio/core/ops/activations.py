"""Activations and elementwise functions. Their local derivatives are where gradients fade
(sigmoid's slope is at most 1/4) or survive (ReLU's slope is exactly 1 where it is active)."""

from __future__ import annotations

import numpy as np

from ..shapes import BATCH, normalize_axis
from .base import ACTIVATIONS, MAX_DIMS, Op, Param, Port, register

N = BATCH


class _Elementwise(Op):
    group = ACTIVATIONS
    elementwise = True
    inputs = (Port("x"),)
    examples = (((N, 3),), ((N,),), ((2, 3),))

    @staticmethod
    def infer_shape(x, **params):
        return x


@register
class ReLU(_Elementwise):
    name = "relu"
    title = "ReLU"
    doc = "Rectified linear unit: max(0, x). Passes positive values, blocks negative ones."
    derivative = "d relu(x)/dx = 1 if x > 0 else 0"
    writes_over_input = True
    writes_over_grad = True

    @staticmethod
    def forward(ctx, x):
        # Against a row of zeros broadcast over the batch NumPy runs maximum's loop for two
        # arrays, faster than against the scalar 0.0 (NumPy 2.4: 8 against 17 us for 128 x 256)
        # and, in a training step, than against zeros of x's own shape, which are read from
        # memory each time. (Context.result's test without its call: the result has x's
        # shape and dtype.)
        zeros = ctx.kept
        if zeros is None or zeros.shape != x.shape[1:] or zeros.dtype != x.dtype:
            zeros = ctx.kept = np.zeros(x.shape[1:], x.dtype)
        out = np.maximum(x, zeros, out=x if ctx.overwrite_input and type(x) is np.ndarray
                         else ctx.buffer("out", x.shape, x.dtype))
        if ctx.needs_input_grad[0]:
            # The slope (1 where out > 0, exactly where x > 0), taken while out is at hand: by
            # backward's time the products between have pushed it out of the cache, and an
            # array of booleans is an eighth of its size.
            ctx.saved = (np.greater(out, 0.0, out=ctx.buffer("active", out.shape, np.bool_)),)
        return out

    @staticmethod
    def backward(ctx, grad):
        (active,) = ctx.saved
        gx = grad if ctx.overwrite_grad else ctx.buffer("gx", grad.shape, grad.dtype)
        return (np.multiply(grad, active, out=gx),)


@register
class LeakyReLU(_Elementwise):
    name = "leaky_relu"
    title = "Leaky ReLU"
    params = (Param("alpha", "float", 0.01, "Slope for negative inputs.", minimum=0.0),)
    doc = "Like ReLU, but negative values keep a small slope alpha, so their gradient never dies."
    derivative = "d leaky_relu(x)/dx = 1 if x > 0 else alpha"

    @staticmethod
    def forward(ctx, x, alpha):
        positive = x > 0.0
        ctx.save(positive, alpha)
        return np.where(positive, x, alpha * x)

    @staticmethod
    def backward(ctx, grad):
        positive, alpha = ctx.saved
        return (np.where(positive, grad, alpha * grad),)


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) without overflow for large |x|: with e = e^-|x|, 1 / (1 + e) where
    x >= 0 and e / (1 + e) elsewhere. (One sum and one division, in the array of e: the same
    numbers as computing both quotients and choosing, in under half the time on a picture's
    grid.)"""
    e = np.abs(x)
    np.negative(e, out=e)
    np.exp(e, out=e)
    total = np.add(e, 1.0)
    np.copyto(e, 1.0, where=x >= 0)
    return np.divide(e, total, out=e)


@register
class Sigmoid(_Elementwise):
    name = "sigmoid"
    title = "Sigmoid"
    doc = "Logistic function 1 / (1 + e^-x): squashes any value into (0, 1)."
    derivative = "d sigmoid(x)/dx = s(1 - s), at most 0.25 (at x = 0)"

    @staticmethod
    def forward(ctx, x):
        out = stable_sigmoid(x)
        ctx.save(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved
        g = np.subtract(1.0, s, out=ctx.buffer("gx", s.shape, grad.dtype))
        np.multiply(g, s, out=g)
        return (np.multiply(g, grad, out=g),)


@register
class Tanh(_Elementwise):
    name = "tanh"
    title = "Tanh"
    doc = "Hyperbolic tangent: squashes any value into (-1, 1), centred on 0."
    derivative = "d tanh(x)/dx = 1 - tanh(x)^2, at most 1 (at x = 0)"
    writes_over_input = True  # (the slope reads the output alone)

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x, out=x if ctx.overwrite_input and type(x) is np.ndarray
                      else ctx.buffer("out", x.shape, x.dtype))
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved
        g = np.multiply(t, t, out=ctx.buffer("gx", t.shape, grad.dtype))
        np.subtract(1.0, g, out=g)
        return (np.multiply(g, grad, out=g),)


@register
class Exp(_Elementwise):
    name = "exp"
    title = "Exp"
    doc = "Elementwise e^x."
    derivative = "d e^x/dx = e^x"

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return (np.multiply(grad, out, out=ctx.buffer("gx", out.shape, grad.dtype)),)


@register
class Log(_Elementwise):
    name = "log"
    title = "Log"
    inputs = (Port("x", "Must be positive.", domain="positive"),)
    doc = "Natural logarithm of x (x > 0)."
    derivative = "d log(x)/dx = 1/x"

    @staticmethod
    def forward(ctx, x):
        ctx.save(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return (grad / x,)


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)  # exp never overflows
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


@register
class Softmax(_Elementwise):
    name = "softmax"
    title = "Softmax"
    elementwise = False  # each output depends on every input along the axis
    params = (Param("axis", "int", -1, "Axis along which the outputs sum to 1.",
                    minimum=-MAX_DIMS, maximum=MAX_DIMS - 1),)
    doc = "Turns scores into probabilities that sum to 1 along an axis."
    derivative = "d s_i/dx_j = s_i (delta_ij - s_j), so grad_x = s * (grad - sum(grad * s))"
    examples = (((N, 3),), ((4,),))

    @staticmethod
    def infer_shape(x, axis):
        normalize_axis(axis, len(x))
        return x

    @staticmethod
    def forward(ctx, x, axis):
        out = softmax(x, axis)
        ctx.save(out, axis)
        return out

    @staticmethod
    def backward(ctx, grad):
        s, axis = ctx.saved
        return (s * (grad - (grad * s).sum(axis=axis, keepdims=True)),)
