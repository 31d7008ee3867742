"""Autosave for crash recovery: a modified document is written every couple of minutes to a
file of its own in the recovery folder (never over the person's file), removed again on a save
or a clean exit. A file left there by a window that is gone is offered at the next start.

Each window holds a lock beside its recovery file, so a second copy of the app running at the
same time does not offer (or delete) the first one's work: only a stale lock, whose process has
ended, marks a file as left by a crash.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile

from bpstudio.core.files import fileformat
from bpstudio.core.project import Project

AUTOSAVE_MS = 2 * 60 * 1000


@dataclass
class Left:
    """A recovery file a crashed window left: the document, and the file it came from."""
    path: Path
    original: Path | None
    lock: QLockFile

    def discard(self) -> None:
        for path in (self.path, self.path.with_suffix(".json")):
            path.unlink(missing_ok=True)
        self.lock.unlock()  # which also removes the lock file


class Recovery:
    """One window's recovery file in ``folder``."""

    def __init__(self, folder: Path):
        self.folder = folder
        name = uuid.uuid4().hex[:12]
        self.path = folder / f"{name}.bpg"
        self.lock = QLockFile(str(folder / f"{name}.lock"))
        self._locked = False

    def write(self, project: Project, original: Path | None) -> None:
        if not self._locked:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._locked = self.lock.tryLock(0)
        fileformat.save(project, self.path)  # atomic: a crash mid-write keeps the last one
        meta = {"original": str(original) if original is not None else None}
        self.path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")

    def remove(self) -> None:
        for path in (self.path, self.path.with_suffix(".json")):
            path.unlink(missing_ok=True)
        if self._locked:
            self.lock.unlock()
            self._locked = False

    @property
    def exists(self) -> bool:
        return self.path.exists()


def left_behind(folder: Path) -> list[Left]:
    """The recovery files in ``folder`` whose windows are gone, newest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.bpg"), key=lambda p: p.stat().st_mtime, reverse=True):
        lock = QLockFile(str(path.with_suffix(".lock")))
        if not lock.tryLock(0):  # a window that is still open (in this or another process)
            continue
        original = None
        try:
            meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            if isinstance(meta, dict) and isinstance(meta.get("original"), str):
                original = Path(meta["original"])
        except (OSError, ValueError):
            pass  # the document itself can still be restored, as untitled
        found.append(Left(path, original, lock))
    return found
