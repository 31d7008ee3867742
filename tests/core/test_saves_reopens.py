"""Whatever the editing API accepts can be saved, opened again (equal in content) and exported
(ONNX passing onnx.checker, NumPy code that imports and computes what the engine computes).

The graphs are made by random edits through the editing API alone: nodes of every op in the
registry with random names (ASCII, unicode, control characters, newlines, the lengths around
the limit), ids, positions (infinite and NaN ones too), parameters and values; wires between
random ports; renames, moves and removals. Every refusal must be a GraphError; everything
accepted must survive the round trip."""

from __future__ import annotations

import importlib.util
import itertools
import math
import tempfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bpstudio import Engine, Graph, GraphError, Project, load, save
from bpstudio.core import rules
from bpstudio.core.files.export_numpy import EXPRESSIONS, export_numpy
from bpstudio.core.files.export_onnx import CONVERTERS, export_onnx
from bpstudio.core.ops import REGISTRY

OPS = sorted(REGISTRY)
_modules = itertools.count()



def mostly(usual: st.SearchStrategy, odd: st.SearchStrategy) -> st.SearchStrategy:
    """``usual`` four times in five, else ``odd`` (the values the API must refuse or keep)."""
    return st.integers(0, 4).flatmap(lambda k: odd if k == 0 else usual)


valid_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,15}", fullmatch=True)
odd_names = st.one_of(
    st.text(max_size=12),                                     # unicode, control characters
    valid_names.map(lambda s: s + "\n"),                      # broke the NumPy export
    st.integers(rules.MAX_NAME_LENGTH - 2, rules.MAX_NAME_LENGTH + 2).map(lambda k: "n" * k),
    st.sampled_from(["", " ", "x y", "é", "1x", "a/b", "a\nb", "_", "-x"]),
)
names = mostly(st.none() | valid_names, odd_names)
ids = mostly(st.none(), st.text(max_size=6) | st.integers(
    rules.MAX_ID_LENGTH - 1, rules.MAX_ID_LENGTH + 1).map(lambda k: "#" * k))
finite = st.floats(-1e4, 1e4)
odd_coordinates = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                            st.integers(-10**400, 10**400), st.booleans(), st.just(1e308))
positions = mostly(st.none() | st.tuples(finite, finite), st.one_of(
    st.tuples(finite | odd_coordinates, odd_coordinates),
    st.sampled_from([(1.0,), (1.0, 2.0, 3.0), "left", [3, 4]])))
descriptions = st.one_of(
    st.text(max_size=40),
    st.integers(rules.MAX_DESCRIPTION_LENGTH - 1, rules.MAX_DESCRIPTION_LENGTH + 1)
    .map(lambda k: "ü" * k))
# Mostly shapes that meet (so that many graphs have something to export), some that do not.
shapes = st.sampled_from([(3,), (3,), (3,), (3, 3), (), (1,), (2, 3)])
small_numbers = st.floats(-3.0, 3.0)


def random_params(data, op: str) -> dict:
    """A few parameters, some of them out of range (the API refuses those)."""
    params = {}
    for p in REGISTRY[op].params:
        if data.draw(st.integers(0, 3), label=f"set {p.name}") and p.kind != "shape":
            continue
        if p.kind == "shape":
            params[p.name] = data.draw(mostly(shapes, st.just((0,))), label=p.name)
        elif p.kind == "float":
            params[p.name] = data.draw(mostly(small_numbers, st.just(math.inf)), label=p.name)
        elif p.kind == "int":
            params[p.name] = data.draw(st.integers(-3, 3), label=p.name)
        elif p.kind == "axis":
            params[p.name] = data.draw(st.none() | st.integers(-2, 2), label=p.name)
        elif p.kind == "bool":
            params[p.name] = data.draw(st.booleans(), label=p.name)
        elif p.kind == "choice":
            params[p.name] = data.draw(mostly(st.sampled_from(p.choices), st.just("magic")),
                                       label=p.name)
    return params


def random_edit(g: Graph, data) -> None:
    """One edit through the editing API; a refusal must be a GraphError and change nothing
    that matters here (the round trip below checks what was kept)."""
    nodes = list(g.nodes)
    kind = data.draw(st.sampled_from(["add"] * 4 + ["wire", "rename", "move", "remove",
                                                    "param"]) if nodes else st.just("add"))
    pick = (lambda label: data.draw(st.sampled_from(nodes), label=label))
    try:
        if kind == "add":
            op = data.draw(st.sampled_from(OPS), label="op")
            value = None
            if REGISTRY[op].source in ("parameter", "constant") and data.draw(st.booleans()):
                value = data.draw(st.one_of(small_numbers, st.lists(small_numbers, min_size=3,
                                                                    max_size=3)), label="value")
            node = g.add_node(op, name=data.draw(names, label="name"),
                              params=random_params(data, op), value=value,
                              position=data.draw(positions, label="position"),
                              node_id=data.draw(ids, label="id"))
            others = [i for i in g.nodes if i != node.id]
            for port in node.spec.input_names():
                if others and data.draw(st.integers(0, 3), label=f"wire {port}"):
                    g.connect(data.draw(st.sampled_from(others), label="source"), node, port)
        elif kind == "wire":
            dst = g.node(pick("dst"))
            ports = dst.spec.input_names()
            if ports:
                g.connect(pick("src"), dst, data.draw(st.sampled_from(ports)),
                          replace=data.draw(st.booleans()))
        elif kind == "rename":
            g.rename(pick("node"), data.draw(mostly(valid_names, odd_names), label="new name"))
        elif kind == "move":
            g.set_position(pick("node"), data.draw(positions, label="new position"))
        elif kind == "remove":
            g.remove_node(pick("node"))
        else:
            node = g.node(pick("node"))
            params = random_params(data, node.op)
            for key, value in params.items():
                g.set_param(node, key, value)
    except GraphError as exc:
        assert str(exc)
        event(f"refused: {kind}")


def exportable_outputs(g: Graph) -> list:
    """Nodes an export can compute: not a loss, every op upstream exportable, shapes known."""
    shapes, problems = g.infer_shapes()
    out = []
    for node in g.nodes.values():
        if node.spec.is_loss or node.id not in shapes:
            continue
        upstream = g.topological_order([node])
        if all(n.spec.source is not None or (n.op in CONVERTERS and n.op in EXPRESSIONS)
               for n in upstream):
            out.append(node)
    return out


def import_generated(path: Path):
    spec = importlib.util.spec_from_file_location(f"reopened_{next(_modules)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@settings(max_examples=50, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_whatever_the_editing_api_accepts_saves_reopens_and_exports(data):
    g = Graph(seed=data.draw(st.integers(0, 3), label="seed"))
    g.input("x", (3,))  # something to build on (the edits may rename, move or remove it)
    for _ in range(data.draw(st.integers(3, 25), label="edits")):
        random_edit(g, data)
    try:
        project = Project(g, description=data.draw(descriptions, label="description"))
    except GraphError:
        project = Project(g, description="refused description")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.bpg"
        save(project, path)
        reopened = load(path)
        assert reopened == project
        save(reopened, Path(folder) / "again.bpg")
        assert path.read_bytes() == (Path(folder) / "again.bpg").read_bytes()

        event(f"{min(len(g.nodes), 5)}{'+' if len(g.nodes) >= 5 else ''} nodes saved")
        candidates = exportable_outputs(g)
        if not candidates:
            return
        # The node with most upstream (ties: the first), so that exports see several ops.
        output = max(candidates, key=lambda n: len(g.topological_order([n])))
        event(f"exported: {len(g.topological_order([output]))} node(s) upstream")
        export_onnx(g, Path(folder) / "m.onnx", output=output, description=project.description)
        onnx.checker.check_model(onnx.load(str(Path(folder) / "m.onnx")), full_check=True)
        code = Path(folder) / "model.py"
        export_numpy(g, code, output=output, description=project.description)
        module = import_generated(code)
        rng = np.random.default_rng(0)
        feeds = {name: rng.normal(size=(2,) + tuple(shape))
                 for name, shape in module.INPUTS.items()}
        with np.errstate(all="ignore"):
            theirs = module.predict(*feeds.values())
            ours = Engine(g, output=output).forward(feeds)
        np.testing.assert_allclose(theirs, ours, rtol=1e-9, atol=1e-12, equal_nan=True)


# ------------------------------------------------------------- the refusals, one at a time
@pytest.mark.parametrize("edit, field", [
    (lambda g: g.add_node("relu", name="r" * (rules.MAX_NAME_LENGTH + 1)), "at most 200"),
    (lambda g: g.add_node("relu", name="r\n"), "not a valid node name"),
    (lambda g: g.rename("x", "x\n"), "not a valid node name"),
    (lambda g: g.add_node("relu", node_id=""), "node id"),
    (lambda g: g.add_node("relu", node_id="#" * 201), "node id"),
    (lambda g: g.add_node("relu", position=(0.0, math.inf)), "position must be finite"),
    (lambda g: g.set_position("x", (math.nan, 0.0)), "position must be finite"),
    (lambda g: g.set_position("x", (10**400, 0)), "position must be finite"),
    (lambda g: g.set_position("x", (1.0, 2.0, 3.0)), "position must be an (x, y) pair"),
    (lambda g: g.set_param("x", "shape", (1,) * 33), "at most 32 dimensions"),
    (lambda g: g.set_param("x", "shape", (2**31,)), "at most 2147483647"),
    (lambda g: g.add_node("constant", value=np.zeros((1,) * 33)), "at most 32 dimensions"),
    (lambda g: Project(g, description="d" * 100_001), "description has 100,001 characters"),
])
def test_an_edit_a_file_could_not_hold_is_refused_naming_the_field(edit, field):
    g = Graph()
    g.input("x", (2,))
    before = (list(g.nodes), g.node("x").position, g.node("x").params)
    with pytest.raises(GraphError) as info:
        edit(g)
    assert field in str(info.value)
    assert (list(g.nodes), g.node("x").position, g.node("x").params) == before


def test_names_made_unique_stay_within_the_limit():
    g = Graph()
    long = "w" * rules.MAX_NAME_LENGTH
    g.add_node("relu", name=long)
    for _ in range(12):
        name = g.unique_name(long)
        assert rules.name_problem(name) is None and g.find(name) is None
        g.add_node("relu", name=name)
    assert len(g.nodes) == 13


def test_a_name_forced_past_the_api_is_refused_by_the_exports(tmp_path):
    from bpstudio.core.files.export_common import ExportError
    g = Graph()
    g.relu(g.input("x", (2,)), name="r")
    g.node("r").name = "r\n"  # behind the editing API's back
    for export in (export_numpy, export_onnx):
        with pytest.raises(ExportError, match="not a valid node name"):
            export(g, tmp_path / "m.py")
    assert not list(tmp_path.iterdir())
