"""The walkthrough's trace: every number in it is the engine's, in the engine's order, on any
example; the words, the practice checks and the handout read the same trace."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bpstudio import Engine, load
from bpstudio.core.examples import EXAMPLES
from bpstudio.core.practice import Score, check_answer, parse
from bpstudio.core.resources import resources_dir
from bpstudio.core.sample import sample_feeds
from bpstudio.core.trace import trace
from bpstudio.core.trace_text import WARN, describe, explain, to_html, to_markdown

FOLDER = resources_dir() / "examples"


def example(stem: str):
    return load(FOLDER / f"{stem}.bpg").graph


def engine_after_backward(graph) -> Engine:
    engine = Engine(graph)
    engine.forward(sample_feeds(graph))
    engine.backward(record_contributions=True)
    return engine


@pytest.mark.parametrize("stem", list(EXAMPLES))
def test_every_number_is_the_engines(stem):
    graph = example(stem)
    walk = trace(graph)
    engine = engine_after_backward(graph)
    plan = [step.node.id for step in engine.plan.steps]
    assert [s.node_id for s in walk.forward] == plan
    assert [s.node_id for s in walk.backward] == plan[::-1]
    parts = engine.contributions()
    for step in walk.forward:
        np.testing.assert_array_equal(step.value, engine.value(step.node_id))
        for received in step.inputs:
            np.testing.assert_array_equal(received.value, engine.value(received.source_id))
    for step in walk.backward:
        np.testing.assert_array_equal(step.gradient, engine.grad(step.node_id))
        for handoff in step.handoffs:
            key = (step.node_id, handoff.port)
            if handoff.gradient is None:
                assert key not in parts
                continue
            np.testing.assert_array_equal(handoff.gradient, parts[key])
            if handoff.local is not None:  # incoming x local derivative = what is handed on
                np.testing.assert_allclose(step.gradient * handoff.local, handoff.gradient,
                                           rtol=1e-12, atol=1e-15)
        if step.reached and not step.is_output:  # the parts add up to the gradient
            total = sum(a.gradient for a in step.arrivals)
            np.testing.assert_allclose(total, step.gradient, rtol=1e-12, atol=1e-15)
            for arrival in step.arrivals:
                np.testing.assert_array_equal(arrival.gradient,
                                              parts[(arrival.consumer_id, arrival.port)])


def test_the_single_neuron_step_by_step():
    walk = trace(example("single_neuron"))
    assert [s.name for s in walk.forward] == ["x", "w", "b", "y", "wx", "z", "a", "loss"]
    assert [s.name for s in walk.backward] == ["loss", "a", "z", "wx", "y", "b", "w", "x"]
    assert walk.loss == pytest.approx(0.01)
    loss = walk.backward_step("loss")
    assert loss.is_output and loss.gradient == 1
    wx = walk.backward_step("wx")
    to_w = next(h for h in wx.handoffs if h.source_name == "w")
    assert float(to_w.local) == 2.0 and float(to_w.gradient) == pytest.approx(0.4)
    assert float(walk.backward_step("b").gradient) == pytest.approx(0.2)
    relu = walk.backward_step("a")
    assert not relu.stopped.any()
    lines = [text for _kind, text in describe(wx, walk)]
    assert "to w (port a): 0.2 × 2 = 0.4" in lines


def test_a_relu_that_is_off_stops_the_gradient_and_says_why():
    graph = example("single_neuron")
    graph.set_value(graph.node("w"), np.asarray(-0.5))
    walk = trace(graph)
    relu = walk.backward_step("a")
    assert relu.stopped.all()
    warnings = [text for kind, text in describe(relu, walk) if kind == WARN]
    assert len(warnings) == 1 and "z = -0.9 is <= 0" in warnings[0] and "stops" in warnings[0]
    assert float(walk.backward_step("w").gradient) == 0.0
    assert "-0" not in " ".join(t for _k, t in describe(walk.backward_step("z"), walk))


def test_fan_out_lists_each_contribution_and_their_sum():
    walk = trace(example("fan_out"))
    d = walk.backward_step("d")
    assert d.fans_out
    assert [(a.consumer_name, a.port, a.gradient.item()) for a in d.arrivals] == [
        ("d_times_d", "a", 2.0), ("d_times_d", "b", 2.0)]
    lines = [text.strip() for _kind, text in describe(d, walk)]
    assert "from d_times_d (port a): 2" in lines and "from d_times_d (port b): 2" in lines
    assert "sum: d loss/d d = 4" in lines


def test_several_rows_can_be_followed_one_at_a_time():
    walk = trace(example("xor"))
    assert walk.rows == 4
    step = walk.backward_step("p")
    per_row = [describe(step, walk, row=r) for r in range(4)]
    assert len({tuple(lines) for lines in per_row}) == 4  # each row has its own numbers
    everything = " ".join(t for _k, t in describe(step, walk))
    assert "[" in everything  # the four rows together


def test_practice_accepts_right_rejects_wrong_with_the_reason_and_counts():
    walk = trace(example("single_neuron"))
    assert check_answer(walk, "w", "0.4").correct
    assert check_answer(walk, "w", "0.401").correct  # within 1%
    wrong = check_answer(walk, "w", "0.2")
    assert not wrong.correct
    assert "wx's gradient 0.2" in wrong.message and "local derivative here, 2" in wrong.message
    assert not check_answer(walk, "w", "zero").correct
    assert parse("1, -2.5e-1") == [1.0, -0.25]
    score = Score()
    for answer in ("0.4", "0.2", "0.40"):
        score.add(check_answer(walk, "w", answer).correct)
    assert str(score) == "2 of 3 right"
    assert "sum over the 2 wires" in explain(trace(example("fan_out")), "d")


@pytest.mark.parametrize("render", [to_markdown, to_html])
def test_the_handout_holds_the_engines_numbers(render):
    graph = example("fan_out")
    page = render(trace(graph), "fan_out")
    engine = engine_after_backward(graph)
    for name, value in (("w", engine.grad("w")), ("d", engine.grad("d")),
                        ("x", engine.grad("x"))):
        assert f"d loss/d {name} = {np.asarray(value).item():.4g}" in page
    assert "sum: d loss/d d = 4" in page
    # The local derivative's formula (in Markdown, its "*" escaped: it reads as itself).
    assert ("d(a \\* b)/da = b" if render is to_markdown else "d(a * b)/da = b") in page
    if render is to_html:
        assert page.startswith("<!DOCTYPE html>") and not re.search(r"<(script|link)\b", page)
