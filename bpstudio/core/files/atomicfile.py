"""Writing a file so that a crash never leaves it half-written.

The new content goes to a temporary file in the target's folder (the same file system, so the
final rename is atomic), is flushed and fsynced, and then renamed over the target. Until the
rename, the previous file is untouched; after it, the new one is complete.
"""

from __future__ import annotations

import os
import stat
import tempfile
from typing import BinaryIO, Callable

NEW_FILE_MODE = 0o644


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(stream)`` on a temporary file, then atomically replace ``path`` with it.

    An exception (or a kill) before the rename leaves ``path`` exactly as it was; the temporary
    file is removed on an exception."""
    target = os.path.abspath(os.fspath(path))
    folder, base = os.path.split(target)
    fd, temp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            mode = NEW_FILE_MODE  # mkstemp creates files readable by their owner only
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    atomic_write(path, lambda stream: stream.write(data))


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); not every platform can open a folder."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
