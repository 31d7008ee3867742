"""Optimisers: the update rules (checked against the published rules), weight decay, saved state."""

import numpy as np
import pytest

from bpstudio.core.training.optim import (OPTIMIZERS, OptimizerError, ParameterVector, make_optimizer)

SHAPES = {"W": (3, 2), "b": (2,), "s": ()}


def test_parameter_vector_packs_views_and_norms():
    arrays = {name: np.arange(np.prod(shape), dtype=float).reshape(shape) + 1
              for name, shape in SHAPES.items()}
    vector = ParameterVector.pack(arrays)
    assert vector.size == 9 and vector.data.tolist() == [1, 2, 3, 4, 5, 6, 1, 2, 1]
    vector.views["b"][1] = 10.0
    assert vector.data[7] == 10.0  # the views share the vector's memory
    assert np.allclose(vector.norms(vector.data), [np.sqrt(91), np.sqrt(101), 1.0])
    two_rows = np.stack([vector.data, 2 * vector.data])
    assert np.allclose(vector.sum_squares(two_rows)[1], 4 * vector.sum_squares(vector.data))
    big = ParameterVector(["a", "b"], [(200, 150), (7,)])  # large enough for dot products
    assert big.size >= big.DOT_PRODUCTS_FROM
    flat = np.random.default_rng(0).normal(size=big.size)
    by_dots = big.sum_squares(np.stack([flat, -flat]))
    assert np.allclose(by_dots[0], [flat[:30000] @ flat[:30000], flat[30000:] @ flat[30000:]])
    assert np.allclose(by_dots[1], by_dots[0]) and np.allclose(big.sum_squares(flat), by_dots[0])
    buffer = np.zeros(9)
    vector.move_to(buffer)
    assert vector.data is buffer and vector.views["W"].base is not None
    assert np.shares_memory(vector.views["W"], buffer)


def reference_steps(name, params, grads_per_step, lr, wd):
    """The published update rules, one parameter at a time, written as plainly as possible
    (the conventions of torch.optim: weight decay is added to the gradient; momentum 0.9;
    RMSprop alpha 0.99; Adam betas (0.9, 0.999); eps 1e-8 outside the square root)."""
    params = {n: p.copy() for n, p in params.items()}
    state = {n: {"b": np.zeros_like(p), "m": np.zeros_like(p), "v": np.zeros_like(p)}
             for n, p in params.items()}
    for t, grads in enumerate(grads_per_step, start=1):
        for n, p in params.items():
            g = grads[n] + wd * p
            s = state[n]
            if name == "sgd":
                p -= lr * g
            elif name in ("momentum", "nesterov"):
                s["b"] = g if t == 1 else 0.9 * s["b"] + g
                p -= lr * (g + 0.9 * s["b"] if name == "nesterov" else s["b"])
            elif name == "rmsprop":
                s["v"] = 0.99 * s["v"] + 0.01 * g * g
                p -= lr * g / (np.sqrt(s["v"]) + 1e-8)
            elif name == "adam":
                s["m"] = 0.9 * s["m"] + 0.1 * g
                s["v"] = 0.999 * s["v"] + 0.001 * g * g
                m_hat, v_hat = s["m"] / (1 - 0.9 ** t), s["v"] / (1 - 0.999 ** t)
                p -= lr * m_hat / (np.sqrt(v_hat) + 1e-8)
            else:
                raise AssertionError(f"no reference for {name}")
    return params


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_update_rule_matches_the_published_rule(name, weight_decay):
    rng = np.random.default_rng(1)
    start = {n: rng.normal(size=s) for n, s in SHAPES.items()}
    vector = ParameterVector.pack(start)
    ours = make_optimizer(name, lr=0.03, weight_decay=weight_decay).bind(vector)
    grads_per_step = [{n: rng.normal(size=s) for n, s in SHAPES.items()} for _ in range(12)]
    for grads in grads_per_step:
        ours.step(vector.data, vector.gather(grads))
    expected = reference_steps(name, start, grads_per_step, 0.03, weight_decay)
    for n in SHAPES:
        np.testing.assert_allclose(vector.views[n], expected[n], rtol=1e-12, atol=1e-14)
        assert not np.allclose(vector.views[n], start[n])  # the rule really moved the weights
    assert ours.t == 12


def test_sgd_step_by_hand():
    vector = ParameterVector.pack({"w": np.array([1.0, -2.0])})
    update = make_optimizer("sgd", lr=0.5).bind(vector).step(vector.data, np.array([0.2, 0.4]))
    assert vector.data.tolist() == [0.9, -2.2] and update.tolist() == [0.1, 0.2]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_propose_changes_nothing_until_commit():
    vector = ParameterVector.pack({"w": np.ones(3)})
    opt = make_optimizer("adam", lr=0.1).bind(vector)
    update, state = opt.propose(vector.data, np.full(3, np.inf))
    assert not np.all(np.isfinite(update))
    assert vector.data.tolist() == [1, 1, 1] and opt.t == 0
    assert not opt.state["m"].any() and not opt.state["v"].any()
    opt.commit(state)
    assert opt.t == 1 and np.all(np.isinf(opt.state["v"]))


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_dict_resumes_exactly(name):
    rng = np.random.default_rng(2)
    start = {n: rng.normal(size=s) for n, s in SHAPES.items()}
    grads = [rng.normal(size=9) for _ in range(10)]
    straight = ParameterVector.pack(start)
    opt = make_optimizer(name, lr=0.01).bind(straight)
    for g in grads:
        opt.step(straight.data, g)

    first = ParameterVector.pack(start)
    opt1 = make_optimizer(name, lr=0.01).bind(first)
    for g in grads[:4]:
        opt1.step(first.data, g)
    state = opt1.state_dict()
    # Saved per parameter name, in any packing order: pack the second half the other way round.
    reordered = ParameterVector.pack({n: first.views[n] for n in reversed(SHAPES)})
    opt2 = make_optimizer(name, lr=0.01).bind(reordered)
    opt2.load_state_dict(state)
    for g in grads[4:]:
        by_name = straight.split(g)
        opt2.step(reordered.data, reordered.gather(by_name))
    for n in SHAPES:
        assert np.array_equal(reordered.views[n], straight.views[n])
    assert state["name"] == name and state["t"] == 4
    assert set(state["slots"]) == set(opt.slots)


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update(name="sgd"), "is for 'sgd', not 'adam'"),
    (lambda s: s.update(t=-1), "bad update count"),
    (lambda s: s["slots"].pop("v"), "must hold the slots m, v"),
    (lambda s: s["slots"]["m"].pop("b"), "slot 'm' has no entry for parameter 'b'"),
    (lambda s: s["slots"]["m"].update(W=np.zeros((2, 3))),
     r"'W' has shape \(2, 3\), expected \(3, 2\)"),
    (lambda s: s["slots"]["v"].update(b=np.array([1.0, np.nan])), "non-finite"),
])
def test_bad_saved_state_is_refused_with_a_reason(change, message):
    vector = ParameterVector.pack({n: np.ones(s) for n, s in SHAPES.items()})
    opt = make_optimizer("adam").bind(vector)
    opt.step(vector.data, np.ones(9))
    state = opt.state_dict()
    change(state)
    fresh = make_optimizer("adam").bind(vector)
    with pytest.raises(OptimizerError, match=message):
        fresh.load_state_dict(state)
    assert fresh.t == 0


@pytest.mark.parametrize("name, kwargs, message", [
    ("adamw", {}, "unknown optimiser 'adamw'"),
    ("adam", {"lr": 0}, "learning rate must be a finite number > 0"),
    ("adam", {"lr": float("nan")}, "learning rate"),
    ("sgd", {"weight_decay": -1}, "weight decay"),
    ("momentum", {"momentum": 1.0}, "momentum must be below 1"),
    ("adam", {"beta1": 1.5}, "beta1"),
    ("rmsprop", {"colour": 1}, "optimiser 'rmsprop'"),
])
def test_bad_hyperparameters(name, kwargs, message):
    with pytest.raises(OptimizerError, match=message):
        make_optimizer(name, **kwargs)


def test_update_scale_is_given_only_where_the_update_is_a_multiple_of_the_gradient():
    vector = ParameterVector.pack({"w": np.array([1.0, -2.0, 3.0])})
    grads = np.array([0.5, 0.25, -1.0])
    plain = make_optimizer("sgd", lr=0.1).bind(vector)
    update, _ = plain.propose(vector.data, grads)
    assert plain.update_scale() == 0.1 and np.array_equal(update, 0.1 * grads)
    for name, options in (("sgd", {"weight_decay": 0.01}), ("momentum", {}), ("adam", {}),
                          ("rmsprop", {}), ("nesterov", {})):
        assert make_optimizer(name, lr=0.1, **options).update_scale() is None
