"""The SVG drawing of a graph (for notebooks and handouts): it parses as XML, names every node
with its op, and after a pass carries the engine's own numbers (the single neuron: loss 0.01,
d loss/d w = 0.4, d loss/d b = 0.2), with every wire shaded by the gradient it carries."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from bpstudio import Engine, Graph
from bpstudio.core.examples import EXAMPLES
from bpstudio.core.svg import render_svg, wire_colour

SVG = "{http://www.w3.org/2000/svg}"


def cards(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return {g.get("data-name"): g for g in root.iter(f"{SVG}g") if g.get("class") == "node"}


def line(card: ET.Element, kind: str) -> str | None:
    found = [t for t in card.iter(f"{SVG}text") if t.get("class") == kind]
    return found[0].text if found else None


@pytest.mark.parametrize("stem", EXAMPLES)
def test_every_example_draws_every_node_by_name_and_op(stem):
    project = EXAMPLES[stem]()
    drawn = cards(project._repr_svg_())
    assert set(drawn) == {n.name for n in project.graph.nodes.values()}
    for node in project.graph.nodes.values():
        texts = [t.text for t in drawn[node.name].iter(f"{SVG}text")]
        assert node.name in texts and node.spec.title in texts
        assert drawn[node.name].get("data-op") == node.op
    assert cards(project.graph._repr_svg_()).keys() == drawn.keys()


def test_after_a_pass_the_cards_carry_the_engines_numbers():
    project = EXAMPLES["single_neuron"]()
    engine = Engine(project.graph)
    engine.forward(project.sample)
    engine.backward(record_contributions=True)
    svg = engine._repr_svg_()
    drawn = cards(svg)
    assert line(drawn["loss"], "value") == "= 0.01"
    assert line(drawn["w"], "gradient") == "∇ 0.4"
    assert line(drawn["b"], "gradient") == "∇ 0.2"
    assert line(drawn["loss"], "gradient") == "∇ 1"
    wires = [p for p in ET.fromstring(svg).iter(f"{SVG}path") if p.get("class") == "wire"]
    assert len(wires) == len(project.graph.edges)
    carried = sorted(float(p.get("data-gradient-rms")) for p in wires
                     if p.get("data-gradient-rms") is not None)
    contributions = sorted(float(np.sqrt(np.mean(np.square(g))))
                           for g in engine.contributions().values())
    assert np.allclose(carried, contributions)
    # The strongest wire gets the canvas's top colour, one six decades weaker its bottom one.
    assert wire_colour(max(carried), max(carried)) == "#ff6b3d"
    assert wire_colour(max(carried) * 1e-6, max(carried)) == "#3a6ea5"


def test_before_a_pass_there_are_no_numbers_and_plain_wires():
    project = EXAMPLES["two_moons"]()
    svg = Engine(project.graph)._repr_svg_()
    root = ET.fromstring(svg)
    assert not [t for t in root.iter(f"{SVG}text") if t.get("class") in ("value", "gradient")]
    assert {p.get("stroke") for p in root.iter(f"{SVG}path") if p.get("class") == "wire"} \
        == {"#8f98a8"}


def test_values_and_gradients_by_name_and_an_empty_graph():
    project = EXAMPLES["fan_out"]()
    g = project.graph
    d = g.find("d") or next(iter(g.nodes.values()))
    svg = render_svg(g, values={d.name: np.array(3.0)}, grads={d.id: np.array([1.0, 2.0])})
    assert line(cards(svg)[d.name], "value") == "= 3"
    assert line(cards(svg)[d.name], "gradient").startswith("∇ (2,) mean 1.5")
    assert cards(render_svg(Graph())) == {}


def test_drawing_needs_neither_qt_nor_graphviz():
    code = ("import sys; from bpstudio.core.examples import EXAMPLES; "
            "EXAMPLES['xor']()._repr_svg_(); "
            "bad = [m for m in ('PySide6', 'pyqtgraph', 'graphviz') if m in sys.modules]; "
            "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
