"""The Trainer: it learns (acceptance targets), its statistics tell the truth about vanishing
gradients, it is deterministic, it stops cleanly on divergence and on request, and it resumes."""

import threading

import numpy as np
import pytest

from bpstudio import Graph
from bpstudio.core.training import datasets
from bpstudio.core.training.history import History, StepStats
from bpstudio.core.training.trainer import DivergenceError, Trainer, TrainingError

from bpstudio.core import examples
from training_graphs import mlp


# ----------------------------------------------------------------------------- it learns
def test_moons_tanh_mlp_reaches_97_percent_training_accuracy():
    g = mlp((2, 16, 16, 1), "tanh", "bce_logits")
    data = datasets.prepare("moons", options={"noise": 0.1}, validation=0.0)
    trainer = Trainer(g, data, optimizer="adam", lr=0.01, batch_size=32, seed=0)
    trainer.fit(steps=2000)
    loss, accuracy = trainer.evaluate(trainer._train_feeds)
    assert accuracy >= 0.97
    losses = trainer.history.column("loss")
    assert losses[-50:].mean() < losses[:50].mean() / 5


def test_iris_4_16_3_reaches_93_percent_validation_accuracy():
    # 30 validation flowers make one split's score coarse (one flower = 3.3%): average over
    # four seeded splits, each also trained from its own seed.
    scores = []
    for seed in range(4):
        g = mlp((4, 16, 3), "tanh", "softmax_ce", seed=seed)
        trainer = Trainer(g, datasets.prepare("iris", seed=seed), lr=0.01, batch_size=16,
                          seed=seed)
        last = trainer.fit(steps=500)
        assert last.val_accuracy is not None  # validation runs on a run's last step
        scores.append(last.val_accuracy)
    assert np.mean(scores) >= 0.93, scores
    assert min(scores) >= 0.85, scores


def test_digits_64_32_10_reaches_90_percent_validation_accuracy():
    g = mlp((64, 32, 10), "relu", "softmax_ce", init="he_uniform")
    trainer = Trainer(g, datasets.prepare("digits", seed=0), lr=0.01, batch_size=64)
    last = trainer.fit(steps=400)
    assert last.val_accuracy >= 0.90


def test_regression_trains_without_an_accuracy():
    g = mlp((1, 16, 1), "tanh", "mse")
    trainer = Trainer(g, datasets.prepare("sine", seed=0), lr=0.02, batch_size=32)
    first = next(trainer.run(steps=1))
    last = trainer.fit(steps=600)
    assert first.accuracy is None and last.accuracy is None
    assert last.val_loss < 0.1 * first.loss


# ------------------------------------------------------------------ gradient statistics
def first_step(graph, seed=0):
    trainer = Trainer(graph, datasets.prepare("moons", seed=seed), lr=0.01, batch_size=64)
    return trainer, next(trainer.run(steps=1))


def test_parameters_are_ordered_from_input_to_loss():
    trainer, stats = first_step(mlp((2, 16, 16, 16, 1), "relu", "bce_logits"))
    assert trainer.parameter_names == ("h1.W", "h1.b", "h2.W", "h2.b", "h3.W", "h3.b",
                                       "out.W", "out.b")
    assert stats.parameter_names == trainer.parameter_names
    assert stats.grad_norms.shape == stats.update_ratios.shape == (8,)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shipped_sigmoid_stack_vanishes_at_initialization(seed):
    graph = examples.deep_sigmoid().graph  # the 10-layer example in resources/examples
    trainer, stats = first_step(graph, seed)
    norms = dict(zip(stats.parameter_names, stats.grad_norms))
    # First parameter (input side) against the last (loss side), as the trainer orders them,
    # and first weight matrix against last weight matrix.
    assert stats.grad_norms[0] * 100 <= stats.grad_norms[-1]
    assert norms["layer1.W"] * 100 <= norms["logits.W"]
    # The fading is layer by layer, from the loss back towards the input.
    weights = [norms[f"layer{i}.W"] for i in range(1, 11)] + [norms["logits.W"]]
    assert sum(a < b for a, b in zip(weights, weights[1:])) >= 9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shipped_relu_he_stack_keeps_gradients_within_10x(seed):
    trainer, stats = first_step(examples.deep_relu_he().graph, seed)
    assert 0.1 <= stats.grad_norms[-1] / stats.grad_norms[0] <= 10
    assert 0.1 <= stats.grad_norm("logits.W") / stats.grad_norm("layer1.W") <= 10


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shipped_exploding_stack_grows_its_gradient_towards_the_input(seed):
    trainer, stats = first_step(examples.deep_exploding().graph, seed)
    norms = dict(zip(stats.parameter_names, stats.grad_norms))
    assert norms["layer1.W"] >= 20 * norms["logits.W"]
    weights = [norms[f"layer{i}.W"] for i in range(1, 11)]
    assert sum(a > b for a, b in zip(weights, weights[1:])) >= 7  # growing layer by layer


def test_grad_norms_and_update_ratios_are_what_they_say():
    g = mlp((2, 4, 1), "tanh", "bce_logits")
    trainer = Trainer(g, datasets.prepare("xor", validation=0.0), optimizer="sgd", lr=0.1,
                      batch_size=400)  # one batch: every row, so the gradient is reproducible
    before = {n: g.node(n).value.copy() for n in trainer.parameter_names}
    stats = next(trainer.run(steps=1))
    check = mlp((2, 4, 1), "tanh", "bce_logits")
    from bpstudio import Engine
    engine = Engine(check)
    feeds = {name: array for name, array in trainer._train_feeds.items()}
    engine.forward(feeds)
    engine.backward()
    for name in trainer.parameter_names:
        grad = engine.grad(name)
        assert stats.grad_norm(name) == pytest.approx(np.linalg.norm(grad), rel=1e-12)
        delta = before[name] - g.node(name).value
        assert np.allclose(delta, 0.1 * grad, rtol=1e-12, atol=1e-15)
        if np.linalg.norm(before[name]) == 0:  # zero-initialised biases: ratio undefined
            assert np.isnan(stats.update_ratio(name))
        else:
            assert stats.update_ratio(name) == pytest.approx(
                np.linalg.norm(delta) / np.linalg.norm(before[name]), rel=1e-9)


# ------------------------------------------------------------------------ determinism
def curve(seed, steps=150, optimizer="adam"):
    g = mlp((2, 8, 1), "tanh", "bce_logits")
    trainer = Trainer(g, datasets.prepare("moons", seed=0), optimizer=optimizer, lr=0.02,
                      batch_size=16, seed=seed)
    return np.array([s.loss for s in trainer.run(steps=steps)]), g


def test_same_seed_gives_a_bit_identical_curve():
    a, ga = curve(3)
    b, gb = curve(3)
    c, _ = curve(4)
    assert np.array_equal(a, b)
    assert all(np.array_equal(ga.node(n).value, gb.node(n).value) for n in ("h1.W", "out.b"))
    assert not np.array_equal(a, c)


def test_epochs_count_passes_over_the_training_rows():
    g = mlp((2, 8, 1), "tanh", "bce_logits")
    trainer = Trainer(g, datasets.prepare("moons", options={"n": 100}, validation=0.2),
                      batch_size=32)  # 80 rows: 3 steps per epoch
    assert trainer.steps_per_epoch == 3
    last = trainer.fit(epochs=2)
    assert last.step == 6 and last.epoch == pytest.approx(2.0)


# --------------------------------------------------------------------------- divergence
@pytest.mark.filterwarnings("error::RuntimeWarning")  # the error alone, no NumPy warning
def test_huge_learning_rate_stops_with_the_culprit_named_and_weights_kept():
    g = mlp((1, 16, 16, 1), "relu", "mse", init="he_uniform")
    trainer = Trainer(g, datasets.prepare("sine", seed=0), optimizer="sgd", lr=1e6,
                      batch_size=32)
    snapshots, error_states = [], []
    with pytest.raises(DivergenceError) as info:
        for _ in trainer.run(steps=500):
            snapshots.append({n: g.node(n).value.copy() for n in trainer.parameter_names})
            error_states.append(np.geterr())
    assert error_states and all(state == np.geterr() for state in error_states)  # the caller's
    error = info.value
    assert error.kind in ("value", "gradient")
    assert g.find(error.node) is not None and error.step > 1
    assert f"'{error.node}'" in str(error) and error.kind in str(error)
    assert "learning rate (now 1e+06)" in str(error)
    assert "last finite values" in str(error)
    for name in trainer.parameter_names:
        value = g.node(name).value
        assert np.all(np.isfinite(value))
        assert np.array_equal(value, snapshots[-1][name])  # exactly the last good step's weights
    assert trainer.step == len(snapshots) == error.step - 1
    # The first node in forward order at fault: every node before it is finite.
    engine = trainer.engine
    names = [s.node.name for s in engine.plan.steps]
    earlier = names[:names.index(error.node)]
    read = engine.value if error.kind == "value" else engine.grad

    def bad(name):  # not finite, or so large that the next step makes it so
        array = read(name)
        return not np.all(np.isfinite(array)) or np.abs(array).max() > 1e154
    assert bad(error.node) and not any(bad(n) for n in earlier)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_an_update_beyond_range_is_caught_before_it_lands():
    g = Graph(seed=0)
    x, t = g.input("x", (1,)), g.input("t", (1,))
    w = g.parameter("w", value=np.array([[1.0]]))
    g.mse(g.matmul(x, w, name="z"), t, name="loss")
    data = datasets.Dataset("big", np.full((4, 1), 1e70), np.zeros(4), "regression", ("x",))
    trainer = Trainer(g, data, optimizer="sgd", lr=1e60, batch_size=4)
    with pytest.raises(DivergenceError, match="the update of parameter 'w' grew beyond") as info:
        trainer.fit(steps=1)
    assert (info.value.node, info.value.kind) == ("w", "update")
    assert g.node("w").value.tolist() == [[1.0]] and trainer.step == 0
    assert trainer.optimizer.t == 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_log_of_zero_names_the_log_node_and_its_value():
    g = Graph(seed=0)
    x, t = g.input("x", (1,)), g.input("t", (1,))
    w = g.parameter("w", value=np.array([[1.0]]))
    g.mse(g.log(g.matmul(x, w, name="z"), name="logz"), t, name="loss")
    data = datasets.Dataset("zeros", np.zeros((4, 1)), np.ones(4), "regression", ("x",))
    trainer = Trainer(g, data, optimizer="sgd", lr=0.1, batch_size=4)
    with pytest.raises(DivergenceError, match=r"the value of log 'logz' became infinite") as info:
        trainer.fit(steps=1)
    assert (info.value.node, info.value.kind, info.value.step) == ("logz", "value", 1)
    assert g.node("w").value.tolist() == [[1.0]]


# ----------------------------------------------------------------------- cancellation
def test_stop_ends_a_run_between_steps_and_training_can_go_on():
    g = mlp((2, 8, 1), "tanh", "bce_logits")
    trainer = Trainer(g, datasets.prepare("moons"), batch_size=16)
    seen = []
    for stats in trainer.run(steps=1000):
        seen.append(stats.step)
        if stats.step == 7:
            trainer.stop()
    assert seen == list(range(1, 8)) and trainer.step == 7
    assert trainer.fit(steps=3).step == 10  # the stop request does not outlive its run


def test_stop_from_another_thread():
    g = mlp((2, 8, 1), "tanh", "bce_logits")
    trainer = Trainer(g, datasets.prepare("moons"), batch_size=16)
    started = threading.Event()

    def work():
        for stats in trainer.run(steps=10_000_000):
            started.set()

    worker = threading.Thread(target=work)
    worker.start()
    assert started.wait(10)
    trainer.stop()
    worker.join(10)
    assert not worker.is_alive() and 0 < trainer.step < 10_000_000


def test_an_edited_weight_is_trained_on_but_an_edited_graph_needs_a_new_trainer():
    g = mlp((2, 8, 1), "tanh", "bce_logits")
    trainer = Trainer(g, datasets.prepare("moons"), optimizer="momentum", batch_size=16)
    trainer.fit(steps=5)
    velocity = trainer.optimizer.state["velocity"].copy()
    g.set_value("out.b", [3.0])
    trainer.fit(steps=1)
    assert trainer.optimizer.t == 6 and not np.array_equal(velocity,
                                                           trainer.optimizer.state["velocity"])
    assert g.node("out.b").value[0] != 3.0 and abs(g.node("out.b").value[0] - 3.0) < 0.5
    assert np.shares_memory(g.node("out.b").value, trainer.vector.data)
    g.rename("h1.z", "h1_pre")
    with pytest.raises(TrainingError, match="graph changed"):
        trainer.fit(steps=1)


# ------------------------------------------------------------------ validation, history
def test_validation_every_n_steps():
    g = mlp((2, 8, 1), "tanh", "bce_logits")
    trainer = Trainer(g, datasets.prepare("moons"), batch_size=16, validate_every=10)
    stats = list(trainer.run(steps=35))
    validated = [s.step for s in stats if s.val_loss is not None]
    assert validated == [10, 20, 30, 35]
    assert all(0 <= s.val_accuracy <= 1 for s in stats if s.val_loss is not None)
    assert trainer.history.val_rows["step"] == validated


def test_history_is_thinned_by_step_number():
    g = mlp((2, 8, 1), "tanh", "bce_logits")
    trainer = Trainer(g, datasets.prepare("moons"), batch_size=16, history_points=16)
    trainer.fit(steps=100)
    steps = trainer.history.column("step")
    assert len(steps) <= 16 and trainer.history.stride == 8
    assert steps.tolist() == list(range(8, 101, 8))
    norms = trainer.history.column("grad_norms")
    assert norms.shape == (len(steps), len(trainer.parameter_names))
    assert np.all(norms > 0)


def test_history_holds_the_statistics_each_step_reported():
    g = mlp((4, 8, 3), "tanh", "softmax_ce")
    trainer = Trainer(g, datasets.prepare("iris"), batch_size=50, history_points=1000)
    stats = list(trainer.run(steps=150))  # 120 rows: batches of 50, 50, 20 (two shapes)
    history = trainer.history
    assert history.column("step").tolist() == [s.step for s in stats]
    assert history.column("accuracy").tolist() == [s.accuracy for s in stats]
    assert np.array_equal(history.column("grad_norms"), np.array([s.grad_norms for s in stats]))
    assert np.array_equal(history.column("update_ratios"),
                          np.array([s.update_ratios for s in stats]), equal_nan=True)
    assert history.column("loss").tolist() == [s.loss for s in stats]


def test_history_round_trips_through_its_tree():
    g = mlp((2, 8, 1), "tanh", "bce_logits")
    trainer = Trainer(g, datasets.prepare("moons"), batch_size=16, validate_every=5)
    trainer.fit(steps=30)
    tree = trainer.history.to_tree()
    back = History.from_tree(tree, trainer.parameter_names)
    for key in ("step", "loss", "accuracy", "grad_norms", "update_ratios"):
        assert np.array_equal(back.column(key), trainer.history.column(key), equal_nan=True)
    with pytest.raises(TrainingError, match="for the parameters"):
        History.from_tree(tree, ("a", "b"))
    tree["loss"] = tree["loss"][:-1]
    with pytest.raises(TrainingError, match="different lengths"):
        History.from_tree(tree, trainer.parameter_names)


# ---------------------------------------------------------------------------- resuming
def test_resume_from_a_project_continues_exactly_in_memory():
    data = datasets.prepare("moons", seed=1)
    straight_graph = mlp((2, 8, 1), "tanh", "bce_logits")
    straight = Trainer(straight_graph, data, optimizer="adam", lr=0.01, batch_size=24, seed=5,
                       validate_every=20)
    curve = [s.loss for s in straight.run(steps=200)]

    graph = mlp((2, 8, 1), "tanh", "bce_logits")
    first = Trainer(graph, data, optimizer="adam", lr=0.01, batch_size=24, seed=5,
                    validate_every=20)
    head = [s.loss for s in first.run(steps=100)]
    project = first.to_project("moons")
    second = Trainer.from_project(project)  # rebuilds the data from the saved settings
    tail = [s.loss for s in second.run(steps=100)]
    assert head + tail == curve
    for name in straight.parameter_names:
        assert np.array_equal(graph.node(name).value, straight_graph.node(name).value)
    for key in ("step", "loss", "grad_norms"):
        assert np.array_equal(second.history.column(key), straight.history.column(key))
    assert second.history.val_rows == straight.history.val_rows


def test_settings_say_everything_needed():
    g = mlp((4, 16, 3), "tanh", "softmax_ce")
    trainer = Trainer(g, datasets.prepare("iris", seed=2), optimizer="momentum", lr=0.05,
                      batch_size=10, seed=9, weight_decay=1e-4)
    assert not trainer.to_project().is_trained
    trainer.fit(steps=3)
    assert trainer.to_project().is_trained
    s = trainer.to_project().training
    assert (s["optimizer"], s["lr"], s["weight_decay"], s["batch_size"], s["seed"]) == \
        ("momentum", 0.05, 1e-4, 10, 9)
    assert s["data"] == {"source": "iris"} and s["split_seed"] == 2 and s["validation"] == 0.2
    assert s["bindings"] == {"x": "features", "t": "target"} and s["loss"] == "loss"
    assert len(s["standardisation"]["mean"]) == 4 and s["progress"]["step"] == 3
    import json
    json.dumps(s)  # plain JSON


# ------------------------------------------------------------------------- bad set-ups
def test_bad_setups_say_what_is_wrong():
    g = mlp((2, 8, 1), "tanh", "bce_logits")
    with pytest.raises(datasets.DataError, match="input 'x' takes samples of shape \\(2,\\).*4"):
        Trainer(g, datasets.prepare("iris"))
    with pytest.raises(TrainingError, match="batch_size must be from 1 to"):
        Trainer(g, "moons", batch_size=0)
    with pytest.raises(TrainingError, match="not bound"):
        Trainer(g, "moons", bindings={"x": "features"})
    with pytest.raises(TrainingError, match="bound to 'weights'"):
        Trainer(g, "moons", bindings={"x": "weights", "t": "target"})
    trainer = Trainer(g, "moons")
    with pytest.raises(TrainingError, match="either steps or epochs"):
        trainer.fit()
    with pytest.raises(TrainingError, match="steps must be"):
        trainer.fit(steps=0)
    plain = Graph()
    plain.relu(plain.input("x", (2,)), name="r")
    with pytest.raises(TrainingError, match="not a loss"):
        Trainer(plain, "moons")


def test_one_hot_targets_and_explicit_bindings():
    g = Graph(seed=0)
    features, labels = g.input("features", (4,)), g.input("onehot", (3,))
    h = g.dense(features, 4, 3, "out")
    g.mse(g.softmax(h, name="p"), labels, name="loss")
    trainer = Trainer(g, datasets.prepare("iris"), lr=0.05, batch_size=16,
                      bindings={"features": "features", "onehot": "target"})
    assert trainer._train_feeds["onehot"].shape == (120, 3)
    assert trainer.fit(steps=300).val_accuracy >= 0.8


def test_step_stats_as_dict_is_json():
    import json
    g = mlp((2, 8, 1), "tanh", "bce_logits")
    stats = next(Trainer(g, "moons").run(steps=1))
    assert isinstance(stats, StepStats)
    record = json.loads(json.dumps(stats.as_dict()))
    assert record["update_ratios"]["h1.b"] is None  # zero bias: undefined ratio
    assert record["grad_norms"]["h1.W"] > 0 and record["step"] == 1


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_statistics_of_a_large_network_are_what_they_say(optimizer):
    # Above 20,000 parameters the norms come from one dot product per parameter, and for
    # plain SGD the update's norm from the gradient's: check both against the arrays.
    g = mlp((64, 160, 120, 10), "relu", "softmax_ce")
    data = datasets.prepare("digits", validation=0.0)
    trainer = Trainer(g, data, optimizer=optimizer, lr=0.05, batch_size=len(data.train))
    assert trainer.vector.size > 20_000
    for _ in range(2):
        before = {n: g.node(n).value.copy() for n in trainer.parameter_names}
        stats = next(trainer.run(steps=1))
        grads = trainer.engine.gradients()
        for name in trainer.parameter_names:
            delta = before[name] - g.node(name).value
            assert stats.grad_norm(name) == pytest.approx(np.linalg.norm(grads[name]), rel=1e-12)
            if np.linalg.norm(before[name]) == 0:
                assert np.isnan(stats.update_ratio(name))
            else:
                assert stats.update_ratio(name) == pytest.approx(
                    np.linalg.norm(delta) / np.linalg.norm(before[name]), rel=1e-9)


def test_a_history_rebuilt_from_what_each_update_added_is_the_whole_history():
    """A live run sends only the points recorded since its last update; merged in order, they
    give the tree of the whole history at every update, thinning included (16 points kept of
    300 steps: the stride doubles five times)."""
    from bpstudio.core.training.history import merge_trees

    project = examples.deep_sigmoid()
    trainer = Trainer(project.graph, datasets.prepare("moons"), batch_size=16, history_points=16,
                      validate_every=7, layer_every=3)
    history, tree, mark, sent = trainer.history, None, None, []
    for k, _stats in enumerate(trainer.run(steps=300)):
        if k % 5 and k != 299:
            continue
        added = history.to_tree(after=mark)
        mark = history.mark()
        sent.append(len(added["step"]) + len(added["validation"]["step"])
                    + len(added["layers"]["step"]))
        tree = merge_trees(tree, added)
        assert_same_tree(tree, history.to_tree())
    assert history.stride == 32 and len(history.layer_column("step")) > 0
    # at most 5 steps, one validation and 2 layer points since the last update: never the
    # whole history again
    assert max(sent) <= 5 + 1 + 2


def assert_same_tree(a, b, where="tree"):
    assert a.keys() == b.keys(), where
    for key, value in b.items():
        if isinstance(value, dict):
            assert_same_tree(a[key], value, f"{where}.{key}")
        elif isinstance(value, np.ndarray):
            assert a[key].dtype == value.dtype and np.array_equal(a[key], value, equal_nan=True), \
                f"{where}.{key}"
        else:
            assert a[key] == value, f"{where}.{key}"
