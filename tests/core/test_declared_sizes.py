"""Declared sizes are claims, not orders: an input's shape in an ONNX model or a format-1
project file is weighed against the stated sample limit (MAX_SAMPLE_ROWS rows, MAX_SAMPLE_SIZE
numbers) before any default sample is drawn for it. The sample shrinks to fit: fewer rows, or
none, said in the description and by Forward. A valid file always opens. (An 87-byte model
with an input (N, 20000, 20000) asked for an 11.9 GiB sample; a 30,000-feature input was
refused because of the 4-row sample the importer drew itself.)

Each reader runs in a child process with its address space capped and a time limit."""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

from bpstudio import Graph, Project, load, save
from bpstudio.core.files.import_onnx import import_onnx
from bpstudio.core.graph import MAX_SAMPLE_ROWS, MAX_SAMPLE_SIZE
from bpstudio.core.sample import default_sample
from bpstudio.core.shapes import format_shape

from bpgfiles import edit_json
from onnxmodels import initializer, make_model, max_difference, run_graph, run_onnxruntime, \
    value_info

ROOT = Path(__file__).resolve().parents[2]
MEMORY_CAP = 1536 * 2**20
WATCHDOG_SECONDS = 120

# Input shapes (without the batch): some whose rows fit (a few or one), some where one row is
# already more than a sample holds, up to the largest dimensions a file may state.
FITTING = [(2,), (3, 100, 100), (30_000,), (25_000,), (50_001,), (MAX_SAMPLE_SIZE,),
           (10, 10, 10, 10, 10)]
TOO_LARGE = [(20_000, 20_000), (MAX_SAMPLE_SIZE + 1,), (10, 10, 10, 10, 11),
             (2**31 - 1,), (65_535, 65_535, 65_535), (2, 2**31 - 1, 2**31 - 1)]


def expected_rows(shape: tuple[int, ...], wanted: int = 4) -> int:
    return min(wanted, MAX_SAMPLE_ROWS, MAX_SAMPLE_SIZE // math.prod(shape))


def relu_model(shape: tuple[int, ...]) -> onnx.ModelProto:
    """The smallest model on such an input: a ReLU of it (87 bytes for (20000, 20000))."""
    x = value_info("x", ["N", *shape])
    y = value_info("y", ["N", *shape])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def version_1_file(shape: tuple[int, ...], path: Path) -> None:
    """A format-1 project (no sample entry: the loader draws one) on an input of ``shape``."""
    g = Graph()
    x = g.add_node("input", name="x", params={"shape": shape})
    g.connect(x, g.add_node("relu", name="y"), "x")
    save(Project(g), path)

    def downgrade(manifest):
        manifest["format_version"] = 1

    def no_sample(document):
        del document["sample"]
    data = edit_json(path.read_bytes(), "graph.json", no_sample)
    path.write_bytes(edit_json(data, "manifest.json", downgrade))


CHILD = """
import json, sys
from bpstudio import FeedError, load
from bpstudio.core.sample import runnable_sample
from bpstudio.core.files.import_onnx import import_onnx
for path in sys.argv[1:]:
    try:
        project = (import_onnx if path.endswith(".onnx") else load)(path)
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        continue
    x = project.graph.node("x")
    try:
        runnable_sample(project.graph)
        why = None
    except FeedError as exc:
        why = str(exc)
    print(json.dumps({"rows": None if x.value is None else list(x.value.shape),
                      "description": project.description, "forward": why}), flush=True)
"""


def cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def read_in_a_child(paths: list[Path]) -> list[dict]:
    try:
        result = subprocess.run([sys.executable, "-c", CHILD, *map(str, paths)],
                                capture_output=True, text=True, timeout=WATCHDOG_SECONDS,
                                preexec_fn=cap_memory, cwd=ROOT, env={"PYTHONPATH": str(ROOT)})
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading {len(paths)} files took more than {WATCHDOG_SECONDS} s")
    assert result.returncode == 0, result.stderr[-1000:]
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("kind", ["onnx", "format-1"])
def test_every_declared_input_opens_with_a_sample_that_fits(tmp_path, kind):
    paths = []
    for k, shape in enumerate(FITTING + TOO_LARGE):
        if kind == "onnx":
            path = tmp_path / f"m{k}.onnx"
            path.write_bytes(relu_model(shape).SerializeToString())
        else:
            path = tmp_path / f"p{k}.bpg"
            version_1_file(shape, path)
        paths.append(path)
    if kind == "onnx":
        assert paths[FITTING.index((3, 100, 100))].stat().st_size < 100
    results = read_in_a_child(paths)
    assert len(results) == len(paths)
    for shape, result in zip(FITTING + TOO_LARGE, results):
        assert "error" not in result, (shape, result["error"][-300:])
        if shape in FITTING:
            assert result["rows"] == [expected_rows(shape), *shape]
            assert result["forward"] is None
        else:
            assert result["rows"] is None
            assert result["forward"] == (
                f"input 'x' has no sample rows: one row of shape {format_shape(shape)} holds "
                f"{math.prod(shape):,} numbers, more than the {MAX_SAMPLE_SIZE:,} a sample may "
                "hold")
            if kind == "onnx":  # the importer says why in the description it writes
                assert f"one row of shape {format_shape(shape)} holds " \
                       f"{math.prod(shape):,} numbers, more than the {MAX_SAMPLE_SIZE:,}" \
                       in result["description"]


def test_a_wide_model_imports_and_computes_what_onnxruntime_computes(tmp_path):
    """3x100x100 -> Flatten -> MatMul: 30,000 features, three rows of sample."""
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Flatten", ["x"], ["f"]), helper.make_node("MatMul", ["f", "w"], ["y"])]
    model = make_model(nodes, [value_info("x", ["N", 3, 100, 100])], "y",
                       [initializer("w", rng.normal(size=(30_000, 4)) / 100)])
    path = tmp_path / "wide.onnx"
    path.write_bytes(model.SerializeToString())
    project = import_onnx(path)
    rows = project.graph.node("x").value
    assert rows.shape == (3, 3, 100, 100)
    assert max_difference(run_graph(project, {"x": rows}), run_onnxruntime(model, {"x": rows})) \
        < 1e-4
    save(project, tmp_path / "wide.bpg")  # and the imported project saves and opens
    assert load(tmp_path / "wide.bpg").graph.node("x").value.shape == (3, 3, 100, 100)


@pytest.mark.parametrize("shape", FITTING + TOO_LARGE)
@pytest.mark.parametrize("wanted", [1, 4, 8, 64, 1000])
def test_rows_that_fit_keep_to_both_limits(shape, wanted):
    from bpstudio.core.sample import rows_that_fit
    fit = rows_that_fit(shape, wanted)
    assert 0 <= fit <= min(wanted, MAX_SAMPLE_ROWS)
    assert fit * math.prod(shape) <= MAX_SAMPLE_SIZE
    assert fit == wanted or fit == MAX_SAMPLE_ROWS or (fit + 1) * math.prod(shape) > MAX_SAMPLE_SIZE


def test_default_sample_draws_nothing_for_an_input_it_cannot_hold():
    g = Graph()
    small = g.add_node("input", name="small", params={"shape": (3,)})
    big = g.add_node("input", name="big", params={"shape": (65_535, 65_535, 65_535)})
    g.connect(small, g.add_node("relu", name="r"), "x")
    g.connect(big, g.add_node("relu", name="s"), "x")
    drawn = default_sample(g, rows=8)
    assert set(drawn) == {"small"} and drawn["small"].shape == (8, 3)
