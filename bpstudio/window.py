"""``bpstudio.show(graph_or_project)``: the app's window on a graph from a script or a notebook.

The GUI is imported only when the window is asked for, so that ``import bpstudio`` stays free
of Qt. The window opens the project as the app opens a file (``bpstudio FILE``): from a copy
saved in a temporary folder, which is read back when the window closes, so that what the person
saved there comes back to the caller.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from .core.files.fileformat import load, save
from .core.graph import Graph
from .core.project import Project


def show(subject: Graph | Project, name: str = "graph") -> Project:
    """Open the app's window on ``subject`` and return when the window closes (a notebook cell
    waits until then), with the project as it was last saved in the window (the subject
    itself, as a project, if it was not saved)."""
    if isinstance(subject, Graph):
        subject = Project(subject)
    if not isinstance(subject, Project):
        raise TypeError(f"show() takes a Graph or a Project, not {type(subject).__name__}")
    from .gui.app import main  # (Qt only now)

    with tempfile.TemporaryDirectory(prefix="bpstudio-show-") as folder:
        path = Path(folder) / f"{name}.bpg"
        save(subject, path)
        main(["bpstudio", str(path)])
        return load(path)


__all__ = ["show"]
