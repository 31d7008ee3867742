"""Every op in the registry, checked against central differences in float64.

The cases come from each op's own ``examples`` (shape cases, "N" the batch) and ports' domains,
so a newly registered op is checked here without touching this file."""

import zlib

import numpy as np
import pytest

from bpstudio import Graph, gradcheck
from bpstudio.core.ops import REGISTRY

from opcases import PARAM_VARIANTS, sample

COMPUTE_OPS = [op for op in REGISTRY.values() if op.source is None]
BATCHES = (1, 4)


def cases():
    for op in COMPUTE_OPS:
        for k, shapes in enumerate(op.examples):
            for v, params in enumerate([{}] + PARAM_VARIANTS.get(op.name, [])):
                if "axis" in params and params["axis"] not in (None, -1) \
                        and params["axis"] >= len(shapes[0]):
                    continue  # that axis does not exist in this example
                for batch in BATCHES:
                    yield pytest.param(op, shapes, params, batch,
                                       id=f"{op.name}-case{k}-params{v}-batch{batch}")


def test_every_compute_op_has_examples():
    assert COMPUTE_OPS, "the registry holds no ops"
    missing = [op.name for op in COMPUTE_OPS if not op.examples]
    assert not missing, f"ops without shape examples, so unchecked: {missing}"


@pytest.mark.parametrize("op, shapes, params, batch", list(cases()))
def test_backprop_matches_central_differences(op, shapes, params, batch):
    rng = np.random.default_rng(zlib.crc32(repr((op.name, shapes, params, batch)).encode()))
    g = Graph()
    feeds, checked_inputs, operands = {}, [], []
    for port, symbolic in zip(op.inputs, shapes):
        concrete = tuple(batch if d == "N" else d for d in symbolic)
        data = sample(port.domain, concrete, rng, away_from_zero=True)
        if "N" in symbolic:
            operands.append(g.input(port.name, symbolic[1:]))
            feeds[port.name] = data
            if port.differentiable:
                checked_inputs.append(port.name)
        elif port.differentiable:
            operands.append(g.parameter(port.name, value=data))
        else:
            operands.append(g.constant(data, name=port.name))
    out = g.apply(op.name, *operands, name="op", **params)
    # A fixed random weighting makes every output element matter differently to the objective.
    shape = g.infer_shapes()[0][out.id]
    weights = rng.normal(size=tuple(batch if d == "N" else d for d in shape))
    if "N" in shape:
        feeds["weights"] = weights
        weights = g.input("weights", shape[1:])
    g.sum(g.mul(out, weights), name="objective")

    errors = gradcheck(g, feeds, inputs=checked_inputs)

    params = [p for p in g.nodes_of("parameter")]
    assert set(errors) == {p.name for p in params} | set(checked_inputs)
    assert errors, f"{op.name}: nothing was checked"
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-6, f"{op.name}: gradient of '{worst}' off by {errors[worst]:.2e}"


def test_gradcheck_catches_a_wrong_rule(monkeypatch):
    """The check itself must be able to fail: break tanh's rule and it must notice."""
    tanh = REGISTRY["tanh"]
    monkeypatch.setattr(tanh, "backward", staticmethod(lambda ctx, grad: (grad * 1.0,)))
    g = Graph()
    g.sum(g.tanh(g.parameter("w", value=[0.3, -1.2])))
    assert gradcheck(g)["w"] > 0.1


def moves_only_its_own_element(op_name: str) -> bool:
    """Whether nudging one element of the op's first input moves that output element alone."""
    from bpstudio import Engine

    op = REGISTRY[op_name]
    rng = np.random.default_rng(0)
    g = Graph()
    g.apply(op_name, *[g.input(p.name, (4,)) for p in op.inputs], name="op")
    feeds = {p.name: sample(p.domain, (2, 4), rng, away_from_zero=True) for p in op.inputs}
    engine = Engine(g, output="op")
    base = engine.forward(feeds)
    first = op.inputs[0].name
    nudged = {**feeds, first: feeds[first].copy()}
    nudged[first][0, 1] += 1e-3
    moved = engine.forward(nudged) != base
    return base.shape == (2, 4) and bool(moved[0, 1]) and moved.sum() == 1


@pytest.mark.parametrize("op", sorted(n for n, op in REGISTRY.items() if op.elementwise))
def test_an_op_that_says_it_is_elementwise_is(op):
    """The walkthrough shows local derivatives' numbers for these ops alone: each output
    element must read only the same element of each input."""
    assert moves_only_its_own_element(op)


def test_softmax_is_not_elementwise_and_the_check_sees_it():
    assert not REGISTRY["softmax"].elementwise and not moves_only_its_own_element("softmax")
