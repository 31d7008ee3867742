"""Property: whatever is done to a valid project file (bytes, JSON fields, zip entries, array
headers), loading it either gives a valid project or raises FileFormatError; nothing else.

Mutations that keep the manifest's checksums consistent reach the checks behind the checksum
check (schema, registry, wiring, arrays); the others exercise the container checks.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bpstudio import FileFormatError, Project
from bpstudio.cli import main
from bpstudio.core.files import fileformat
from bpstudio.core.examples import xor
from bpstudio.core.files.fileformat import encode, loads
from bpstudio.core.graph import MAX_SAMPLE_ROWS
from bpstudio.core.ops import REGISTRY
from bpstudio.core.training import datasets
from bpstudio.core.training.trainer import Trainer

from bpgfiles import mutate_json, paths, read_entries, write_entries

# Duplicated entry names are one of the mutations (zipfile warns when writing them), and NumPy's
# header parser warns about the escape sequences that damaged header text may contain.
pytestmark = [pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning"),
              pytest.mark.filterwarnings("ignore:invalid escape sequence"),
              pytest.mark.filterwarnings("ignore::SyntaxWarning")]


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def container(project: Project) -> bytes:
    buffer = io.BytesIO()
    fileformat._write_zip(buffer, encode(project))
    return buffer.getvalue()


def trained_xor() -> Project:
    project = xor()
    project.training = {"optimizer": "sgd", "lr": 0.5, "bindings": {"x": "features", "y": "target"}}
    project.optimizer_state = {"velocity": {"hidden.W": np.ones((2, 4))}, "step": 3}
    project.history = {"loss": [0.7, 0.6, float("nan")], "grad_norm": {"hidden.W": np.arange(3.0)}}
    return project


GOOD = container(trained_xor())
ENTRIES = read_entries(GOOD)


def assert_valid_or_refused(data: bytes) -> None:
    try:
        project = loads(data)
    except FileFormatError as exc:
        assert str(exc)  # every refusal says something
        return
    graph = project.graph
    for node in graph.nodes.values():
        assert node.op in REGISTRY
        if node.spec.source in ("parameter", "constant"):
            assert isinstance(node.value, np.ndarray) and node.value.dtype == np.float64
        elif node.spec.source == "input" and node.value is not None:  # a sample's rows
            assert node.value.dtype == np.float64 and np.all(np.isfinite(node.value))
            assert node.value.shape[1:] == tuple(node.params["shape"])
            assert 1 <= len(node.value) <= MAX_SAMPLE_ROWS
        else:
            assert node.value is None
    for group in graph.groups.values():  # each group's nodes exist and know their group
        members = graph.members(group)
        assert members and all(n.group is group for n in members)
    assert all(n.group is None or graph.groups.get(n.group.id) is n.group
               for n in graph.nodes.values())
    graph.topological_order()
    graph.infer_shapes()
    assert loads(container(project)) == project  # what loads can be saved again, unchanged


# ---------------------------------------------------------------------------------- bytes
@fuzz(2500)
@given(st.data())
def test_random_byte_damage(data):
    raw = bytearray(GOOD)
    for _ in range(data.draw(st.integers(1, 6), label="mutations")):
        kind = data.draw(st.sampled_from(["flip", "set", "delete", "insert", "truncate"]))
        at = data.draw(st.integers(0, len(raw) - 1), label="at")
        if kind == "flip":
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "set":
            raw[at] = data.draw(st.integers(0, 255))
        elif kind == "delete":
            del raw[at:at + data.draw(st.integers(1, 64))]
        elif kind == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=32))
        else:
            del raw[at:]
        if not raw:
            break
    assert_valid_or_refused(bytes(raw))


# ----------------------------------------------------------------------------- JSON fields
@fuzz(2500)
@given(st.data())
def test_json_field_mutations(data):
    entry = data.draw(st.sampled_from(["graph.json", "graph.json", "graph.json", "manifest.json"]))
    keep_checksums = data.draw(st.booleans()) if entry == "graph.json" else False
    out = []
    for name, content in ENTRIES:
        if name == entry:
            document = json.loads(content)
            for _ in range(data.draw(st.integers(1, 3), label="edits")):
                document = mutate_json(document, data)
            content = json.dumps(document).encode()
        out.append((name, content))
    assert_valid_or_refused(write_entries(out, fix_manifest=entry == "graph.json" and keep_checksums))


# ------------------------------------------------------------------------------ zip entries
ENTRY_NAMES = st.sampled_from(["graph.json", "manifest.json", "values/1.npy", "values/2.npy",
                               "values/0.npy", "history/0.npy", "history/1.npy", "optimizer/0.npy",
                               "training/0.npy", "../graph.json", "/graph.json", "values/1.npy/",
                               "a" * 300, "values/-1.npy", "weights.bin"]) | st.text(max_size=12)


@fuzz(1500)
@given(st.data())
def test_zip_entry_mutations(data):
    entries = list(ENTRIES)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        kind = data.draw(st.sampled_from(["drop", "duplicate", "rename", "add", "replace", "swap",
                                          "reverse"]))
        if not entries:
            break
        i = data.draw(st.integers(0, len(entries) - 1), label="entry")
        name, content = entries[i]
        if kind == "drop":
            del entries[i]
        elif kind == "duplicate":
            entries.append((name, content))
        elif kind == "rename":
            entries[i] = (data.draw(ENTRY_NAMES, label="name"), content)
        elif kind == "add":
            entries.append((data.draw(ENTRY_NAMES, label="name"), data.draw(st.binary(max_size=64))))
        elif kind == "replace":
            entries[i] = (name, data.draw(st.binary(max_size=256) | st.sampled_from(
                [c for _, c in ENTRIES]), label="content"))
        elif kind == "swap":
            j = data.draw(st.integers(0, len(entries) - 1))
            entries[i], entries[j] = (name, entries[j][1]), (entries[j][0], content)
        else:
            entries.reverse()
    try:
        built = write_entries(entries, fix_manifest=data.draw(st.booleans(), label="fix manifest"))
    except (ValueError, AttributeError, TypeError):  # a replaced manifest the helper cannot edit
        built = write_entries(entries, fix_manifest=False)
    assert_valid_or_refused(built)


# ---------------------------------------------------------------------------- .npy headers
NPY_ENTRIES = [name for name, _ in ENTRIES if name.endswith(".npy")]
descrs = st.sampled_from(["<f8", ">f8", "<f4", "<i8", "|b1", "|O", "<c16", "<U3", "[('a', '<f8')]",
                          "'<f8'", "<f8 ", "x"])
shapes = st.lists(st.integers(-2, 6) | st.sampled_from([2**31, 2**62, 10**30]), max_size=4)


@fuzz(1500)
@given(st.data())
def test_npy_mutations(data):
    name = data.draw(st.sampled_from(NPY_ENTRIES), label="entry")
    content = dict(ENTRIES)[name]
    if data.draw(st.booleans(), label="rewrite header"):
        fields = {"descr": data.draw(descrs), "fortran_order": data.draw(st.booleans() | st.just(1)),
                  "shape": tuple(data.draw(shapes))}
        header = repr(fields)
        if data.draw(st.booleans(), label="damage header text"):
            at = data.draw(st.integers(0, len(header)))
            header = header[:at] + data.draw(st.text(max_size=4)) + header[at:]
        encoded = header.encode("utf-8", "replace").ljust(118) + b"\n"
        body = content[128:] if data.draw(st.booleans()) else data.draw(st.binary(max_size=96))
        content = b"\x93NUMPY\x01\x00" + len(encoded).to_bytes(2, "little") + encoded + body
    else:
        raw = bytearray(content)
        for _ in range(data.draw(st.integers(1, 4))):
            at = data.draw(st.integers(0, len(raw) - 1))
            raw[at] = data.draw(st.integers(0, 255))
        content = bytes(raw)
    entries = [(n, content if n == name else c) for n, c in ENTRIES]
    assert_valid_or_refused(write_entries(entries, fix_manifest=True))


# ------------------------------------------------------ the training tree, through the CLI
def trained_file() -> bytes:
    """A project trained for a few steps: settings, optimiser state and history as the
    training code writes them."""
    project = xor()
    trainer = Trainer(project.graph, datasets.prepare("xor", options={"n": 40}), lr=0.05,
                      validate_every=2)
    trainer.fit(steps=4)
    return container(trainer.to_project("trained"))


TRAINED_ENTRIES = read_entries(trained_file())


# Values of each JSON type that pass a type check and then test the code behind it: bounds,
# zeros, signs, the names it knows.
NUDGES = {
    int: st.sampled_from([0, 1, -1, 2, 3, 100, 10**6, 10**6 + 1, 2**31, 2**63, 10**12 + 1]),
    float: st.sampled_from([0.0, -0.0, 0.5, 1.0, -1.0, 1e-300, 1e300, 0.999999, 1e-8]),
    str: st.sampled_from(["", "x", "y", "loss", "adam", "sgd", "csv", "iris", "digits", "blobs",
                          "spirals", "features", "target", "auto", "regression", "hidden.W",
                          "/no/such.csv", "nan"]),
    bool: st.booleans(),
}


def nudge_leaf(tree, data) -> None:
    """Replace one number, string or boolean of ``tree`` by another of the same type."""
    leaves = [path for path in paths(tree) if path and type(_at(tree, path)) in NUDGES]
    if not leaves:
        return
    path = data.draw(st.sampled_from(leaves), label="leaf")
    parent = _at(tree, path[:-1])
    parent[path[-1]] = data.draw(NUDGES[type(parent[path[-1]])], label="nudged")


def _at(tree, path):
    for key in path:
        tree = tree[key]
    return tree


@contextlib.contextmanager
def memory_cap(extra: int):
    """Address space limited to what the process has now plus ``extra`` bytes (where the
    platform allows): a file that makes the CLI allocate more fails the test with a
    MemoryError instead of exhausting the machine (a project asking for 10^9 rows did)."""
    try:
        import resource
        with open("/proc/self/status") as f:
            size = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, StopIteration):
        yield
        return
    limit = size + extra if hard == resource.RLIM_INFINITY else min(size + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def cli(*argv: str) -> tuple[int, str]:
    """Exit code and stderr of bpstudio-cli; any exception escaping main() fails the test."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), \
            memory_cap(2 * 2**30):
        code = main(list(argv))
    return code, err.getvalue()


@fuzz(250)
@given(st.data())
def test_training_tree_mutations_end_in_one_line_through_the_cli(data):
    """Whatever is done to the training settings, optimiser state or history, `info` and
    `train` either work or end with exit 2 and one line on stderr (1 for a diverged run,
    which also says why in one line); never a traceback."""
    document = json.loads(dict(TRAINED_ENTRIES)["graph.json"])
    tree = data.draw(st.sampled_from(["training", "training", "optimizer_state", "history"]))
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        if data.draw(st.booleans(), label="nudge"):
            nudge_leaf(document[tree], data)
        else:
            document[tree] = mutate_json(document[tree], data)
    text = json.dumps(document)
    # Array entries a mutation no longer refers to are dropped, so that the edit itself is
    # what the loader judges (not the leftover entry).
    entries = [(name, text.encode() if name == "graph.json" else content)
               for name, content in TRAINED_ENTRIES
               if not name.endswith(".npy") or name.startswith("values/") or f'"{name}"' in text]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "mutated.bpg")
        with open(path, "wb") as f:
            f.write(write_entries(entries, fix_manifest=True))
        for argv in (["info", path], ["train", path, "--steps", "2", "--quiet"]):
            code, err = cli(*argv)
            event(f"{argv[0]}: exit {code}")
            assert code in (0, 1, 2), (argv, code, err)
            if code:
                assert err.startswith("bpstudio-cli: error: ") and err.count("\n") == 1, err
