"""Opening a file to read: only a regular file is read.

A path may name a device (``/dev/zero`` reads for ever), a FIFO (opening it waits for a writer
that may never come), a folder or a socket. :func:`open_regular` refuses all of these by name
before a byte is read, and it never blocks: the path is looked at first (opening some devices
has effects of its own), then opened without waiting, and what was opened is looked at again
(the path may have been replaced in between). The file readers of the project (project files,
ONNX models, CSV data) open what they read with it, so the command line and the window refuse
the same paths with the same words.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import IO, Any

# What a path that is not a regular file is, in the words of a message.
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
          (stat.S_ISFIFO, "a pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))


def kind_of(mode: int) -> str | None:
    """What a file of ``mode`` (``st_mode``) is when it is not a regular file, else None."""
    if stat.S_ISREG(mode):
        return None
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def not_a_file(path: str | os.PathLike[Any], kind: str) -> OSError:
    """The error for ``path``, which is ``kind`` ("a device"...) rather than a regular file."""
    code = errno.EISDIR if kind == "a folder" else errno.EINVAL
    return OSError(code, f"is {kind}, not a file: only regular files are read", os.fspath(path))


def check_regular(path: str | os.PathLike[Any]) -> os.stat_result:
    """The status of ``path`` (symlinks followed) if it is a regular file; OSError naming
    ``path`` otherwise (FileNotFoundError when it does not exist)."""
    status = os.stat(path)
    kind = kind_of(status.st_mode)
    if kind is not None:
        raise not_a_file(path, kind)
    return status


def open_regular(path: str | os.PathLike[Any], mode: str = "rb", **options: Any) -> IO[Any]:
    """``open(path, mode, **options)`` for reading, refusing anything but a regular file
    (OSError naming ``path``) before reading from it or waiting on it."""
    if any(c in mode for c in "wax+"):
        raise ValueError(f"open_regular reads; mode {mode!r} writes")
    check_regular(path)
    # O_NONBLOCK: a FIFO put in the path's place since the check must not block the open (it
    # has no effect on a regular file, where reads never wait).
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        kind = kind_of(os.fstat(fd).st_mode)
        if kind is not None:
            raise not_a_file(path, kind)
        return os.fdopen(fd, mode, **options)
    except BaseException:
        os.close(fd)
        raise


__all__ = ["check_regular", "kind_of", "not_a_file", "open_regular"]
