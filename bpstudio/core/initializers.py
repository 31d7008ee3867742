"""Weight initialisers. Each takes a shape, a scale and a NumPy Generator and returns an array.

Fan-in and fan-out follow the usual convention for a (fan_in, fan_out) weight matrix, so that
Xavier keeps the variance of activations, and He the variance of ReLU activations, from layer to
layer (the cure for vanishing gradients that careful initialisation gives)."""

from __future__ import annotations

from typing import Callable

import numpy as np


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[0] * receptive, shape[1] * receptive


def zeros(shape, scale, rng):
    return np.zeros(shape)


def constant(shape, scale, rng):
    return np.full(shape, float(scale))


def uniform(shape, scale, rng):
    return rng.uniform(-scale, scale, size=shape)


def normal(shape, scale, rng):
    return rng.normal(0.0, scale, size=shape)


def xavier_uniform(shape, scale, rng):
    fan_in, fan_out = fans(shape)
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape)


def xavier_normal(shape, scale, rng):
    fan_in, fan_out = fans(shape)
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def he_uniform(shape, scale, rng):
    fan_in, _ = fans(shape)
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape)


def he_normal(shape, scale, rng):
    fan_in, _ = fans(shape)
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


INITIALIZERS: dict[str, Callable[[tuple[int, ...], float, np.random.Generator], np.ndarray]] = {
    "zeros": zeros,
    "constant": constant,
    "uniform": uniform,
    "normal": normal,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
}


def initialize(name: str, shape: tuple[int, ...], scale: float, rng: np.random.Generator) -> np.ndarray:
    try:
        rule = INITIALIZERS[name]
    except KeyError:
        raise ValueError(f"unknown initialiser {name!r}; known: {', '.join(INITIALIZERS)}") from None
    return np.asarray(rule(tuple(shape), scale, rng), dtype=np.float64)
