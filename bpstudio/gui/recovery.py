"""Autosave for crash recovery: a modified document is written every couple of minutes to a
file of its own in the recovery folder (never over the person's file), removed again on a save
or a clean exit. A file left there by a window that is gone is offered at the next start.

Each window holds a lock beside its recovery file, so a second copy of the app running at the
same time does not offer (or delete) the first one's work: only a stale lock, whose process has
ended, marks a file as left by a crash.

A recovery file that cannot be read (written by a newer version, damaged) is never deleted: it
is moved aside, into the folder's ``unreadable`` subfolder, and the person is told where.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QLockFile

from bpstudio.core.errors import BPStudioError
from bpstudio.core.files import fileformat
from bpstudio.core.project import Project

AUTOSAVE_MS = 2 * 60 * 1000
UNREADABLE = "unreadable"  # the subfolder where recovery files that cannot be read are kept


class UnreadableRecovery(BPStudioError):
    """A recovery file that cannot be read; it was kept at :attr:`kept`."""

    def __init__(self, message: str, kept: Path):
        super().__init__(message)
        self.kept = kept


@dataclass
class Left:
    """A recovery file a crashed window left: the document, and the file it came from."""
    path: Path
    original: Path | None
    lock: QLockFile
    read: bool = field(default=False)        # loaded: its work can be let go
    kept: Path | None = field(default=None)  # where it was moved, being unreadable

    def load(self) -> Project:
        """The document. One that cannot be read is moved aside (see :meth:`set_aside`) and
        :class:`UnreadableRecovery` says why and where it is."""
        try:
            project = fileformat.load(self.path)
        except (BPStudioError, ValueError, OSError) as exc:
            kept = self.set_aside()
            raise UnreadableRecovery(f"{exc}\n\nThe recovery file is kept at {kept}",
                                     kept) from None
        self.read = True
        return project

    def set_aside(self) -> Path:
        """Move the file (and its note of the original) into the ``unreadable`` subfolder, under
        a name no other takes; the place it is kept."""
        if self.kept is None:
            folder = self.path.parent / UNREADABLE
            folder.mkdir(exist_ok=True)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            kept = folder / f"{stamp}-{self.path.name}"
            self.path.replace(kept)
            note = self.path.with_suffix(".json")
            if note.exists():
                note.replace(kept.with_suffix(".json"))
            self.kept = kept
        return self.kept

    def discard(self) -> Path | None:
        """Let the file go (it was offered). Only a file that can be read is deleted; one that
        cannot is moved aside, and the place it is kept returned."""
        if self.kept is None and not self.read and self.path.exists():
            try:
                self.load()
            except UnreadableRecovery:
                pass
        if self.kept is None:
            for path in (self.path, self.path.with_suffix(".json")):
                path.unlink(missing_ok=True)
        self.lock.unlock()  # which also removes the lock file
        return self.kept


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
