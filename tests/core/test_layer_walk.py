"""The matrix form of the chain rule at a collapsed dense layer: every array is the engine's
own (compared with an Engine run on the same rows), the four relations hold between them, and
the walkthrough's lines show those numbers for the chosen row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bpstudio import Engine
from bpstudio.core.examples import deep_sigmoid, xor
from bpstudio.core.files.import_onnx import import_onnx
from bpstudio.core.layer_walk import (LayerStep, describe_layer, describe_layer_step,
                                      layer_chain, walk)
from bpstudio.core.sample import sample_feeds
from bpstudio.core.trace import trace
from bpstudio.core.trace_text import number

ONNX = Path(__file__).resolve().parents[1] / "data" / "onnx"


@pytest.mark.parametrize("layer", ["layer1", "layer5", "logits"])
def test_the_chain_holds_the_engines_numbers(layer):
    graph = deep_sigmoid().graph
    feeds = sample_feeds(graph)
    chain = layer_chain(trace(graph), graph, layer)
    engine = Engine(graph)
    engine.forward(feeds)
    engine.backward()
    roles = chain.layer
    x_node = graph.input_edges(roles.matmul)[0].src
    same = np.testing.assert_array_equal
    same(chain.x, engine.value(x_node))
    same(chain.w, engine.value(roles.weight))
    same(chain.z, engine.value(roles.pre_activation))
    same(chain.a, engine.value(roles.output))
    same(chain.dl_da, engine.grad(roles.output))
    same(chain.dl_dz, engine.grad(roles.pre_activation))
    same(chain.dl_dw, engine.grad(roles.weight))
    same(chain.dl_db, engine.grad(roles.bias))
    if layer != "layer1":  # (the first layer's x is the input, whose gradient is its alone)
        same(chain.dl_dx, engine.grad(x_node))


@pytest.mark.parametrize("layer", ["layer1", "layer7", "logits"])
def test_the_four_relations_hold_between_the_engines_arrays(layer):
    graph = deep_sigmoid().graph
    chain = layer_chain(trace(graph), graph, layer)
    if chain.f_prime is not None:
        s = chain.a
        np.testing.assert_allclose(chain.f_prime, s * (1 - s), rtol=1e-12)
        np.testing.assert_allclose(chain.dl_dz, chain.dl_da * chain.f_prime, rtol=1e-12)
    else:
        np.testing.assert_array_equal(chain.dl_dz, chain.dl_da)
    np.testing.assert_allclose(chain.dl_dw, chain.x.T @ chain.dl_dz, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(chain.dl_db, chain.dl_dz.sum(axis=0), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(chain.dl_dx, chain.dl_dz @ chain.w.T, rtol=1e-10, atol=1e-300)


def test_an_imported_gemm_layer_uses_the_transposed_weights_the_product_takes():
    graph = import_onnx(ONNX / "torch_mlp.onnx").graph
    chain = layer_chain(trace(graph), graph, "layer2")
    assert chain.w.shape == (16, 8) and chain.layer.activation == "tanh"
    np.testing.assert_array_equal(chain.w, graph.node("_3.weight").value.T)
    np.testing.assert_allclose(chain.dl_dw, chain.x.T @ chain.dl_dz, rtol=1e-10)
    np.testing.assert_allclose(chain.dl_dx, chain.dl_dz @ chain.w.T, rtol=1e-10)


def test_the_lines_show_the_chosen_rows_numbers():
    graph = xor().graph
    chain = layer_chain(trace(graph), graph, "hidden")
    lines = describe_layer(chain, row=2)
    text = "\n".join(t for _, t in lines)
    assert lines[0] == ("head", "Layer: hidden (2 -> 4, tanh)")
    assert f"dL/dz = dL/da ⊙ f'(z) = {number(chain.dl_dz[2])}" in text
    assert f"f'(z) = 1 - tanh(z)^2 = {number(chain.f_prime[2])}" in text
    assert f"dL/dW = Xᵀ dL/dZ (2 x 4, summed over the 4 rows) = {number(chain.dl_dw)}" in text
    assert f"dL/db = Σ over rows of dL/dz = {number(chain.dl_db)}" in text
    assert f"dL/dx = dL/dz Wᵀ = {number(chain.dl_dx[2])}" in text
    assert "row 3 of 4" in text
    out = "\n".join(t for _, t in describe_layer(layer_chain(trace(graph), graph, "out")))
    assert "(no activation)" in out and "all rows" in out


def test_a_group_that_is_no_layer_is_refused():
    graph = xor().graph
    graph.ungroup("hidden")
    graph.add_group("odd", ["hidden.b", "hidden.z"])
    with pytest.raises(ValueError, match="'odd' is not a dense layer"):
        layer_chain(trace(graph), graph, "odd")


def test_a_walk_steps_over_each_collapsed_layer_once_per_phase():
    graph = deep_sigmoid().graph
    graph.set_collapsed("layer2", False)  # opened: its ops are walked one by one
    walk_trace = trace(graph)
    steps = walk(walk_trace, graph)
    layer_steps = [s for s in steps if isinstance(s, LayerStep)]
    assert [(s.name, s.phase) for s in layer_steps if s.phase == "forward"][:2] == [
        ("layer1", "forward"), ("layer3", "forward")]
    assert len(layer_steps) == 2 * 10  # 11 layers, one of them opened
    opened = {graph.node(n).id for n in ("layer2.W", "layer2.matmul", "layer2")}
    assert opened <= {s.node_id for s in steps if not isinstance(s, LayerStep)}
    covered = [i for s in layer_steps for i in s.node_ids]
    assert len(covered) == len({(s.phase, i) for s in layer_steps for i in s.node_ids})
    assert len(steps) == len(walk_trace.steps) - sum(len(s.node_ids) - 1 for s in layer_steps)
    back = next(s for s in layer_steps if s.phase == "backward" and s.name == "layer1")
    assert steps.index(back) > steps.index(next(s for s in layer_steps if s.phase == "backward"
                                                and s.name == "layer3"))
    lines = [text for _, text in describe_layer_step(back, row=0)]
    assert lines[0].startswith("Layer: layer1") and any("dL/dW = Xᵀ dL/dZ" in t for t in lines)
    forward = [t for _, t in describe_layer_step(layer_steps[0], row=0)]
    assert any(t.startswith("z = x W + b") for t in forward)
    assert not any("dL/d" in t for t in forward)
