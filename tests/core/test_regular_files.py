"""Only regular files are read: a path that is a device, a FIFO, a socket or a folder (or a
symlink to one) is refused by name before a byte is read, by every reader of the project
(project files, ONNX models) and so by every command of the command line. (``info /dev/zero``
read the device until memory ran out; ``info`` of a FIFO waited for ever.)

Each case runs in a child process under a watchdog: a time limit (a FIFO blocked the reader)
and a cap on its address space (/dev/zero filled memory)."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bpstudio.core.regularfile import check_regular, kind_of, open_regular

ROOT = Path(__file__).resolve().parents[2]
XOR = ROOT / "resources" / "examples" / "xor.bpg"
WATCHDOG_SECONDS = 30
MEMORY_CAP = 1536 * 2**20  # the address space a child may take (the imports need ~600 MiB)


def make_fifo(path: Path) -> None:
    os.mkfifo(path)


def make_folder(path: Path) -> None:
    path.mkdir()


def make_socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))  # (a socket file stays after the socket is closed)
    server.close()


def link_to(target: str):
    def make(path: Path) -> None:
        os.symlink(target, path)
    return make


def link_to_fifo(path: Path) -> None:
    os.mkfifo(path.with_name("real-fifo"))
    os.symlink(path.with_name("real-fifo"), path)


# What stands at the path, and the words the refusal uses for it.
KINDS = {
    "/dev/zero": (None, "a device"),
    "/dev/null": (None, "a device"),
    "/dev/urandom": (None, "a device"),
    "fifo": (make_fifo, "a pipe (FIFO)"),
    "folder": (make_folder, "a folder"),
    "socket": (make_socket, "a socket"),
    "link-to-zero": (link_to("/dev/zero"), "a device"),
    "link-to-fifo": (link_to_fifo, "a pipe (FIFO)"),
}


def place(tmp_path: Path, kind: str, suffix: str) -> str:
    make, _words = KINDS[kind]
    if make is None:
        return kind
    path = tmp_path / f"{kind}{suffix}"
    make(path)
    return str(path)


def cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_child(*argv: str) -> subprocess.CompletedProcess:
    """``python argv...`` under the watchdog: a hang or a runaway read fails the test."""
    try:
        return subprocess.run([sys.executable, *argv], capture_output=True, text=True,
                              timeout=WATCHDOG_SECONDS, preexec_fn=cap_memory, cwd=ROOT,
                              env={"PYTHONPATH": str(ROOT)})
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(argv[-3:])} still running after {WATCHDOG_SECONDS} s")


def refusal(path: str, kind: str) -> str:
    return f"{path}: is {KINDS[kind][1]}, not a file: only regular files are read"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", ["info", "import"])
def test_the_cli_refuses_what_is_not_a_regular_file(tmp_path, kind, command):
    """``info`` reads a project (or a .onnx model), ``import`` reads any name as a model."""
    out = tmp_path / "out.bpg"
    path = place(tmp_path, kind, ".onnx" if command == "import" else ".bpg")
    argv = ["info", path] if command == "info" else ["import", path, "--out", str(out)]
    result = run_child("-m", "bpstudio.cli", *argv)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr[-500:]
    assert result.stderr == f"bpstudio-cli: error: {refusal(path, kind)}\n"
    assert not out.exists()


@pytest.mark.parametrize("argv", [["info", "{}.onnx"], ["export", "{}.bpg", "--onnx", "m.onnx"],
                                  ["train", "{}.bpg", "--data", "xor", "--steps", "1"],
                                  ["train", "{}.onnx", "--data", "xor", "--steps", "1"]])
def test_every_command_that_reads_refuses_a_fifo(tmp_path, argv):
    path = tmp_path / "pipe"
    argv = [a.replace("{}", str(path)) for a in argv]
    make_fifo(Path(argv[1]))
    result = run_child("-m", "bpstudio.cli", *argv)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"bpstudio-cli: error: {refusal(argv[1], 'fifo')}\n"


# The core readers the window calls (File > Open, File > Import ONNX), on every kind in turn.
READERS = {
    "load": "from bpstudio.core.files.fileformat import load as read",
    "import_onnx": "from bpstudio.core.files.import_onnx import import_onnx as read",
}
CHILD = """
import sys
{reader}
for path in sys.argv[1:]:
    try:
        read(path)
    except OSError as exc:
        print(type(exc).__name__, exc.filename, exc.strerror, sep="|", flush=True)
    except Exception as exc:
        print("not refused as a path", exc, sep="|", flush=True)
    else:
        print("read it", flush=True)
"""


@pytest.mark.parametrize("reader", READERS)
def test_the_readers_refuse_it_with_an_oserror_naming_the_path(tmp_path, reader):
    paths = [place(tmp_path, kind, ".onnx" if reader == "import_onnx" else ".bpg")
             for kind in KINDS]
    result = run_child("-c", CHILD.format(reader=READERS[reader]), *paths)
    assert result.returncode == 0, result.stderr[-500:]
    lines = result.stdout.splitlines()
    expected = [("IsADirectoryError" if kind == "folder" else "OSError") + "|"
                + refusal(path, kind).replace(": is ", "|is ", 1)
                for path, kind in zip(paths, KINDS)]
    assert lines == expected


def test_regular_files_and_symlinks_to_them_are_read(tmp_path):
    os.symlink(XOR, tmp_path / "link.bpg")
    for path in (XOR, tmp_path / "link.bpg"):
        with open_regular(path) as stream:
            assert stream.read(2) == b"PK"
        assert check_regular(path).st_size == XOR.stat().st_size
    with open_regular(XOR, "r", encoding="latin-1") as text:
        assert text.read(2) == "PK"


def test_missing_files_and_writing_modes_are_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "missing.bpg")
    with pytest.raises(ValueError, match="writes"):
        open_regular(XOR, "r+b")


def test_a_fifo_swapped_in_after_the_check_is_refused_without_blocking(tmp_path, monkeypatch):
    """The path is looked at, then opened without waiting, and what was opened looked at
    again: a FIFO put in the path's place between the two is refused, not waited on."""
    path = tmp_path / "swapped.bpg"
    path.write_bytes(b"PK")
    import bpstudio.core.regularfile as regularfile
    checked = regularfile.check_regular

    def check_then_swap(p):
        status = checked(p)
        os.unlink(path)
        os.mkfifo(path)
        return status

    monkeypatch.setattr(regularfile, "check_regular", check_then_swap)
    with pytest.raises(OSError, match=r"is a pipe \(FIFO\), not a file"):
        regularfile.open_regular(path)  # (a blocking open would hang the test here)


def test_every_kind_has_its_words():
    import stat
    assert kind_of(stat.S_IFREG) is None
    assert kind_of(stat.S_IFDIR) == "a folder"
    assert kind_of(stat.S_IFCHR) == kind_of(stat.S_IFBLK) == "a device"
    assert kind_of(stat.S_IFIFO) == "a pipe (FIFO)"
    assert kind_of(stat.S_IFSOCK) == "a socket"


READ_EACH = """
import sys
from importlib import import_module
from bpstudio.core.training.datasets import DataError
module, name = sys.argv[1].rsplit(".", 1)
read = getattr(import_module(module), name)
for path in sys.argv[2:]:
    try:
        read(path)
    except DataError as exc:
        print(exc, flush=True)
    else:
        print("read it", flush=True)
"""


@pytest.mark.parametrize("reader, kinds", [
    # The window's CSV dialog previews the file as it is typed: a FIFO froze it.
    ("bpstudio.core.training.csvpreview.read_preview",
     ["fifo", "link-to-fifo", "/dev/zero", "link-to-zero", "folder"]),
    # load_csv reads training data for the command line, a run and the window's passes: a
    # FIFO made it wait for ever, /dev/zero read until the size limit it never reached.
    ("bpstudio.core.training.datasets.load_csv",
     ["fifo", "link-to-fifo", "/dev/zero", "link-to-zero", "folder", "socket"]),
])
def test_the_csv_readers_refuse_it_before_reading(tmp_path, reader, kinds):
    paths = [place(tmp_path, kind, ".csv") for kind in kinds]
    result = run_child("-c", READ_EACH, reader, *paths)
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.splitlines() == [f"cannot read {path}: is {KINDS[kind][1]}, not a file: "
                                          "only regular files are read"
                                          for path, kind in zip(paths, kinds)]


def test_train_refuses_a_fifo_given_as_its_data(tmp_path):
    path = tmp_path / "rows.csv"
    make_fifo(path)
    result = run_child("-m", "bpstudio.cli", "train", str(XOR), "--data", str(path), "--steps",
                       "1", "--out", str(tmp_path / "out.bpg"))
    assert result.returncode == 2 and result.stdout == "", result.stderr[-500:]
    assert result.stderr == (f"bpstudio-cli: error: cannot read {path}: is a pipe (FIFO), not a "
                             "file: only regular files are read\n")
    assert not (tmp_path / "out.bpg").exists()
