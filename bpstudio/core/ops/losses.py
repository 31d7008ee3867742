"""Losses: one number that says how wrong the prediction is, averaged over the batch.
The backward pass starts here, with a gradient of 1 on that number."""

from __future__ import annotations

import functools

import numpy as np

from ..errors import ShapeError
from ..shapes import BATCH, format_shape, ones
from .activations import stable_sigmoid
from .base import LOSSES, Op, Port, register

N = BATCH


@functools.lru_cache(maxsize=16)
def row_starts(rows: int, classes: int) -> np.ndarray:
    """Where each row of a (rows, classes) array starts in its flat layout, made once per
    shape (read-only)."""
    starts = np.arange(0, rows * classes, classes, dtype=np.intp)
    starts.flags.writeable = False
    return starts


class _PairLoss(Op):
    group = LOSSES
    is_loss = True
    target_input = 1
    examples = (((N, 1), (N, 1)), ((N, 3), (N, 3)), ((N,), (N,)))

    @staticmethod
    def infer_shape(prediction, target):
        if prediction != target:
            # Broadcasting (N, 1) against (N,) would silently give (N, N): refuse it.
            raise ShapeError(f"prediction {format_shape(prediction)} and target "
                             f"{format_shape(target)} must have the same shape")
        return ()


@register
class MeanSquaredError(_PairLoss):
    name = "mse"
    title = "MSE Loss"
    inputs = (Port("prediction"), Port("target", "The value to predict: any finite number.",
                                          domain="real"))
    doc = "Mean squared error: mean((prediction - target)^2)."
    derivative = "d loss/d prediction = 2 (prediction - target) / n"

    @staticmethod
    def forward(ctx, prediction, target):
        diff = np.subtract(prediction, target, out=ctx.buffer("diff", prediction.shape,
                                                               prediction.dtype))
        ctx.saved = (diff,)  # (not ctx.save: one call fewer per pass)
        return np.asarray(np.vdot(diff, diff) / diff.size)

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved
        na, nb = ctx.needs_input_grad
        g = np.multiply(diff, grad * (2.0 / diff.size), out=ctx.buffer("gp", diff.shape, grad.dtype))
        return g, (np.negative(g, out=ctx.buffer("gt", g.shape, g.dtype)) if nb else None)


@register
class BinaryCrossEntropy(_PairLoss):
    name = "bce"
    title = "BCE Loss"
    inputs = (Port("probability", "Predicted probability in (0, 1).", domain="unit"),
              Port("target", "True label, 0 or 1 (or a soft label between).", domain="unit"))
    doc = "Binary cross-entropy on probabilities: -mean(t log p + (1 - t) log(1 - p))."
    derivative = "d loss/dp = (p - t) / (p (1 - p)) / n"

    @staticmethod
    def forward(ctx, p, t):
        ctx.save(p, t)
        return np.asarray(-np.mean(t * np.log(p) + (1.0 - t) * np.log1p(-p)))

    @staticmethod
    def backward(ctx, grad):
        p, t = ctx.saved
        n = p.size
        na, nb = ctx.needs_input_grad
        gp = grad * (p - t) / (p * (1.0 - p)) / n if na else None
        gt = grad * (np.log1p(-p) - np.log(p)) / n if nb else None
        return gp, gt


@register
class BinaryCrossEntropyWithLogits(_PairLoss):
    name = "bce_logits"
    title = "BCE Loss (logits)"
    inputs = (Port("logits", "Raw score; sigmoid(logits) is the probability."),
              Port("target", "True label, 0 or 1 (or a soft label between).", domain="unit"))
    doc = ("Binary cross-entropy on raw scores, computed stably: "
           "mean(max(z, 0) - z t + log(1 + e^-|z|)).")
    derivative = "d loss/dz = (sigmoid(z) - t) / n"

    @staticmethod
    def forward(ctx, z, t):
        ctx.save(z, t)
        return np.asarray(np.mean(np.maximum(z, 0.0) - z * t + np.log1p(np.exp(-np.abs(z)))))

    @staticmethod
    def backward(ctx, grad):
        z, t = ctx.saved
        n = z.size
        na, nb = ctx.needs_input_grad
        return (grad * (stable_sigmoid(z) - t) / n if na else None,
                grad * -z / n if nb else None)


@register
class SoftmaxCrossEntropy(Op):
    name = "softmax_ce"
    title = "Softmax CE Loss"
    group = LOSSES
    is_loss = True
    target_input = 1
    inputs = (Port("logits", "Raw class scores, shape (N, classes)."),
              Port("labels", "Class index per sample, 0 .. classes-1.", domain="label",
                   differentiable=False))
    doc = "Softmax cross-entropy with integer labels: mean(logsumexp(z) - z[label]), stable for large z."
    derivative = "d loss/dz = (softmax(z) - onehot(label)) / N"
    examples = (((N, 3), (N,)), ((N, 10), (N,)))

    @staticmethod
    def infer_shape(logits, labels):
        if len(logits) != 2 or len(labels) != 1 or logits[0] != labels[0]:
            raise ShapeError(f"logits {format_shape(logits)} and labels {format_shape(labels)}: "
                             "expected logits (N, classes) and labels (N,)")
        return ()

    @staticmethod
    def forward(ctx, z, labels):
        rows, classes = z.shape
        # A training loop feeds the same labels step after step: they are checked again only
        # when they are other numbers (compared as bytes, which costs a copy of a few bytes a
        # row: the caller may have written new labels into the same array).
        key = (labels.tobytes(), labels.dtype, classes)
        known = ctx.kept
        if known is None or known[0] != key:
            known = ctx.kept = (key, label_places(labels, classes))
        picks = known[1]
        # Shifted by each row's largest score, so that exp never overflows; exp is then taken
        # in place, once the labelled scores are read. The maxima are taken down the columns
        # of a transposed copy: along each row of a few classes NumPy reduces row by row,
        # about 3x slower.
        columns = ctx.buffer("columns", (classes, rows), z.dtype)
        columns[...] = z.T
        largest = np.maximum.reduce(columns, axis=0, out=ctx.buffer("largest", (rows,), z.dtype))
        e = np.subtract(z, largest[:, None], out=ctx.buffer("exp", z.shape, z.dtype))
        picked = e.take(picks)
        np.exp(e, out=e)
        # Row sums as one product with ones: for a few classes, sum(axis=1) costs a loop per row.
        total = np.matmul(e, ones(classes, e.dtype), out=ctx.buffer("total", (rows,), e.dtype))
        ctx.saved = (e, total, picks)
        log_total = np.log(total, out=largest)  # (the maxima are read no more)
        # (np.add.reduce is sum without its Python-level wrapper.)
        return np.asarray((np.add.reduce(log_total) - np.add.reduce(picked)) / rows)

    @staticmethod
    def backward(ctx, grad):
        e, total, picks = ctx.saved
        g = np.divide(e, total[:, None], out=ctx.buffer("gz", e.shape, grad.dtype))  # softmax(z)
        g.reshape(-1)[picks] -= 1.0
        g *= grad / e.shape[0]
        return g, None


def label_places(labels: np.ndarray, classes: int) -> np.ndarray:
    """Where each row's label is in the flat layout of a (rows, classes) array of scores
    (read-only), once the labels are checked: whole numbers from 0 to classes - 1."""
    index = labels.astype(np.intp)
    # Whole numbers: each label equals its integer; in range: as unsigned numbers, the
    # negative ones are huge, so one maximum checks both ends.
    if len(index) and (np.count_nonzero(index != labels)
                       or index.view(np.uintp).max() >= classes):
        raise ValueError(f"labels must be whole numbers from 0 to {classes - 1}")
    picks = np.add(row_starts(len(index), classes), index, out=index)
    picks.flags.writeable = False
    return picks
