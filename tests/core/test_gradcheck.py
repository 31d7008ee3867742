"""The gradient check behind the window's view and scripts: verdicts, pass counting, timing,
progress, stopping, a chosen subset, and nudging one element by hand."""

from __future__ import annotations

import numpy as np
import pytest

from bpstudio import Graph, compare_gradients, gradcheck, load
from bpstudio.core.errors import GraphError
from bpstudio.core.gradcheck import (GOOD, GOOD_BELOW, SUSPICIOUS, SUSPICIOUS_BELOW, WRONG, Nudge,
                                     check_gradients, verdict)
from bpstudio.core.resources import resources_dir
from bpstudio.core.sample import sample_feeds


def example(name: str) -> Graph:
    return load(resources_dir() / "examples" / f"{name}.bpg").graph


def weights(graph: Graph) -> dict[str, bytes]:
    return {n.name: n.value.tobytes() for n in graph.nodes_of("parameter")}


def test_verdict_thresholds():
    assert GOOD_BELOW == 1e-6 and SUSPICIOUS_BELOW == 1e-3
    assert verdict(0.0) == GOOD and verdict(9.9e-7) == GOOD
    assert verdict(1e-6) == SUSPICIOUS and verdict(9.9e-4) == SUSPICIOUS
    assert verdict(1e-3) == WRONG and verdict(0.5) == WRONG
    assert verdict(float("nan")) == WRONG and verdict(float("inf")) == WRONG


def test_xor_agrees_counts_two_passes_per_element_and_leaves_weights_alone():
    graph = example("xor")
    before = weights(graph)
    result = check_gradients(graph, sample_feeds(graph))
    elements = sum(n.value.size for n in graph.nodes_of("parameter"))
    assert elements == 17
    assert result.cost.elements == result.total_elements == elements
    assert result.cost.nudge_passes == 2 * elements
    assert result.cost.backprop_passes == 1
    assert result.cost.nudge_seconds > 0 and result.cost.backprop_seconds > 0
    assert not result.cancelled
    assert {c.name for c in result.comparisons} == {"hidden.W", "hidden.b", "out.W", "out.b"}
    for c in result.comparisons:
        assert set(c.verdicts()) == {GOOD}
    assert weights(graph) == before
    # the same numbers as the long-standing API
    old = {c.name: c for c in compare_gradients(graph, sample_feeds(graph))}
    for c in result.comparisons:
        np.testing.assert_array_equal(c.backprop, old[c.name].backprop)
        np.testing.assert_array_equal(c.numerical, old[c.name].numerical)
    assert gradcheck(graph, sample_feeds(graph)) == {c.name: c.max_relative_error
                                                     for c in result.comparisons}


def test_a_wrong_rule_is_called_wrong(broken_square_op):
    g = Graph()
    w = g.parameter("w", value=[0.5, -1.5, 2.0])
    sq = g.add_node(broken_square_op, name="sq")
    g.connect(w, sq, "x")
    g.sum(sq, name="objective")
    (c,) = check_gradients(g).comparisons
    np.testing.assert_allclose(c.numerical, 2 * np.array([0.5, -1.5, 2.0]), rtol=1e-8)
    assert c.verdicts() == [WRONG] * 3


def test_progress_stop_and_a_chosen_subset():
    graph = example("xor")
    seen = []
    result = check_gradients(graph, sample_feeds(graph), names=["out.W", "out.b"],
                             progress=lambda done, total: seen.append((done, total)))
    assert [c.name for c in result.comparisons] == ["out.W", "out.b"]
    assert seen == [(k, 5) for k in range(1, 6)]
    assert result.cost.nudge_passes == 10

    asked = []

    def stop_after_six() -> bool:
        asked.append(1)
        return len(asked) > 6

    before = weights(graph)
    streamed = []
    stopped = check_gradients(graph, sample_feeds(graph), should_stop=stop_after_six,
                              on_comparison=streamed.append)
    assert stopped.cancelled
    assert stopped.cost.nudge_passes == 12  # six elements, then it stopped
    # hidden.W (8 elements) was not finished: no half-filled comparison is reported
    assert stopped.comparisons == streamed == []
    assert weights(graph) == before
    with pytest.raises(GraphError, match="nope"):
        check_gradients(graph, sample_feeds(graph), names=["nope"])


def test_nudge_agrees_for_small_steps_and_parts_for_large_ones():
    graph = example("xor")
    before = weights(graph)
    nudge = Nudge(graph, sample_feeds(graph), "hidden.W", 1)
    (check,) = [c for c in compare_gradients(graph, sample_feeds(graph)) if c.name == "hidden.W"]
    assert nudge.gradient == pytest.approx(check.backprop.reshape(-1)[1], rel=1e-12)
    assert nudge.original == graph.node("hidden.W").value.reshape(-1)[1]
    small = 1e-4
    assert nudge.actual_change(small) == pytest.approx(nudge.predicted_change(small), rel=1e-3)
    big = 3.0
    actual, predicted = nudge.actual_change(big), nudge.predicted_change(big)
    assert abs(actual - predicted) > 0.2 * abs(actual)
    deltas = np.linspace(-3, 3, 61)
    part = nudge.parting_point(deltas)
    assert part is not None and 0 < part <= 3
    assert weights(graph) == before
    with pytest.raises(GraphError, match="17|elements"):
        Nudge(graph, sample_feeds(graph), "hidden.W", 8)
