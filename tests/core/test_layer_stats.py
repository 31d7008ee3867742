"""Per-layer training figures: each dense layer's parameter-gradient norm, the norm of dL/dz at
its pre-activation, and its health (dead ReLU units, saturated sigmoid/tanh outputs), checked
against a hand-written NumPy forward and backward pass on the same weights and rows; kept in
the history, saved and resumed; and the health of a forward pass, for the canvas."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from bpstudio import Engine
from bpstudio.core.examples import deep_sigmoid
from bpstudio.core.files import fileformat
from bpstudio.core.files.fileformat import encode, loads
from bpstudio.core.graph import Graph
from bpstudio.core.layers import (DEAD, SATURATED, Health, dense_layer, forward_health,
                                  health_fraction, layer_health)
from bpstudio.core.training.datasets import REGRESSION, Dataset
from bpstudio.core.training.errors import TrainingError
from bpstudio.core.training.history import History
from bpstudio.core.training.trainer import Trainer

ROWS = 12


def network(seed: int = 3) -> Graph:
    """relu -> sigmoid -> tanh -> linear, with weights large enough to kill and saturate
    some units."""
    g = Graph(seed=seed)
    h = g.input("x", (3,))
    for name, fan_in, fan_out, act in (("relu_layer", 3, 5, "relu"),
                                       ("sigmoid_layer", 5, 4, "sigmoid"),
                                       ("tanh_layer", 4, 6, "tanh"), ("out", 6, 1, None)):
        h = g.dense(h, fan_in, fan_out, name, activation=act, init="normal", scale=1.5)
    g.mse(h, g.input("y", (1,)), name="loss")
    rng = np.random.default_rng(seed)
    for name in ("relu_layer.b", "sigmoid_layer.b", "tanh_layer.b"):
        g.set_value(name, rng.normal(size=g.node(name).value.shape))
    g.set_value("relu_layer.b", g.node("relu_layer.b").value - [0, 0, 0, 9.0, 9.0])  # 2 dead
    return g


def data() -> Dataset:
    rng = np.random.default_rng(7)
    return Dataset("rows", rng.normal(size=(ROWS, 3)), rng.normal(size=ROWS), REGRESSION,
                   ("a", "b", "c"))


def by_hand(g: Graph, x: np.ndarray, t: np.ndarray) -> dict[str, dict[str, float]]:
    """Forward and backward written out in NumPy, from the graph's weights."""
    w = {name: g.node(name).value.copy() for name in
         ("relu_layer.W", "relu_layer.b", "sigmoid_layer.W", "sigmoid_layer.b",
          "tanh_layer.W", "tanh_layer.b", "out.W", "out.b")}
    z1 = x @ w["relu_layer.W"] + w["relu_layer.b"]
    a1 = np.maximum(z1, 0)
    z2 = a1 @ w["sigmoid_layer.W"] + w["sigmoid_layer.b"]
    a2 = 1 / (1 + np.exp(-z2))
    z3 = a2 @ w["tanh_layer.W"] + w["tanh_layer.b"]
    a3 = np.tanh(z3)
    z4 = a3 @ w["out.W"] + w["out.b"]
    dz4 = 2 * (z4 - t) / z4.size
    dz3 = (dz4 @ w["out.W"].T) * (1 - a3 ** 2)
    dz2 = (dz3 @ w["tanh_layer.W"].T) * a2 * (1 - a2)
    dz1 = (dz2 @ w["sigmoid_layer.W"].T) * (z1 > 0)
    out = {}
    for name, inp, dz in (("relu_layer", x, dz1), ("sigmoid_layer", a1, dz2),
                          ("tanh_layer", a2, dz3), ("out", a3, dz4)):
        dw, db = inp.T @ dz, dz.sum(axis=0)
        out[name] = {"grad": math.sqrt((dw ** 2).sum() + (db ** 2).sum()),
                     "signal": float(np.sqrt((dz ** 2).sum()))}
    out["relu_layer"]["health"] = float(np.mean(np.all(a1 == 0, axis=0)))
    out["sigmoid_layer"]["health"] = float(np.mean(a2 * (1 - a2) < 0.1 * 0.25))
    out["tanh_layer"]["health"] = float(np.mean(1 - a3 ** 2 < 0.1))
    out["out"]["health"] = math.nan
    return out


def test_per_layer_figures_equal_a_hand_written_numpy_pass():
    g = network()
    rows = data()
    expected = by_hand(g, rows.features, rows.targets.reshape(-1, 1))
    trainer = Trainer(g, rows, optimizer="sgd", lr=0.1, batch_size=ROWS, layer_every=1)
    stats = next(trainer.run(steps=1))  # the figures are of the weights before the update
    assert stats.layers.names == ("relu_layer", "sigmoid_layer", "tanh_layer", "out")
    for k, name in enumerate(stats.layers.names):
        assert stats.layer_grad_norms[k] == pytest.approx(expected[name]["grad"], rel=1e-12)
        assert stats.layer_signal_norms[k] == pytest.approx(expected[name]["signal"], rel=1e-12)
        np.testing.assert_equal(stats.layer_health[k], expected[name]["health"])
    # the network was made to hold dead and saturated units: the figures are not all 0
    assert stats.layer_health[0] == pytest.approx(2 / 5)
    assert 0 < stats.layer_health[1] < 1 and 0 < stats.layer_health[2] < 1


def test_the_layers_figures_are_measured_every_layer_every_steps_and_on_the_last():
    trainer = Trainer(network(), data(), optimizer="sgd", lr=0.01, batch_size=4,
                      layer_every=3)
    measured = [s.step for s in trainer.run(steps=7) if s.layer_signal_norms is not None]
    assert measured == [3, 6, 7]
    assert trainer.history.layer_column("step").tolist() == [3, 6, 7]
    assert trainer.history.layer_column("health").shape == (3, 4)
    assert trainer.history.column("layer_grad_norms").shape == (7, 4)  # every step


def test_no_layer_is_measured_with_layer_every_zero_or_without_groups():
    trainer = Trainer(network(), data(), optimizer="sgd", lr=0.01, batch_size=4,
                      layer_every=0)
    assert all(s.layer_health is None for s in trainer.run(steps=3))
    g = network()
    for group in list(g.groups.values()):
        g.ungroup(group)
    plain = Trainer(g, data(), optimizer="sgd", lr=0.01, batch_size=4, layer_every=1)
    assert plain.layers.names == () and plain.fit(steps=2).layer_health.shape == (0,)


def test_deep_sigmoid_shows_the_signal_shrinking_layer_by_layer():
    trainer = Trainer(deep_sigmoid().graph, "moons", optimizer="sgd", lr=0.1, layer_every=1)
    stats = trainer.fit(steps=1)
    assert len(stats.layers) == 11
    signal = stats.layer_signal_norms
    assert np.all(np.diff(signal) > 0)  # smaller towards the input side
    assert signal[0] < 1e-3 * signal[-1]


def test_the_history_of_layers_is_saved_and_resumed():
    trainer = Trainer(network(), data(), optimizer="sgd", lr=0.01, batch_size=4, layer_every=2)
    trainer.fit(steps=5)
    buffer = io.BytesIO()
    fileformat._write_zip(buffer, encode(trainer.to_project()))
    project = loads(buffer.getvalue())
    tree = project.history
    assert tree["layers"]["parameters"]["relu_layer"] == "relu_layer.W,relu_layer.b"
    assert list(tree["layers"]["step"]) == [2, 4, 5]
    resumed = Trainer.from_project(project, data())
    np.testing.assert_array_equal(resumed.history.layer_column("signal"),
                                  trainer.history.layer_column("signal"))
    resumed.fit(steps=1)
    assert resumed.history.layer_column("step").tolist() == [2, 4, 5, 6]


def test_a_history_from_before_layers_were_measured_still_resumes():
    trainer = Trainer(network(), data(), optimizer="sgd", lr=0.01, batch_size=4, layer_every=1)
    trainer.fit(steps=3)
    tree = trainer.history.to_tree()
    for key in ("layers", "layer_grad_norm"):
        del tree[key]
    history = History.from_tree(tree, trainer.parameter_names, trainer.layers)
    assert len(history) == 3 and history.layer_column("step").tolist() == []


def test_layer_points_are_thinned_like_the_others():
    trainer = Trainer(network(), data(), optimizer="sgd", lr=0.001, batch_size=4,
                      layer_every=1, history_points=4)
    trainer.fit(steps=9)
    steps = trainer.history.layer_column("step").tolist()
    assert len(steps) <= 4 and steps == [s for s in steps if s % trainer.history.layer_stride == 0]


# ----------------------------------------------------------------------- health of a pass
def test_a_relu_layer_with_very_negative_biases_is_all_dead_after_forward():
    g = network()
    g.set_value("relu_layer.b", np.full(5, -100.0))
    engine = Engine(g)
    engine.forward({"x": data().features, "y": data().targets.reshape(-1, 1)})
    health = forward_health(g, engine.value)
    assert health[g.group("relu_layer").id] == Health(DEAD, 1.0)
    assert health[g.group("sigmoid_layer").id].kind == SATURATED
    assert g.group("out").id not in health  # no activation: nothing to report


def test_health_fraction_by_hand():
    assert health_fraction("relu", np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])) == 2 / 3
    sig = 1 / (1 + np.exp(-np.array([[-4.0, 0.0, 3.0, 3.7]])))  # |z| > 3.64 saturates
    assert health_fraction("sigmoid", sig) == 0.5
    assert health_fraction("tanh", np.tanh(np.array([[2.0, -1.9, 1.7, 0.0]]))) == 0.5
    assert layer_health("leaky_relu", np.zeros((2, 2))) is None
    assert layer_health("relu", np.zeros((2, 2))) == Health(DEAD, 1.0)


def test_the_layer_of_a_forward_pass_is_read_from_the_engine_values():
    g = network()
    engine = Engine(g)
    engine.forward({"x": data().features, "y": data().targets.reshape(-1, 1)})
    layer = dense_layer(g, "tanh_layer")
    expected = float(np.mean(np.abs(engine.value(layer.output)) > math.sqrt(0.9)))
    assert forward_health(g, engine.value)[layer.group.id].fraction == expected


@pytest.mark.parametrize("value", [-1, 1.5, True, "5"])
def test_a_bad_layer_every_is_refused_naming_it(value):
    with pytest.raises(TrainingError, match="layer_every"):
        Trainer(network(), data(), layer_every=value)


def test_layer_every_is_a_saved_setting():
    trainer = Trainer(network(), data(), optimizer="sgd", lr=0.01, batch_size=4, layer_every=7)
    trainer.fit(steps=1)
    project = trainer.to_project()
    assert project.training["layer_every"] == 7
    assert Trainer.from_project(project, data()).layer_every == 7
