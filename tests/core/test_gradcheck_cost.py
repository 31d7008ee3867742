"""A gradient check on a large net says what it will cost before it starts, and can check a
sample of the elements instead of all of them. Work is counted (passes), never timed."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from bpstudio.core.engine import Engine
from tests.core.training_graphs import mlp

# (the package exports a function of the module's name)
gc = importlib.import_module("bpstudio.core.gradcheck")


def sample_feeds(graph, rows: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    width = graph.node("x").params["shape"][0]
    classes = graph.node("out.W").value.shape[1]
    return {"x": rng.standard_normal((rows, width)),
            "t": rng.integers(0, classes, rows).astype(np.float64)}


class Counted:
    """Counts the engine's forward and backward passes while in use."""

    def __init__(self, monkeypatch):
        self.forward = self.backward = 0
        forward, backward = Engine.forward, Engine.backward

        def counting_forward(engine, *args, **kwargs):
            self.forward += 1
            return forward(engine, *args, **kwargs)

        def counting_backward(engine, *args, **kwargs):
            self.backward += 1
            return backward(engine, *args, **kwargs)
        monkeypatch.setattr(Engine, "forward", counting_forward)
        monkeypatch.setattr(Engine, "backward", counting_backward)


@pytest.mark.parametrize("sizes", [(2, 8, 2), (2, 100, 100, 2), (2, 1000, 998, 2),
                                   (784, 1300, 10)])
def test_the_estimate_counts_every_element_and_makes_only_a_few_passes(monkeypatch, sizes):
    graph = mlp(sizes)
    feeds = sample_feeds(graph)
    elements = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    counted = Counted(monkeypatch)
    estimate = gc.estimate_check(graph, feeds)
    assert estimate.elements == elements and estimate.passes == 2 * elements
    assert counted.forward <= 1 + gc._TIMING_REPEATS and counted.backward == 0
    assert estimate.seconds == pytest.approx(estimate.passes * estimate.pass_seconds)
    assert estimate.seconds_for(100) == \
        pytest.approx(2 * min(100, elements) * estimate.pass_seconds)


@pytest.mark.parametrize("sample", [1, 3, 4, 10, 57, 200])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_a_sampled_check_nudges_only_the_sample_and_agrees_with_the_full_one(monkeypatch,
                                                                             sample, seed):
    graph = mlp((3, 7, 5, 2), seed=seed)
    feeds = sample_feeds(graph)
    full = {c.name: c for c in gc.check_gradients(graph, feeds).comparisons}
    counted = Counted(monkeypatch)
    result = gc.check_gradients(graph, feeds, sample=sample, seed=seed)
    total = sum(c.backprop.size for c in full.values())
    checked = min(sample, total)
    assert result.cost.nudge_passes == 2 * checked == 2 * result.total_elements
    assert counted.forward == 1 + gc._TIMING_REPEATS + 2 * checked + 1
    assert sum(len(c.numerical) for c in result.comparisons) == checked
    if sample >= len(full):  # every parameter has at least one element checked
        assert {c.name for c in result.comparisons} == set(full)
    for c in result.comparisons:
        assert len(set(c.indices.tolist())) == len(c.indices)
        assert np.array_equal(c.numerical, full[c.name].numerical.reshape(-1)[c.indices])
        assert np.array_equal(c.backprop, full[c.name].backprop.reshape(-1)[c.indices])
    again = gc.check_gradients(graph, feeds, sample=sample, seed=seed)
    assert [c.indices.tolist() for c in again.comparisons] == \
        [c.indices.tolist() for c in result.comparisons]


def test_a_sample_of_a_million_element_net_costs_its_size_not_the_net_s(monkeypatch):
    graph = mlp((2, 1000, 998, 2))
    feeds = sample_feeds(graph)
    counted = Counted(monkeypatch)
    result = gc.check_gradients(graph, feeds, sample=50)
    assert result.cost.nudge_passes == 100 and counted.forward < 110
    assert {c.name for c in result.comparisons} == {"h1.W", "h1.b", "h2.W", "h2.b", "out.W",
                                                    "out.b"}
    assert max(c.max_relative_error for c in result.comparisons) < gc.SUSPICIOUS_BELOW


@pytest.mark.parametrize("sizes", [{"a": 10}, {"a": 1, "b": 10**6}, {"a": 3, "b": 3, "c": 0},
                                   {f"p{i}": i + 1 for i in range(30)}])
@pytest.mark.parametrize("sample", [0, 1, 5, 29, 10**7])
def test_the_sample_is_spread_in_proportion_and_never_larger_than_asked(sizes, sample):
    chosen = gc.sample_elements(sizes, sample)
    total = sum(sizes.values())
    assert sum(len(v) for v in chosen.values()) == min(sample, total)
    for name, indices in chosen.items():
        assert np.all((0 <= indices) & (indices < sizes[name]))
        assert len(np.unique(indices)) == len(indices)
