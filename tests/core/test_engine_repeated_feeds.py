"""What a training loop feeds step after step (the same arrays, the same labels) is checked
once while it stays the same, and checked again as soon as it changes, in place or not:
the checks are counted (not timed), and the errors they give are those of a first pass."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from worktally import calls

from bpstudio import Engine, FeedError, Graph, GraphError
from bpstudio.core.ops import losses

SIZES = (3, 8, 6, 4)
BATCH = 16


def classifier() -> tuple[Graph, dict[str, np.ndarray]]:
    g = Graph(seed=0)
    h = g.input("x", (SIZES[0],))
    for k, (fan_in, fan_out) in enumerate(pairwise(SIZES)):
        last = k == len(SIZES) - 2
        h = g.dense(h, fan_in, fan_out, f"layer{k}", activation=None if last else "relu")
    g.softmax_ce(h, g.input("labels"), name="loss")
    rng = np.random.default_rng(0)
    return g, {"x": rng.normal(size=(BATCH, SIZES[0])),
               "labels": rng.integers(0, SIZES[-1], BATCH).astype(float)}


def counted(monkeypatch, owner, name) -> list:
    """Each call of owner.name, recorded."""
    made = []
    original = getattr(owner, name)

    def recording(*args, **kwargs):
        made.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, recording)
    return made


def step(engine, feeds) -> float:
    loss = float(engine.forward(feeds))
    engine.backward()
    return loss


@pytest.mark.parametrize("gradients", ["parameters", "all"])
def test_the_same_labels_are_checked_once_and_new_ones_written_in_place_again(gradients,
                                                                              monkeypatch):
    graph, feeds = classifier()
    expected = step(Engine(graph, gradients=gradients), feeds)
    engine = Engine(graph, gradients=gradients)
    checks = counted(monkeypatch, losses, "label_places")
    assert [step(engine, feeds) for _ in range(3)] == [expected] * 3
    assert len(checks) == 1
    # Other labels written into the same array: checked, and the loss is theirs.
    feeds["labels"][:] = (feeds["labels"] + 1) % SIZES[-1]
    expected = step(Engine(graph, gradients=gradients), feeds)
    assert len(checks) == 2
    assert step(engine, feeds) == expected
    assert len(checks) == 3
    # A label out of range written in place is refused as in a first pass, every time.
    feeds["labels"][5] = SIZES[-1]
    for _ in range(2):
        with pytest.raises(GraphError, match="labels must be whole numbers from 0 to 3"):
            engine.forward(feeds)
    feeds["labels"][5] = 0.5
    with pytest.raises(GraphError, match="labels must be whole numbers from 0 to 3"):
        engine.forward(feeds)


def test_equal_labels_in_another_array_need_no_check_and_give_the_same_gradients(monkeypatch):
    graph, feeds = classifier()
    engine = Engine(graph)
    step(engine, feeds)
    before = {name: g.copy() for name, g in engine.gradients().items()}
    checks = counted(monkeypatch, losses, "label_places")
    step(engine, {"x": feeds["x"], "labels": feeds["labels"].copy()})
    assert checks == []
    for name, g in engine.gradients().items():
        assert np.array_equal(g, before[name])


def test_an_array_fed_again_unchanged_is_not_checked_again(monkeypatch):
    graph, feeds = classifier()
    engine = Engine(graph, gradients="parameters")
    checked = counted(monkeypatch, engine, "_feed")
    for _ in range(3):
        step(engine, feeds)
    assert len(checked) == 2  # once per input, in the first pass
    step(engine, {"x": feeds["x"].copy(), "labels": feeds["labels"]})
    assert len(checked) == 3  # another array: checked


def test_an_array_fed_again_with_another_shape_or_batch_is_refused(monkeypatch):
    graph, feeds = classifier()
    engine = Engine(graph, gradients="parameters")
    step(engine, feeds)
    x = feeds["x"]
    x.shape = (BATCH // 2, 2 * SIZES[0])  # the same array, reshaped in place
    with pytest.raises(FeedError, match=r"input 'x': expected shape \(N, 3\), got \(8, 6\)"):
        engine.forward(feeds)
    x.shape = (BATCH, SIZES[0])
    step(engine, feeds)
    with pytest.raises(FeedError, match="has a batch of 8 but input 'x' has 16"):
        engine.forward({"x": x, "labels": feeds["labels"][:8]})
    with pytest.raises(FeedError, match="input 'labels' has a batch of 16 but input 'x' has 8"):
        engine.forward({"x": x[:8], "labels": feeds["labels"]})


def test_a_step_for_the_optimiser_makes_a_few_calls_per_op():
    # Python calls (and calls into C that are not ufuncs) of a training step once its arrays
    # are made: under eight per op (each op's forward and backward, its reused arrays),
    # whatever the batch. On a loaded cache each costs about as much as a small ufunc.
    graph, feeds = classifier()
    engine = Engine(graph, gradients="parameters")
    step(engine, feeds)
    ops = len(engine.plan.ops)
    made = calls(lambda: (step(engine, feeds), engine.gradients()))
    assert made <= 8 * ops, made
