"""Graphs the training tests build with the scripting API (shared by several test modules)."""

from __future__ import annotations

from bpstudio import Graph


def mlp(sizes: tuple[int, ...], activation: str = "tanh", loss: str = "softmax_ce",
        init: str = "xavier_uniform", seed: int = 0) -> Graph:
    """x -> dense layers of ``sizes`` (activation between them) -> loss against input t.
    The target input is () for softmax_ce labels and (1,) for a single output column."""
    g = Graph(seed=seed)
    h = g.input("x", (sizes[0],))
    t = g.input("t", () if loss == "softmax_ce" else (sizes[-1],))
    last = len(sizes) - 2
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        name = "out" if i == last else f"h{i + 1}"
        h = g.dense(h, fan_in, fan_out, name, activation=None if i == last else activation,
                    init=init)
    g.apply(loss, h, t, name="loss")
    return g
