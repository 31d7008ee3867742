import numpy as np
import pytest

from bpstudio import Engine, FeedError, Graph, GraphError


def single_neuron(w: float, b: float) -> Graph:
    g = Graph()
    x, t = g.input("x"), g.input("target")
    z = g.add(g.mul(g.parameter("w", value=w), x, name="wx"), g.parameter("b", value=b), name="z")
    g.mse(g.relu(z, name="a"), t, name="loss")
    return g


@pytest.mark.parametrize("w, b, x, target", [(0.5, 0.1, 2.0, 2.0), (-0.5, 0.1, 2.0, 2.0)])
def test_single_neuron_matches_hand_derived_numbers(w, b, x, target):
    engine = Engine(single_neuron(w, b))
    loss = engine.forward({"x": [x], "target": [target]})
    engine.backward()

    z = w * x + b
    a = max(z, 0.0)
    g_a = 2 * (a - target)                 # d loss / d a
    g_z = g_a * (1.0 if z > 0 else 0.0)    # the ReLU passes or blocks the gradient
    assert loss == pytest.approx((a - target) ** 2)
    assert engine.value("z")[0] == pytest.approx(z)
    assert engine.grad("loss") == 1.0      # the seed
    assert engine.grad("a")[0] == pytest.approx(g_a)
    assert engine.grad("z")[0] == pytest.approx(g_z)
    assert engine.grad("w") == pytest.approx(g_z * x)
    assert engine.grad("b") == pytest.approx(g_z)
    if z < 0:
        assert engine.grad("w") == 0.0 and engine.grad("b") == 0.0


def test_fan_out_sums_both_paths():
    g = Graph()
    d = g.parameter("d", value=3.0)
    g.mul(d, d, name="loss")
    engine = Engine(g)
    assert engine.forward() == 9.0
    engine.backward()
    assert engine.grad("d") == 6.0  # 3 from each path, added


def test_diamond_sums_gradients():
    g = Graph()
    x = g.parameter("x", value=2.0)
    left = g.mul(x, 3.0, name="left")
    right = g.square(x, name="right")
    g.add(left, right, name="out")
    engine = Engine(g)
    assert engine.forward() == 10.0
    engine.backward()
    assert engine.grad("x") == pytest.approx(3.0 + 2 * 2.0)


def test_backward_twice_gives_the_same_gradients():
    g = single_neuron(0.5, 0.1)
    engine = Engine(g)
    engine.forward({"x": [2.0, 1.0], "target": [2.0, 0.0]})
    engine.backward()
    first = {k: v.copy() for k, v in engine.gradients().items()}
    engine.backward()
    for name, grad in engine.gradients().items():
        np.testing.assert_array_equal(grad, first[name])


def test_fan_out_accumulation_does_not_corrupt_shared_gradients():
    # add() hands the same array to both inputs; summing into it in place would corrupt it.
    g = Graph()
    p = g.parameter("p", value=[1.0, 2.0])
    s = g.add(p, p, name="s")
    g.sum(g.add(s, s, name="t"), name="loss")
    engine = Engine(g)
    engine.forward()
    engine.backward()
    np.testing.assert_array_equal(engine.grad("s"), [2.0, 2.0])
    np.testing.assert_array_equal(engine.grad("p"), [4.0, 4.0])


def test_long_chain_runs_without_recursion():
    g = Graph()
    node = g.parameter("p", value=[1.0, -2.0])
    for _ in range(5000):
        node = g.mul(node, 1.0)
    g.sum(node, name="loss")
    engine = Engine(g)
    assert engine.forward() == -1.0
    engine.backward()
    np.testing.assert_array_equal(engine.grad("p"), [1.0, 1.0])


def test_plan_only_holds_what_the_output_needs_and_recompiles_on_change():
    g = single_neuron(0.5, 0.1)
    g.tanh(g.input("unused"), name="side")
    engine = Engine(g, output="loss")
    plan = engine.plan
    assert g.node("side").id not in plan.slot
    assert engine.plan is plan  # no change, no recompile
    g.set_position("z", (10, 20))
    assert engine.plan is plan  # moving a node is not a change the engine sees
    g.rename("z", "z1")
    assert engine.plan is not plan


def test_float32_engine_computes_in_float32_and_stores_back():
    g = single_neuron(0.5, 0.1)
    engine = Engine(g, dtype=np.float32)
    loss = engine.forward({"x": [2.0], "target": [2.0]})
    assert loss.dtype == np.float32
    engine.backward()
    assert engine.grad("w").dtype == np.float32
    params = engine.parameters()
    params["w"] -= np.float32(0.25)
    assert g.node("w").value == 0.5  # a copy until stored
    engine.store_parameters()
    assert g.node("w").value == 0.25


def test_parameters_are_the_graphs_arrays_in_float64():
    g = single_neuron(0.5, 0.1)
    engine = Engine(g)
    engine.parameters()["w"][...] = 2.0
    assert g.node("w").value == 2.0


def test_parameter_only_gradients_skip_the_data_but_agree_on_weights():
    g = Graph()
    x = g.input("x", (3,))
    h = g.dense(x, 3, 4, "h", activation="tanh")
    g.mse(g.dense(h, 4, 1, "out"), g.input("y", (1,)), name="loss")
    feeds = {"x": np.ones((5, 3)), "y": np.zeros((5, 1))}
    full, lean = Engine(g), Engine(g, gradients="parameters")
    full.forward(feeds), lean.forward(feeds)
    full.backward(), lean.backward()
    for name, grad in full.gradients().items():
        np.testing.assert_allclose(lean.grad(name), grad)
    assert np.any(full.grad("x") != 0)
    assert not np.any(lean.grad("x"))


def test_missing_feed_names_the_input():
    engine = Engine(single_neuron(0.5, 0.1))
    with pytest.raises(FeedError, match="input 'target' has no feed"):
        engine.forward({"x": [1.0]})


def test_wrong_feed_shape_names_the_input_and_both_shapes():
    g = Graph()
    x = g.input("x", (3,))
    g.sum(g.matmul(x, g.parameter("W", shape=(3, 2))), name="loss")
    with pytest.raises(FeedError, match=r"input 'x': expected shape \(N, 3\), got \(5, 4\)"):
        Engine(g).forward({"x": np.zeros((5, 4))})


def test_inconsistent_batch_sizes_are_refused():
    with pytest.raises(FeedError, match="batch of 3"):
        Engine(single_neuron(0.5, 0.1)).forward({"x": [1.0, 2.0], "target": [1.0, 2.0, 3.0]})


def test_feed_for_no_input_is_refused():
    with pytest.raises(FeedError, match="feed 'tgt' matches no input node"):
        Engine(single_neuron(0.5, 0.1)).forward({"x": [1.0], "target": [1.0], "tgt": [1.0]})


def test_unknown_op_is_named():
    with pytest.raises(GraphError, match="unknown op 'convolve'"):
        Graph().add_node("convolve")


def test_cycle_is_refused_and_graph_unchanged():
    g = Graph()
    a = g.relu(g.input("x"), name="a")
    c = g.add(g.tanh(a, name="b"), 1.0, name="c")
    m = g.mul(c, 2.0, name="m")
    g.disconnect(g.input_edge(a, "x"))
    edges_before, version = set(g.edges), g.version
    with pytest.raises(GraphError, match="wiring multiply 'm' into relu 'a' would close a cycle"):
        g.connect(m, a, "x")
    with pytest.raises(GraphError, match="relu 'a' cannot feed itself"):
        g.connect(a, a, "x")
    assert set(g.edges) == edges_before and g.version == version


def test_label_values_outside_the_classes_name_the_loss():
    g = Graph()
    g.softmax_ce(g.input("logits", (3,)), g.input("labels"), name="ce")
    with pytest.raises(GraphError, match="softmax_ce 'ce': labels must be whole numbers from 0 to 2"):
        Engine(g).forward({"logits": np.zeros((2, 3)), "labels": [0, 3]})


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    g = Graph()
    g.softmax_ce(g.parameter("z", value=[[1000.0, -1000.0, 0.0]]), g.constant([0.0]), name="ce")
    engine = Engine(g)
    assert engine.forward() == pytest.approx(0.0)
    engine.backward()
    assert np.all(np.isfinite(engine.grad("z")))


def test_bce_with_logits_is_stable_for_huge_logits():
    g = Graph()
    g.bce_logits(g.parameter("z", value=[800.0, -800.0]), g.constant([0.0, 1.0]), name="loss")
    engine = Engine(g)
    assert engine.forward() == pytest.approx(800.0)
    engine.backward()
    np.testing.assert_allclose(engine.grad("z"), [0.5, -0.5])


def test_several_outputs_must_be_named():
    g = Graph()
    p = g.parameter("p", value=1.0)
    g.relu(p, name="r1"), g.tanh(p, name="t1")
    with pytest.raises(GraphError, match="several outputs"):
        Engine(g).forward()
    assert Engine(g, output="t1").forward() == pytest.approx(np.tanh(1.0))


def test_forward_returns_a_value_the_next_step_does_not_overwrite():
    engine = Engine(single_neuron(0.5, 0.1))
    first = engine.forward({"x": [2.0], "target": [2.0]})
    engine.forward({"x": [2.0], "target": [0.0]})
    assert first == pytest.approx(0.81)


# ------------------------------------------------------------------ gradients delivered in place
def _dense_graph() -> Graph:
    g = Graph(seed=0)
    x, t = g.input("x", (3,)), g.input("t", (2,))
    h = g.dense(x, 3, 4, "h", activation="tanh")
    g.mse(g.dense(h, 4, 2, "out"), t, name="loss")
    return g


def _dense_feeds(step: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(step)
    return {"x": rng.normal(size=(5, 3)), "t": rng.normal(size=(5, 2))}


def test_placed_gradients_arrive_in_the_given_arrays_without_a_copy_where_possible():
    reference = Engine(_dense_graph(), gradients="parameters")
    engine = Engine(_dense_graph(), gradients="parameters")
    names = list(engine.parameters())
    targets = {n: np.full(a.shape, np.nan) for n, a in engine.parameters().items()}
    engine.place_gradients(targets)
    for step in range(3):  # the first backward copies and arranges; later ones write in place
        for e in (reference, engine):
            e.forward(_dense_feeds(step))
            e.backward()
        for name in names:
            np.testing.assert_array_equal(targets[name], reference.grad(name))
            assert engine.gradients()[name] is targets[name]
    # The matmuls now write the weight gradients straight into the targets, and the adds
    # the biases' sums over the batch (their reused arrays are the targets).
    buffers = [b for s in engine.plan.ops for b in s.context._buffers.values()]
    for name in names:
        assert any(b is targets[name] for b in buffers)


def test_a_gradient_shared_with_other_nodes_is_copied_not_redirected():
    # add() hands one array to both of its inputs: p's target must not become q's gradient.
    g = Graph()
    p, q = g.parameter("p", value=[1.0, 2.0]), g.parameter("q", value=[3.0, 4.0])
    g.sum(g.tanh(g.add(p, q, name="s"), name="a"), name="loss")
    engine = Engine(g)
    targets = {"p": np.zeros(2), "q": np.zeros(2)}
    engine.place_gradients(targets)
    for _ in range(2):
        engine.forward()
        engine.backward()
        expected = 1 - np.tanh([4.0, 6.0]) ** 2
        np.testing.assert_allclose(targets["p"], expected)
        np.testing.assert_allclose(targets["q"], expected)
        np.testing.assert_allclose(engine.grad("s"), expected)
        targets["p"][...] = -1.0  # what a caller writes into its arrays reaches no other node
        np.testing.assert_allclose(engine.grad("s"), expected)
        np.testing.assert_allclose(targets["q"], expected)


def test_placed_gradients_refuse_a_wrong_shape_or_name():
    engine = Engine(_dense_graph())
    with pytest.raises(ValueError, match="h.W"):
        engine.place_gradients({"h.W": np.zeros((4, 3))})
    with pytest.raises(GraphError, match="'x' is not a parameter"):
        engine.place_gradients({"x": np.zeros(3)})


def test_recorded_contributions_are_what_each_wire_carries_and_sum_at_a_fan_out():
    from bpstudio.core.examples import EXAMPLES

    project = EXAMPLES["fan_out"]()
    g = project.graph
    engine = Engine(g)
    engine.forward(project.sample)
    with pytest.raises(GraphError, match="record_contributions"):
        engine.contributions()
    engine.backward(record_contributions=True)
    parts = engine.contributions()
    square = g.node("d_times_d").id
    a, b = parts[(square, "a")], parts[(square, "b")]
    assert a == pytest.approx(2.0) and b == pytest.approx(2.0)  # d = 2 reaches both ports
    assert a + b == pytest.approx(engine.grad("d"))             # and d's gradient is their sum
    wx = g.node("wx").id
    assert parts[(wx, "a")] == pytest.approx(engine.grad("w"))
    engine.forward(project.sample)  # a new pass drops them
    with pytest.raises(GraphError):
        engine.contributions()


# ------------------------------------------------------------------- what an engine refuses
@pytest.mark.parametrize("dtype, given", [
    (np.int64, "int64"), (np.int32, "int32"), (np.uint8, "uint8"), (np.bool_, "bool"),
    (np.float16, "float16"), (np.complex128, "complex128"), (object, "object"),
    ("not a dtype", "'not a dtype'"),
])
def test_an_engine_computes_only_in_float32_or_float64(dtype, given):
    with pytest.raises(GraphError) as info:
        Engine(single_neuron(0.5, 0.1), dtype=dtype)
    assert str(info.value) == f"an engine computes in float32 or float64, not {given}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64, "float32", "f8"])
def test_the_two_float_dtypes_are_accepted_by_any_spelling(dtype):
    engine = Engine(single_neuron(0.5, 0.1), dtype=dtype)
    assert engine.forward({"x": [2.0], "target": [2.0]}).dtype == np.dtype(dtype)


@pytest.mark.parametrize("sample", [(), (3,), (2, 2)])
def test_a_batch_of_zero_rows_is_refused_before_anything_runs(sample):
    # Whatever the sample shape: the loss would average over nothing.
    g = Graph()
    x, t = g.input("x", sample), g.input("t", sample)
    g.mse(g.mul(x, g.parameter("w", value=np.ones(sample))), t, name="loss")
    engine = Engine(g)
    empty = np.zeros((0,) + sample)
    with pytest.raises(FeedError, match="input 'x': the feed has 0 rows"):
        engine.forward({"x": empty, "t": empty})
    with pytest.raises(GraphError, match="run forward"):
        engine.backward()  # nothing was computed
    one = np.ones((1,) + sample)
    assert engine.forward({"x": one, "t": one}) == 0.0


def test_a_feed_naming_a_parameter_constant_or_op_node_is_refused():
    g = single_neuron(0.5, 0.1)
    g.constant(1.0, name="c")
    engine = Engine(g)
    feeds = {"x": [1.0], "target": [1.0]}
    for name, label, what in (("w", "parameter 'w'", "holds its own value"),
                              ("c", "constant 'c'", "holds its own value"),
                              ("z", "add 'z'", "computes its value"),
                              ("loss", "mse 'loss'", "computes its value")):
        with pytest.raises(FeedError, match=f"feed '{name}' names {label}, which {what}"):
            engine.forward({**feeds, name: [3.0]})
    # An input the output does not need may still be fed.
    g.input("spare")
    assert engine.forward({**feeds, "spare": [1.0]}) == pytest.approx(0.16)  # (0.6 - 1)^2


@pytest.mark.parametrize("feed, held", [
    (["1.5"], "text"), (np.array(["2"]), "text"), ([b"1"], "bytes"), ([1 + 2j], "complex numbers"),
    ([10 ** 400], "values that are not numbers"), ([object()], "values that are not numbers"),
    (np.array([1.0], dtype=object), "values that are not numbers"),
])
def test_a_feed_of_text_or_objects_is_refused_not_parsed(feed, held):
    engine = Engine(single_neuron(0.5, 0.1))
    with pytest.raises(FeedError, match=f"input 'x': the feed holds {held}; give numbers"):
        engine.forward({"x": feed, "target": [1.0]})


@pytest.mark.parametrize("feed", [[True], [3], np.array([3], dtype=np.uint8), [2.5],
                                  np.array([2.5], dtype=np.float32)])
def test_booleans_integers_and_floats_are_numbers(feed):
    engine = Engine(single_neuron(1.0, 0.0))
    x = float(np.asarray(feed, dtype=float)[0])
    assert engine.forward({"x": feed, "target": [0.0]}) == pytest.approx(max(x, 0.0) ** 2)


def test_a_softmax_ce_forward_makes_no_temporary_the_size_of_its_logits():
    # Its reused buffers hold the shifted scores and their exponentials; what is left to
    # allocate per pass is per row (N values), not per score (N x classes).
    import tracemalloc

    g = Graph()
    g.softmax_ce(g.input("logits", (2000,)), g.input("labels"), name="loss")
    engine = Engine(g)
    rng = np.random.default_rng(0)
    feeds = {"logits": rng.normal(size=(64, 2000)), "labels": rng.integers(0, 2000, 64)}
    engine.forward(feeds)  # the buffers are made here, once
    tracemalloc.start()
    try:
        engine.forward(feeds)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    logits_bytes = 64 * 2000 * 8
    assert peak < logits_bytes / 4, f"{peak} bytes allocated during one forward"
