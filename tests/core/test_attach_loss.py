"""attach_loss: an inference graph gets the loss its data call for, with a target input, and
then trains, steps backward and gradient-checks like any graph."""

from __future__ import annotations

import numpy as np
import pytest

from bpstudio import Engine, Graph, GraphError, Trainer, attach_loss, datasets, gradcheck
from bpstudio.core.attach import loss_for_task, plan_loss
from bpstudio.core.layout import apply_layout
from bpstudio.core.sample import fill_default_sample


def classifier(features: int = 4, classes: int = 3, softmax: bool = False) -> Graph:
    g = Graph(seed=0)
    x = g.input("x", (features,))
    h = g.dense(x, features, 8, "hidden", activation="tanh")
    out = g.dense(h, 8, classes, "logits")
    if softmax:
        g.softmax(out, name="probabilities")
    fill_default_sample(g)
    apply_layout(g)
    return g


def test_softmax_ce_compares_the_scores_with_class_labels():
    g = classifier()
    before = set(g.nodes)
    loss = attach_loss(g, "softmax_ce")
    added = {g.nodes[i].name for i in set(g.nodes) - before}
    assert added == {"loss", "y"}
    assert loss.op == "softmax_ce" and g.default_output() is loss
    y = g.node("y")
    assert y.params["shape"] == () and g.input_edge(loss, "labels").src == y.id
    assert g.input_edge(loss, "logits").src == g.node("logits").id
    # a sample of labels, as many rows as the features have, so Forward works at once
    assert y.value.shape == (4,) and set(y.value) <= {0.0, 1.0, 2.0}
    engine = Engine(g)
    assert np.isfinite(engine.forward({"x": g.node("x").value, "y": y.value}))
    assert all(n.position is not None for n in g.nodes.values())
    assert g.node("loss").position[0] > max(n.position[0] for n in g.nodes.values()
                                            if n.name != "loss")


def test_mse_takes_a_target_of_the_prediction_shape():
    g = Graph()
    g.dense(g.input("x", (2,)), 2, 3, "out")
    loss = attach_loss(g, "mse")
    assert g.node("y").params["shape"] == (3,) and loss.op == "mse"
    assert g.node("y").value is None  # the graph had no sample: neither has the target


def test_a_softmax_output_gives_its_scores_to_softmax_ce():
    """softmax_ce applies the softmax itself: it takes the scores, not the probabilities."""
    g = classifier(softmax=True)
    loss = attach_loss(g, "softmax_ce")
    assert g.input_edge(loss, "logits").src == g.node("logits").id
    assert g.default_output() is loss  # the probabilities stay, for a person to look at


def test_names_already_taken_are_not_reused():
    g = classifier()
    g.rename("x", "y")
    g.rename("logits", "loss")
    loss = attach_loss(g, "softmax_ce")
    assert loss.name == "loss_1" and g.find("target").spec.source == "input"
    assert g.input_edge(loss, "labels").src == g.find("target").id


@pytest.mark.parametrize("build, kind, match", [
    (classifier, "hinge", r"unknown loss 'hinge': use softmax_ce or mse"),
    (lambda: _with_loss(), "mse", r"the graph already has a loss \(mse 'loss'\)"),
    (lambda: _two_outputs(), "mse", r"several outputs \('a', 'b'\)"),
    (lambda: Graph(), "mse", r"the graph is empty"),
    (lambda: classifier(classes=1), "softmax_ce",
     r"add 'logits' gives \(N, 1\): softmax cross-entropy needs \(N, classes\) class scores"),
    (lambda: _scalar_output(), "mse", r"gives \(\): a loss needs a prediction per sample"),
])
def test_refusals_name_what_is_wrong_and_change_nothing(build, kind, match):
    g = build()
    before = (set(g.nodes), len(g.edges), g.version)
    with pytest.raises(GraphError, match=match):
        attach_loss(g, kind)
    assert (set(g.nodes), len(g.edges), g.version) == before


def _with_loss() -> Graph:
    g = Graph()
    g.mse(g.dense(g.input("x", (2,)), 2, 1, "out"), g.input("y", (1,)), name="loss")
    return g


def _two_outputs() -> Graph:
    g = Graph()
    x = g.input("x", (2,))
    g.relu(x, name="a")
    g.tanh(x, name="b")
    return g


def _scalar_output() -> Graph:
    g = Graph()
    g.sum(g.input("x", (2,)), name="total")
    return g


def test_the_plan_changes_nothing_and_describes_itself():
    g = classifier()
    version = g.version
    plan = plan_loss(g, "softmax_ce")
    assert g.version == version and plan.ports == ("logits", "labels")
    assert plan.describe(g) == ("added softmax_ce 'loss' comparing 'logits' with a new target "
                                "input 'y' (N,)")


def test_loss_for_task():
    assert loss_for_task("classification") == "softmax_ce"
    assert loss_for_task("regression") == "mse"
    with pytest.raises(GraphError, match="unknown task 'ranking'"):
        loss_for_task("ranking")


def test_then_it_trains_and_gradient_checks_like_any_graph():
    g = classifier()
    attach_loss(g, "softmax_ce")
    data = datasets.prepare("iris", validation=0.0, seed=0)
    trainer = Trainer(g, data, optimizer="adam", lr=0.05, batch_size=32, seed=0)
    losses = [s.loss for s in trainer.run(steps=60)]
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    assert trainer.bindings == {"x": "features", "y": "target"}
    feeds = {"x": g.node("x").value, "y": g.node("y").value}
    errors = gradcheck(g, feeds)
    assert errors and max(errors.values()) < 1e-6
