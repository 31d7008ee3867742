"""The prediction field: the model's output over a grid in the data's own units, checked against
the formula of small models with known weights, and against a really trained classifier."""

import numpy as np
import pytest

from bpstudio import Graph, Trainer
from bpstudio.core.examples import EXAMPLES
from bpstudio.core.training import datasets
from bpstudio.core.training.datasets import CLASSIFICATION, REGRESSION, Dataset
from bpstudio.core.training.errors import TrainingError
from bpstudio.core.training.prediction import (BOUNDARY, CLASS, CURVE, PROBABILITY, VALUE,
                                               prediction_field, prediction_node_for)

BINDINGS = {"x": "features", "y": "target"}
W = np.array([[1.5], [-2.0]])
B = np.array([0.25])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def linear_classifier(loss: str = "bce_logits", w=W, b=B, target_shape=(1,)) -> Graph:
    """logits = x @ w + b against the target y."""
    g = Graph(seed=0)
    x = g.input("x", (w.shape[0],))
    logits = g.add(g.matmul(x, g.parameter("w", value=w), name="xw"),
                   g.parameter("b", value=b), name="logits")
    g.apply(loss, logits, g.input("y", target_shape), name="loss")
    return g


def plane_data(n: int = 40, classes: int = 2, seed: int = 3) -> Dataset:
    """Points far from the origin and of different spreads, so that standardising moves them."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.uniform(10.0, 30.0, n), rng.uniform(-0.5, 0.1, n)])
    labels = np.arange(n) % classes
    return Dataset("plane", x, labels, CLASSIFICATION, ("width", "depth"), "kind",
                   tuple(f"c{k}" for k in range(classes)))


def expected_logits(field, scaler, w, b):
    """The model's raw output at every grid point, from the formula (in the field's layout)."""
    gx, gy = np.meshgrid(field.x, field.y)
    original = np.column_stack([gx.ravel(), gy.ravel()])
    standardized = (original - scaler.mean) / scaler.std
    return standardized @ w + b


def test_bce_logits_boundary_is_the_sigmoid_of_the_linear_score():
    data = datasets.prepare(plane_data(), validation=0.25, seed=0)
    g = linear_classifier()
    field = prediction_field(g, "logits", data, BINDINGS, resolution=7)
    assert (field.kind, field.representation, field.loss_op) == (BOUNDARY, PROBABILITY,
                                                                "bce_logits")
    assert field.values.shape == (7, 7)
    expected = sigmoid(expected_logits(field, data.standardizer, W, B)[:, 0]).reshape(7, 7)
    np.testing.assert_allclose(field.values, expected, rtol=1e-12)
    # Row i is at y[i]: moving along a row changes the first feature only, whose weight is
    # positive, so the probability grows along every row.
    assert np.all(np.diff(field.values, axis=1) > 0)
    assert np.all(np.diff(field.values, axis=0) < 0)  # second weight negative


def test_coordinates_and_points_are_in_the_data_units():
    raw = plane_data()
    data = datasets.prepare(raw, validation=0.25, seed=0)
    field = prediction_field(linear_classifier(), "logits", data, BINDINGS, resolution=11,
                             margin=0.1)
    low, high = raw.features.min(axis=0), raw.features.max(axis=0)
    pad = 0.1 * (high - low)
    np.testing.assert_allclose(field.x_range, (low[0] - pad[0], high[0] + pad[0]))
    np.testing.assert_allclose(field.y_range, (low[1] - pad[1], high[1] + pad[1]))
    np.testing.assert_allclose(np.diff(field.x), np.diff(field.x)[0])  # evenly spaced
    assert len(field.x) == len(field.y) == field.resolution == 11
    # Every point comes back in its own units, each with its label, split as the data was.
    assert len(field.train_points) == len(data.train) and len(field.val_points) == 10
    points = np.concatenate([field.train_points, field.val_points])
    labels = np.concatenate([field.train_targets, field.val_targets])
    order = np.lexsort(points.T)
    raw_order = np.lexsort(raw.features.T)
    np.testing.assert_allclose(points[order], raw.features[raw_order])
    np.testing.assert_array_equal(labels[order], raw.targets[raw_order])
    assert field.feature_names == ("width", "depth") and field.class_names == ("c0", "c1")


def test_without_standardisation_the_grid_is_fed_as_it_is():
    data = datasets.prepare(plane_data(), validation=0.0, standardize=False)
    w, b = np.array([[0.1], [1.0]]), np.array([-2.0])
    field = prediction_field(linear_classifier(w=w, b=b), "logits", data, BINDINGS,
                             resolution=5)
    gx, gy = np.meshgrid(field.x, field.y)
    np.testing.assert_allclose(field.values, sigmoid(0.1 * gx + gy - 2.0), rtol=1e-12)
    assert field.val_points.shape == (0, 2) and field.val_targets.shape == (0,)


def test_a_probability_output_is_read_as_it_is():
    g = Graph(seed=0)
    x = g.input("x", (2,))
    z = g.add(g.matmul(x, g.parameter("w", value=W)), g.parameter("b", value=B))
    p = g.sigmoid(z, name="p")
    g.bce(p, g.input("y", (1,)), name="loss")
    data = datasets.prepare(plane_data(), seed=0)
    field = prediction_field(g, "p", data, BINDINGS, resolution=6)
    assert field.loss_op == "bce"
    expected = sigmoid(expected_logits(field, data.standardizer, W, B)[:, 0]).reshape(6, 6)
    np.testing.assert_allclose(field.values, expected, rtol=1e-12)
    # The loss op can be named instead of found: read as logits, the same output is squashed.
    squashed = prediction_field(g, "p", data, BINDINGS, resolution=6, loss_op="bce_logits")
    np.testing.assert_allclose(squashed.values, sigmoid(expected))


def test_three_classes_give_the_predicted_class_and_its_softmax_probability():
    w = np.array([[1.0, -1.0, 0.2], [0.5, 0.3, -1.2]])
    b = np.array([0.0, 0.1, -0.1])
    data = datasets.prepare(plane_data(60, classes=3), seed=0)
    g = linear_classifier("softmax_ce", w=w, b=b, target_shape=())
    field = prediction_field(g, "logits", data, BINDINGS, resolution=9)
    z = expected_logits(field, data.standardizer, w, b)
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert field.representation == CLASS and field.n_classes == 3
    np.testing.assert_array_equal(field.values, z.argmax(axis=1).reshape(9, 9))
    np.testing.assert_allclose(field.confidence, probs.max(axis=1).reshape(9, 9), rtol=1e-12)
    assert set(np.unique(field.values)) == {0.0, 1.0, 2.0}  # the weights split the plane in 3


def test_two_softmax_classes_give_the_probability_of_class_one():
    w = np.array([[1.0, -1.0], [0.5, 0.3]])
    b = np.array([0.0, 0.4])
    data = datasets.prepare(plane_data(), seed=0)
    field = prediction_field(linear_classifier("softmax_ce", w=w, b=b, target_shape=()),
                             "logits", data, BINDINGS, resolution=5)
    z = expected_logits(field, data.standardizer, w, b)
    assert field.representation == PROBABILITY and field.confidence is None
    np.testing.assert_allclose(field.values.ravel(), sigmoid(z[:, 1] - z[:, 0]), rtol=1e-12)


def test_one_feature_regression_gives_the_fitted_curve():
    g = Graph(seed=0)
    x = g.input("x", (1,))
    pred = g.add(g.matmul(x, g.parameter("w", value=np.array([[2.0]]))),
                 g.parameter("b", value=np.array([-1.0])), name="pred")
    g.mse(pred, g.input("y", (1,)), name="loss")
    data = datasets.prepare("sine", options={"n": 50}, seed=0)
    field = prediction_field(g, pred, data, BINDINGS, resolution=13)
    assert (field.kind, field.representation, field.y) == (CURVE, VALUE, None)
    scaler = data.standardizer
    np.testing.assert_allclose(field.values, 2.0 * (field.x - scaler.mean[0]) / scaler.std[0]
                               - 1.0, rtol=1e-12)
    assert field.x_range[0] < field.train_points.min() and field.x_range[1] > np.pi - 0.2
    assert field.train_points.shape == (40, 1) and field.val_points.shape == (10, 1)
    assert field.target_name == "y" and field.class_names == ()


@pytest.mark.parametrize("features, task", [(3, CLASSIFICATION), (2, REGRESSION),
                                            (1, CLASSIFICATION)])
def test_no_field_where_there_is_no_picture(features, task):
    rng = np.random.default_rng(0)
    raw = Dataset("d", rng.normal(size=(30, features)), np.arange(30) % 2, task,
                  tuple(f"f{k}" for k in range(features)), "t", ("a", "b")
                  if task == CLASSIFICATION else ())
    g = linear_classifier(w=np.ones((features, 1)))
    assert prediction_field(g, "logits", datasets.prepare(raw, seed=0), BINDINGS) is None


def test_the_graph_is_left_as_it_was():
    project = EXAMPLES["two_moons"]()
    g = project.graph
    data = datasets.prepare("moons", seed=0)
    before = {n.name: n.value.copy() for n in g.nodes_of("parameter")}
    arrays = {n.name: n.value for n in g.nodes_of("parameter")}
    version = g.version
    prediction_field(g, "logits", data, BINDINGS)
    assert g.version == version
    for n in g.nodes_of("parameter"):
        assert n.value is arrays[n.name]
        np.testing.assert_array_equal(n.value, before[n.name])


def test_a_trained_boundary_separates_the_moons():
    project = EXAMPLES["two_moons"]()
    data = datasets.prepare("moons", options={"noise": 0.1}, seed=0)
    trainer = Trainer(project.graph, data, lr=0.01, seed=0)
    trainer.fit(steps=400)
    node = prediction_node_for(project.graph, trainer.loss_node)
    assert node.name == "logits"
    field = prediction_field(project.graph, node, data, trainer.bindings, resolution=80)
    # Read the field at each point's nearest grid cell: it must say the point's class.
    points = np.concatenate([field.train_points, field.val_points])
    labels = np.concatenate([field.train_targets, field.val_targets])
    j = np.abs(points[:, :1] - field.x[None, :]).argmin(axis=1)
    i = np.abs(points[:, 1:] - field.y[None, :]).argmin(axis=1)
    said = field.values[i, j] > 0.5
    assert np.mean(said == (labels == 1)) > 0.9
    # The model's own engine agrees at the validation points (same standardised inputs).
    _, accuracy = trainer.evaluate()
    assert accuracy > 0.9


def test_bad_requests_are_refused():
    data = datasets.prepare(plane_data(), seed=0)
    g = linear_classifier()
    with pytest.raises(ValueError, match="resolution"):
        prediction_field(g, "logits", data, BINDINGS, resolution=1)
    with pytest.raises(TrainingError, match="bound to the features"):
        prediction_field(g, "logits", data, {"x": "target", "y": "target"})
    with pytest.raises(TrainingError, match="not a loss"):
        prediction_node_for(g, "logits")


def test_a_run_keeps_one_engine_for_its_pictures_while_the_parameters_are_the_graphs(
        monkeypatch):
    from bpstudio.core import engine as engine_module
    from bpstudio.core.training import background
    from bpstudio.core.training import prediction as prediction_module

    data = datasets.prepare("moons", options={"n": 60}, seed=0)
    trainer = Trainer.from_project(EXAMPLES["two_moons"](), data=data, lr=0.05, seed=0)
    kept = engine_module.Engine(trainer.graph, output=trainer.prediction_node)
    made = []
    real = engine_module.Engine.__init__
    monkeypatch.setattr(engine_module.Engine, "__init__",
                        lambda self, *a, **k: made.append(self) or real(self, *a, **k))
    pictures = []
    for _ in range(3):
        trainer.fit(steps=20)  # the weights move, in the graph's own arrays
        pictures.append(background._prediction(trainer, 30, kept))
        fresh = background._prediction(trainer, 30)  # with an engine of its own
        np.testing.assert_array_equal(pictures[-1].values, fresh.values)
    assert len(made) == 3  # one per fresh picture; the kept engine drew the others
    assert not np.array_equal(pictures[0].values, pictures[-1].values)
    # Parameters that are no longer the arrays it reads: a new engine, the right picture.
    node = next(iter(trainer.graph.nodes_of("parameter")))
    node.value = node.value * 2.0
    assert not prediction_module._computes_from(kept, trainer.graph, trainer.prediction_node)
    made.clear()
    replaced = background._prediction(trainer, 30, kept)
    assert len(made) == 1
    np.testing.assert_array_equal(replaced.values, background._prediction(trainer, 30).values)
