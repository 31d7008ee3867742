"""Content comparison of graphs and projects: what differs, in words.

Used to check that a saved and reloaded project is the one that was saved (arrays compared bit
for bit, so NaNs and signed zeros count), and to tell whether a project has unsaved changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .graph import Graph

if TYPE_CHECKING:  # annotations only: project.py imports this module
    from .project import Project


def arrays_identical(a: np.ndarray, b: np.ndarray) -> bool:
    """Same dtype, same shape, same bytes."""
    return (a.dtype == b.dtype and a.shape == b.shape
            and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes())


def tree_differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Differences between two trees of dicts/lists with number, text, bool and array leaves."""
    where = path or "the value"
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        both = isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
        if not both or not arrays_identical(a, b):
            return [f"{where}: arrays differ"]
        return []
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)):
            return [f"{where}: {type(a).__name__} vs {type(b).__name__}"]
        if list(a) != list(b):
            return [f"{where}: keys {list(a)} vs {list(b)}"]
        return [d for key in a for d in tree_differences(a[key], b[key], f"{path}.{key}")]
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        if not (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))) or len(a) != len(b):
            return [f"{where}: {a!r:.60} vs {b!r:.60}"]
        return [d for i, (x, y) in enumerate(zip(a, b))
                for d in tree_differences(x, y, f"{path}[{i}]")]
    if isinstance(a, (bool, np.bool_)) != isinstance(b, (bool, np.bool_)):
        return [f"{where}: {a!r} vs {b!r}"]
    if a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b):
        return []
    return [f"{where}: {a!r:.60} vs {b!r:.60}"]


def graph_differences(a: Graph, b: Graph) -> list[str]:
    """Differences in nodes (ids, order, ops, names, parameters, values, positions), edges
    and groups (ids, names, collapsed, members)."""
    if list(a.nodes) != list(b.nodes):
        return [f"node ids differ: {list(a.nodes)} vs {list(b.nodes)}"]
    out = []
    for node_id, x in a.nodes.items():
        y = b.nodes[node_id]
        label = f"node {node_id} ('{x.name}')"
        for field in ("op", "name", "params"):
            if getattr(x, field) != getattr(y, field):
                out.append(f"{label}: {field} {getattr(x, field)!r} vs {getattr(y, field)!r}")
        if (x.value is None) != (y.value is None) or (
                x.value is not None
                and not arrays_identical(np.asarray(x.value), np.asarray(y.value))):
            out.append(f"{label}: values differ")
        px = None if x.position is None else tuple(x.position)
        py = None if y.position is None else tuple(y.position)
        if px != py:
            out.append(f"{label}: position {px} vs {py}")
    if a.edges != b.edges:
        out.append(f"edges differ: {a.edges} vs {b.edges}")
    out += group_differences(a, b)
    return out


def group_differences(a: Graph, b: Graph) -> list[str]:
    def summary(g: Graph) -> dict[str, tuple]:
        return {group_id: (x.name, x.collapsed, g.member_ids(x))
                for group_id, x in g.groups.items()}
    x, y = summary(a), summary(b)
    if list(x) != list(y):
        return [f"group ids differ: {list(x)} vs {list(y)}"]
    return [f"group {group_id} ('{x[group_id][0]}'): {x[group_id]!r:.80} vs {y[group_id]!r:.80}"
            for group_id in x if x[group_id] != y[group_id]]


def project_differences(a: Project, b: Project) -> list[str]:
    out = graph_differences(a.graph, b.graph)
    if a.description != b.description:
        out.append("descriptions differ")
    for field in ("training", "optimizer_state", "history"):
        out += tree_differences(getattr(a, field), getattr(b, field), field)
    return out
