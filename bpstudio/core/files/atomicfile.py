"""Writing a file so that a crash never leaves it half-written, and a save never destroys what
it did not write.

The new content goes to a temporary file in the target's folder (the same file system, so the
final rename is atomic), is flushed and fsynced, and then renamed over the target. Until the
rename, the previous file is untouched; after it, the new one is complete.

The target is the file the path leads to: a symlink is followed, and the file it points to is
the one replaced (in its own folder), so the link stays and the file it names gets the new
content. Only a regular file is ever replaced: a device (``/dev/null``), a FIFO, a socket or a
folder in the target's place is refused, never renamed over.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from typing import BinaryIO, Callable

from ..regularfile import kind_of

NEW_FILE_MODE = 0o644


def check_target(path: str | os.PathLike[str]) -> str:
    """Refuse a path that cannot be written, before any work is done for it: no file name, a
    folder, a folder that does not exist or cannot be written in, something other than a
    regular file in the way (a device, a FIFO...). The OSError names ``path`` as it was given.
    Returns the absolute path of the file to replace: where ``path`` leads, through symlinks."""
    given = os.fspath(path)
    if isinstance(given, bytes):
        given = os.fsdecode(given)
    if not given:
        raise FileNotFoundError(errno.ENOENT, "no file name given", given)
    if given.endswith(("/", os.sep)) or os.path.isdir(given):
        raise IsADirectoryError(errno.EISDIR, "is a folder: give the name of a file to write",
                                given)
    _check_folder(os.path.dirname(given) or os.curdir, given)
    target = os.path.realpath(given)
    if os.path.dirname(target) != os.path.abspath(os.path.dirname(given)):
        _check_folder(os.path.dirname(target), given)  # a symlink leads to another folder
    _check_replaceable(target, given)
    return target


def _check_folder(folder: str, given: str) -> None:
    if not os.path.isdir(folder):
        if os.path.exists(folder):
            raise NotADirectoryError(errno.ENOTDIR, f"cannot write there: '{folder}' is not a "
                                     "folder", given)
        raise FileNotFoundError(errno.ENOENT, f"cannot write there: the folder '{folder}' does "
                                "not exist", given)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, f"cannot write in the folder '{folder}'", given)


def _check_replaceable(target: str, given: str) -> None:
    """Nothing, or a regular file, may be at ``target``: a rename would put a regular file in
    the place of a device or a FIFO, which the person never asked to lose."""
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:  # a loop of symlinks, a name too long...
        raise _naming(exc, given) from None
    kind = "a loop of symlinks" if stat.S_ISLNK(mode) else kind_of(mode)
    if kind is not None:
        code = errno.EISDIR if kind == "a folder" else errno.EINVAL
        where = "" if target == os.path.abspath(given) else f" (it leads to '{target}')"
        raise OSError(code, f"is {kind}{where}, not a file: a save replaces regular files "
                      "only", given)


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(stream)`` on a temporary file, then atomically replace ``path`` with it.

    An exception (or a kill) before the rename leaves ``path`` exactly as it was; the temporary
    file is removed on an exception. A path that cannot be written is refused first (see
    :func:`check_target`), and every OSError names ``path``, never the temporary file. Through
    a symlink, the file it leads to is replaced, in that file's folder."""
    given = os.fspath(path)
    target = check_target(given)
    folder, base = os.path.split(target)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _naming(exc, given) from None
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
        _check_replaceable(target, given)  # again: the write may have taken a while
        os.replace(temp, target)
    except BaseException as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(exc, OSError):  # a full disk, a folder removed meanwhile...
            raise _naming(exc, given) from None
        raise
    _fsync_folder(folder)


def _naming(exc: OSError, path: str) -> OSError:
    """The same error, about ``path`` (the person's file) rather than the temporary file."""
    try:
        return type(exc)(exc.errno, exc.strerror or str(exc), path)
    except TypeError:  # an OSError subclass with its own constructor
        return OSError(exc.errno, exc.strerror or str(exc), path)


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
