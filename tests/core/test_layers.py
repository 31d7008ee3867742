"""The dependency rules: the core never pulls in Qt; inside the core, the kernel imports neither
``training`` nor ``files``, and those two never import each other; nothing in ``bpstudio``
imports in a circle."""

import subprocess
import sys
from pathlib import Path

import pytest

from importgraph import find_cycle, forbidden_imports, import_graph

ROOT = Path(__file__).resolve().parents[2]
GRAPH = import_graph(ROOT, "bpstudio")
KERNEL = [m for m in GRAPH if m.startswith("bpstudio.core.")
          and not m.startswith(("bpstudio.core.training", "bpstudio.core.files"))]


def test_core_imports_without_qt():
    code = ("import sys, bpstudio, bpstudio.core, bpstudio.cli; "
            "print(sorted(m for m in ('PySide6', 'pyqtgraph') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_walk_sees_the_rooms():
    assert {"bpstudio.core.graph", "bpstudio.core.model", "bpstudio.core.training.trainer",
            "bpstudio.core.files.fileformat", "bpstudio.gui.main_window"} <= set(GRAPH)
    assert "bpstudio.core.model" in GRAPH["bpstudio.core.graph"]
    assert "bpstudio.core.training.datasets" in GRAPH["bpstudio.core.training.trainer"]


@pytest.mark.parametrize("room", ["bpstudio.core.training", "bpstudio.core.files"])
def test_the_kernel_imports_neither_room(room):
    found = [line for m in KERNEL for line in forbidden_imports(GRAPH, m, room)]
    assert not found, "the kernel must not import training or files:\n" + "\n".join(found)


@pytest.mark.parametrize("importer, imported", [
    ("bpstudio.core.training", "bpstudio.core.files"),
    ("bpstudio.core.files", "bpstudio.core.training"),
    ("bpstudio.core", "bpstudio.gui"),
    ("bpstudio.core", "bpstudio.cli"),
    ("bpstudio.cli", "bpstudio.gui"),
])
def test_rooms_keep_to_their_side(importer, imported):
    found = forbidden_imports(GRAPH, importer, imported)
    assert not found, f"{importer} must not import {imported}:\n" + "\n".join(found)


def test_nothing_imports_in_a_circle():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def write_package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_walk_finds_a_circle_and_ignores_annotation_only_imports(tmp_path):
    write_package(tmp_path, {
        "pkg/__init__.py": "from .a import A\n",
        "pkg/a.py": "from .b import B\nA = 1\n",
        "pkg/b.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\n"
                     "def f():\n    from pkg.sub import c\nB = 2\n"),
        "pkg/sub/__init__.py": "",
        "pkg/sub/c.py": "from .. import a\n",
    })
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.b"] == {"pkg.sub.c"}          # the local import counts, the annotation not
    assert graph["pkg.sub.c"] == {"pkg.a"}          # `from .. import a` is the submodule
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]
    assert forbidden_imports(graph, "pkg.sub", "pkg.a") == ["pkg.sub.c imports pkg.a"]
    (tmp_path / "pkg/sub/c.py").write_text("X = 0\n")
    assert find_cycle(import_graph(tmp_path, "pkg")) is None
