"""NumPy-code export: the generated module imports only NumPy, and its predict() agrees with
the engine for every example and every op."""

from __future__ import annotations

import ast
import importlib.util
import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpstudio import Engine, Graph, load
from bpstudio.core.examples import EXAMPLES
from bpstudio.core.files.export_numpy import EXPRESSIONS, export_numpy
from bpstudio.core.files.export_common import ExportError, inference_output
from bpstudio.core.ops import REGISTRY

from opcases import cases, op_graph

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_FILES = sorted((ROOT / "resources" / "examples").glob("*.bpg"))
_modules = itertools.count()


def import_generated(path: Path):
    spec = importlib.util.spec_from_file_location(f"generated_{next(_modules)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("batch", [1, 7])
def test_every_example_matches_the_engine(tmp_path, path, batch):
    project = load(path)
    graph = project.graph
    export_numpy(graph, tmp_path / "model.py", description=project.description)
    module = import_generated(tmp_path / "model.py")
    rng = np.random.default_rng(batch)
    feeds = {n.name: rng.normal(size=(batch,) + tuple(n.params["shape"]))
             for n in graph.nodes_of("input")}
    inputs = [name for name in module.INPUTS]
    ours = Engine(graph, output=inference_output(graph)).forward({k: feeds[k] for k in inputs})
    theirs = module.predict(*[feeds[k] for k in inputs])
    assert theirs.shape == ours.shape
    assert np.max(np.abs(theirs - ours), initial=0.0) < 1e-12
    assert module.OUTPUT == inference_output(graph).name


def test_generated_module_imports_only_numpy(tmp_path):
    export_numpy(EXAMPLES["xor"]().graph, tmp_path / "xor_model.py")
    tree = ast.parse((tmp_path / "xor_model.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in getattr(node, "names", [])}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {"numpy", "os"}
    # Run it in a fresh interpreter from another folder, without bpstudio on the path.
    code = ("import sys, numpy as np; sys.path.insert(0, sys.argv[1]); import xor_model; "
            "print(xor_model.predict(np.zeros((2, 2))).shape, 'bpstudio' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                            text=True, cwd="/", env={}, check=True)
    assert result.stdout.split() == ["(2,", "1)", "False"]


def test_weights_file_beside_the_code(tmp_path):
    graph = EXAMPLES["two_moons"]().graph
    export_numpy(graph, tmp_path / "moons.py")
    with np.load(tmp_path / "moons.npz", allow_pickle=False) as archive:
        stored = {name: archive[name] for name in archive.files}
    assert set(stored) == {n.name for n in graph.nodes_of("parameter")}
    for name, array in stored.items():
        assert array.tobytes() == graph.node(name).value.tobytes()


def test_awkward_names(tmp_path):
    """Names that are Python keywords, contain dots or dashes, or collide with np.savez's own
    argument names still give working code."""
    g = Graph()
    a = g.input("class", (2,))
    b = g.input("in-put.2", (2,))
    w = g.parameter("file", value=[1.0, -2.0])
    g.add(g.mul(a, w, name="allow_pickle"), b, name="predict")
    export_numpy(g, tmp_path / "awkward.py")
    module = import_generated(tmp_path / "awkward.py")
    x1, x2 = np.ones((3, 2)), np.full((3, 2), 0.5)
    assert np.array_equal(module.predict(x1, x2), Engine(g).forward({"class": x1, "in-put.2": x2}))


def test_predict_checks_its_input(tmp_path):
    export_numpy(EXAMPLES["xor"]().graph, tmp_path / "m.py")
    module = import_generated(tmp_path / "m.py")
    with pytest.raises(ValueError, match="input 'x': expected shape"):
        module.predict(np.zeros((4, 3)))


# Ops (besides the sources and the losses) that have no NumPy expression on purpose. An op added
# to the registry without one fails the test below until it gets one or is listed here.
NOT_EXPORTED_TO_NUMPY: set[str] = set()


def test_every_op_has_an_expression_or_is_listed():
    missing = {op.name for op in REGISTRY.values()
               if op.source is None and not op.is_loss and op.name not in EXPRESSIONS}
    assert missing == NOT_EXPORTED_TO_NUMPY, f"ops that cannot be exported to NumPy code: {missing}"


def test_an_op_without_an_expression_is_refused_naming_the_node(tmp_path, op_without_exports):
    g = Graph()
    g.apply(op_without_exports, g.input("x", shape=(2,)), name="odd")
    with pytest.raises(ExportError, match="no_export_test 'odd' cannot be exported to NumPy code"):
        export_numpy(g, tmp_path / "m.py")
    assert not (tmp_path / "m.py").exists()


@pytest.mark.parametrize("op_name, shapes, params, batch", list(cases(set(EXPRESSIONS))))
def test_every_op_matches_the_engine(tmp_path, op_name, shapes, params, batch):
    graph, feeds = op_graph(op_name, shapes, params, batch)
    export_numpy(graph, tmp_path / "op.py", output="op")
    module = import_generated(tmp_path / "op.py")
    ours = Engine(graph, output="op").forward(feeds)
    theirs = module.predict(*[feeds[name] for name in module.INPUTS])
    assert theirs.shape == ours.shape
    assert np.max(np.abs(theirs - ours), initial=0.0) < 1e-12


def test_a_loss_cannot_be_exported(tmp_path):
    with pytest.raises(ExportError, match="softmax_ce 'ce' cannot be exported to NumPy code"):
        g = Graph()
        g.softmax_ce(g.input("z", (3,)), g.input("labels"), name="ce")
        export_numpy(g, tmp_path / "ce.py", output="ce")
    assert not (tmp_path / "ce.py").exists()


def test_code_file_needs_a_py_name(tmp_path):
    with pytest.raises(ExportError, match="ending in .py"):
        export_numpy(EXAMPLES["xor"]().graph, tmp_path / "model.npz")
