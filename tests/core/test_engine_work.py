"""The matrix products a training pass makes, counted (not timed): a pass for the optimiser
makes those the parameters need and no others; benchmarks/engine.py gives the times."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from bpstudio import Engine, Graph

SIZES = (3, 5, 4, 2)
LAYERS = len(SIZES) - 1


def products(work, monkeypatch) -> int:
    """How many times ``work()`` calls np.matmul (which the ops look up at each call)."""
    count = 0
    matmul = np.matmul

    def counted(*args, **kwargs):
        nonlocal count
        count += 1
        return matmul(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(np, "matmul", counted)
        work()
    return count


def relu_mlp() -> tuple[Graph, dict[str, np.ndarray]]:
    """x @ W + b per layer, ReLU between layers, softmax cross-entropy on the last."""
    g = Graph(seed=0)
    h = g.input("x", (SIZES[0],))
    for k, (fan_in, fan_out) in enumerate(pairwise(SIZES)):
        z = g.dense(h, fan_in, fan_out, f"layer{k}")
        h = g.relu(z) if k < LAYERS - 1 else z
    g.softmax_ce(h, g.input("labels"), name="loss")
    rng = np.random.default_rng(0)
    return g, {"x": rng.normal(size=(6, SIZES[0])),
               "labels": rng.integers(0, SIZES[-1], 6).astype(float)}


@pytest.mark.parametrize("gradients, data_gradient", [("parameters", 0), ("all", 1)])
def test_a_backward_pass_makes_the_products_its_gradients_need(gradients, data_gradient,
                                                               monkeypatch):
    graph, feeds = relu_mlp()
    engine = Engine(graph, gradients=gradients)
    engine.forward(feeds)
    # Per layer, the weights' gradient (h.T @ g) and the bias's, the batch summed in one
    # product with ones; per layer but the first, the gradient handed back (g @ W.T); for the
    # first, that product only when every node gets its gradient: the data's.
    assert products(engine.backward, monkeypatch) == LAYERS + LAYERS + (LAYERS - 1) + data_gradient
    assert bool(np.any(engine.grad("x"))) == bool(data_gradient)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_sigmoid_gives_the_quotient_it_chooses_bit_for_bit(dtype):
    # One sum and one division in the array of e^-|x|: the same numbers as working out both
    # quotients and choosing, over every magnitude, the signed zeros, infinities and NaN.
    from bpstudio.core.ops.activations import stable_sigmoid

    with np.errstate(over="ignore"):  # (in float32, 1e308 is meant to become inf)
        x = np.concatenate([np.random.default_rng(0).normal(scale=20, size=5000),
                            [0.0, -0.0, 1e-300, -1e-300, 709.0, -745.0, 1e308, -1e308,
                             np.inf, -np.inf, np.nan]]).astype(dtype)
    e = np.exp(-np.abs(x))
    chosen = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    before = x.copy()
    got = stable_sigmoid(x)
    assert got.dtype == dtype and np.array_equal(got, chosen, equal_nan=True)
    assert np.array_equal(x, before, equal_nan=True)  # the input is left as it was
