"""Where the bundled files (example projects, data sets) live.

In a source checkout they sit in ``resources/`` beside the package; an installed wheel carries the
same folder as ``bpstudio/resources`` (see ``setup.py``). Callers ask for a path by its parts and
never care which of the two it is."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # .../bpstudio


def resources_dir() -> Path:
    """The folder holding ``data/`` and ``examples/``."""
    installed = _PACKAGE / "resources"
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / "resources"


def resource_path(*parts: str) -> Path:
    """The path of a bundled file, e.g. ``resource_path("data", "iris.csv")``."""
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"bundled file {'/'.join(parts)} is missing from {resources_dir()}")
    return path
