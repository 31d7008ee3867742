"""The example projects in resources/examples: present, loadable, the same as their builders
make them, laid out left to right, described, and showing what each is meant to show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpstudio import Engine, load
from bpstudio.core.compare import project_differences
from bpstudio.core.examples import DEEP_LAYERS, EXAMPLES
from bpstudio.core.layout import group_corner, shown_position

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "resources" / "examples"


def test_every_example_file_is_committed_and_the_first_is_the_single_neuron():
    assert list(EXAMPLES)[0] == "single_neuron"
    assert "resources/examples/single_neuron.bpg" in (ROOT / "Makefile").read_text()
    assert sorted(p.stem for p in FOLDER.glob("*.bpg")) == sorted(EXAMPLES)
    assert {"single_neuron", "fan_out", "xor", "two_moons", "deep_sigmoid", "deep_relu_he",
            "deep_exploding"} <= set(EXAMPLES)


@pytest.mark.parametrize("stem", list(EXAMPLES))
def test_committed_file_matches_its_builder(stem):
    """The files never drift from the builders (regenerate with resources/examples/generate.py)."""
    assert project_differences(EXAMPLES[stem](), load(FOLDER / f"{stem}.bpg")) == []


def test_generate_script_writes_every_example(tmp_path):
    result = subprocess.run([sys.executable, str(FOLDER / "generate.py"), str(tmp_path)],
                            capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    for stem in EXAMPLES:
        assert (tmp_path / f"{stem}.bpg").read_bytes() == (FOLDER / f"{stem}.bpg").read_bytes()


@pytest.mark.parametrize("stem", list(EXAMPLES))
def test_example_is_valid_laid_out_and_described(stem):
    project = load(FOLDER / f"{stem}.bpg")
    g = project.graph
    about, _, next_step = project.description.partition("\n\nNext step: ")
    assert len(about) > 200 and "\n" not in about, "one paragraph about it"
    assert len(next_step) > 40 and "\n" not in next_step, "then one suggested next step"
    assert g.validate() == []
    loss = g.find("loss")
    assert loss is not None and g.sinks() == [loss]
    assert g.find("x") is not None and g.find("y") is not None
    assert g.node("x").spec.source == "input" and g.node("y").spec.source == "input"
    for edge in g.edges:  # left to right in a band; a wire that wraps goes down to the next
        src, dst = shown_position(g, edge.src), shown_position(g, edge.dst)
        if src == dst and g.group_of(edge.src) is not None:
            continue  # a wire inside a folded layer is not drawn
        assert src[0] < dst[0] or src[1] < dst[1], (edge, src, dst)
    shown = {n.id: shown_position(g, n.id) for n in g.nodes.values()}
    blocks = {g.group_of(i).id for i in shown if g.group_of(i) is not None
              and g.group_of(i).collapsed}
    positions = [p for i, p in shown.items() if g.group_of(i) is None
                 or not g.group_of(i).collapsed] + [group_corner(g, b) for b in blocks]
    assert len(set(positions)) == len(positions), "no two nodes or blocks on top of each other"


@pytest.mark.parametrize("stem", list(EXAMPLES))
def test_example_runs_forward_and_backward(stem):
    g = load(FOLDER / f"{stem}.bpg").graph
    rng = np.random.default_rng(0)
    feeds = {n.name: rng.uniform(0, 1, (8,) + tuple(n.params["shape"])) for n in g.nodes_of("input")}
    feeds["y"] = np.round(feeds["y"])
    engine = Engine(g)
    loss = engine.forward(feeds)
    assert loss.shape == () and np.isfinite(loss)
    engine.backward()
    assert all(np.all(np.isfinite(grad)) for grad in engine.gradients().values())


def test_single_neuron_is_the_chain_rule_by_hand():
    g = load(FOLDER / "single_neuron.bpg").graph
    engine = Engine(g)
    x, y = 2.0, 1.0
    w, b = float(g.node("w").value), float(g.node("b").value)
    z = w * x + b
    a = max(z, 0.0)
    assert engine.forward({"x": [x], "y": [y]}) == pytest.approx((a - y) ** 2)
    engine.backward()
    g_a = 2 * (a - y)
    g_z = g_a * (1.0 if z > 0 else 0.0)
    assert engine.grad("w") == pytest.approx(g_z * x)
    assert engine.grad("b") == pytest.approx(g_z)


def test_fan_out_sums_the_two_gradients():
    g = load(FOLDER / "fan_out.bpg").graph
    edges_from_d = g.output_edges("d")
    assert len(edges_from_d) == 2 and {e.dst for e in edges_from_d} == {g.node("d_times_d").id}
    engine = Engine(g)
    engine.forward({"x": [3.0], "y": [2.0]})
    engine.backward()
    d = engine.value("d").item()
    # Each wire brings d (the other factor); the sum is 2d, the derivative of d^2.
    assert engine.grad("d").item() == pytest.approx(2 * d)


def gradient_norms_by_layer(stem: str) -> list[float]:
    g = load(FOLDER / f"{stem}.bpg").graph
    rng = np.random.default_rng(1)
    engine = Engine(g)
    engine.forward({"x": rng.normal(size=(64, 2)), "y": rng.integers(0, 2, (64, 1)).astype(float)})
    engine.backward()
    return [float(np.linalg.norm(engine.grad(f"layer{k}.W"))) for k in range(1, DEEP_LAYERS + 1)]


def test_deep_sigmoid_stack_vanishes_where_relu_with_he_does_not():
    sigmoid = gradient_norms_by_layer("deep_sigmoid")
    relu = gradient_norms_by_layer("deep_relu_he")
    sigmoid_ratio = sigmoid[0] / sigmoid[-1]
    relu_ratio = relu[0] / relu[-1]
    assert sigmoid_ratio < 1e-3, sigmoid
    assert relu_ratio > 100 * sigmoid_ratio, (sigmoid, relu)
