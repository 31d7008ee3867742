"""A save never destroys what it did not write. Through a symlink, the file it leads to gets the
new content (atomically: a temporary file in that file's folder, renamed over it) and the link
stays; anything that is not a regular file (a device such as ``/dev/null``, a FIFO, a socket,
a folder, a loop of links) is refused by name and left as it was. (``--out /dev/null``
replaced the device node with a regular file; saving through a link replaced the link, so the
file it named kept its old content.)

Every writer goes through the same atomic write: save(), the ONNX and NumPy exports, and the
command line's outputs."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from bpstudio import load, save
from bpstudio.cli import main
from bpstudio.core import examples
from bpstudio.core.files import atomicfile
from bpstudio.core.files.atomicfile import atomic_write_bytes, check_target
from bpstudio.core.files.export_numpy import export_numpy
from bpstudio.core.files.export_onnx import export_onnx

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "resources" / "examples" / "xor.bpg")


def write_with(writer: str, path: str) -> None:
    graph = examples.xor().graph
    if writer == "save":
        save(examples.xor(), path)
    elif writer == "export_onnx":
        export_onnx(graph, path)
    elif writer == "export_numpy":
        export_numpy(graph, path)
    elif writer == "atomic_write_bytes":
        atomic_write_bytes(path, b"new content")
    else:
        raise AssertionError(writer)


SUFFIX = {"save": ".bpg", "export_onnx": ".onnx", "export_numpy": ".py",
          "atomic_write_bytes": ".bin"}
WRITERS = list(SUFFIX)


# ------------------------------------------------------------------------------ symlinks
def relative_link(tmp_path: Path, suffix: str) -> tuple[Path, Path]:
    real = tmp_path / f"real{suffix}"
    os.symlink(real.name, tmp_path / f"link{suffix}")
    return tmp_path / f"link{suffix}", real


def link_to_another_folder(tmp_path: Path, suffix: str) -> tuple[Path, Path]:
    (tmp_path / "elsewhere").mkdir()
    real = tmp_path / "elsewhere" / f"real{suffix}"
    os.symlink(real, tmp_path / f"link{suffix}")
    return tmp_path / f"link{suffix}", real


def chain_of_links(tmp_path: Path, suffix: str) -> tuple[Path, Path]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    real = tmp_path / "b" / f"real{suffix}"
    os.symlink(f"../b/real{suffix}", tmp_path / "a" / f"middle{suffix}")
    os.symlink(tmp_path / "a" / f"middle{suffix}", tmp_path / f"link{suffix}")
    return tmp_path / f"link{suffix}", real


def link_through_a_linked_folder(tmp_path: Path, suffix: str) -> tuple[Path, Path]:
    (tmp_path / "data").mkdir()
    os.symlink(tmp_path / "data", tmp_path / "shortcut")
    return tmp_path / "shortcut" / f"real{suffix}", tmp_path / "data" / f"real{suffix}"


LINKS = [relative_link, link_to_another_folder, chain_of_links, link_through_a_linked_folder]


@pytest.mark.parametrize("exists", [True, False], ids=["over-a-file", "new-file"])
@pytest.mark.parametrize("make", LINKS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("writer", WRITERS)
def test_saving_through_a_symlink_writes_the_file_it_leads_to(tmp_path, monkeypatch, writer,
                                                              make, exists):
    link, real = make(tmp_path, SUFFIX[writer])
    if exists:
        real.write_bytes(b"old content")
        os.chmod(real, 0o640)
    renames = []
    replace = os.replace

    def spy(src, dst):
        renames.append((os.path.dirname(src), dst))
        replace(src, dst)

    monkeypatch.setattr(atomicfile.os, "replace", spy)
    links_before = {p: os.readlink(p) for p in tmp_path.rglob("*") if p.is_symlink()}
    write_with(writer, str(link))
    assert real.read_bytes() != b"old content"
    # The links are all still links, to where they led; the file they lead to was replaced
    # by a rename in its own folder (atomic, on the same file system).
    assert {p: os.readlink(p) for p in tmp_path.rglob("*") if p.is_symlink()} == links_before
    assert str(real) in [dst for _folder, dst in renames]
    assert all(folder == os.path.dirname(dst) for folder, dst in renames)
    if exists:
        assert stat.S_IMODE(real.stat().st_mode) == 0o640  # its permissions kept
    if writer == "save":
        assert load(link) == load(real)
    leftovers = [p.name for p in tmp_path.rglob(".*.tmp")]
    assert leftovers == []


def test_a_link_that_leads_nowhere_yet_creates_its_file(tmp_path):
    os.symlink("made-later.bpg", tmp_path / "link.bpg")
    save(examples.xor(), tmp_path / "link.bpg")
    assert (tmp_path / "link.bpg").is_symlink()
    assert load(tmp_path / "made-later.bpg") == examples.xor()


# ----------------------------------------------------------------------- not regular files
def fifo(path: Path) -> None:
    os.mkfifo(path)


def char_device(path: Path) -> None:
    """A node like /dev/null's (character device 1, 3) where the test may make one (as root),
    else a symlink to /dev/null itself: either way, what must not be replaced is a device."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        os.symlink("/dev/null", path)


def unix_socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()


def link_to_dev_null(path: Path) -> None:
    os.symlink("/dev/null", path)


def link_to_fifo(path: Path) -> None:
    os.mkfifo(path.with_name("the-fifo"))
    os.symlink("the-fifo", path)


def loop_of_links(path: Path) -> None:
    os.symlink(path.name + ".other", path)
    os.symlink(path.name, str(path) + ".other")


def link_to_folder(path: Path) -> None:
    path.with_name("folder").mkdir()
    os.symlink("folder", path)


NOT_FILES = {fifo: "a pipe (FIFO)", char_device: "a device", unix_socket: "a socket",
             link_to_dev_null: "a device", link_to_fifo: "a pipe (FIFO)",
             loop_of_links: "a loop of symlinks", link_to_folder: "a folder"}


def snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every name in ``folder``: its kind, its device numbers and where a link leads."""
    out = {}
    for name in sorted(os.listdir(folder)):
        s = os.lstat(folder / name)
        out[name] = (stat.S_IFMT(s.st_mode), s.st_rdev,
                     os.readlink(folder / name) if stat.S_ISLNK(s.st_mode) else "")
    return out


@pytest.mark.parametrize("make", NOT_FILES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("writer", WRITERS)
def test_anything_but_a_regular_file_is_refused_and_left_as_it_was(tmp_path, writer, make):
    target = tmp_path / f"out{SUFFIX[writer]}"
    make(target)
    before = snapshot(tmp_path)
    with pytest.raises(OSError) as info:
        write_with(writer, str(target))
    assert info.value.filename == str(target)
    assert NOT_FILES[make] in info.value.strerror
    assert snapshot(tmp_path) == before


def test_check_target_says_what_is_in_the_way_and_where_a_link_leads(tmp_path):
    link_to_dev_null(tmp_path / "null.bpg")
    with pytest.raises(OSError) as info:
        check_target(tmp_path / "null.bpg")
    assert info.value.strerror == ("is a device (it leads to '/dev/null'), not a file: a save "
                                   "replaces regular files only")
    assert check_target(tmp_path / "new.bpg") == str(tmp_path / "new.bpg")


def test_a_device_put_in_place_during_the_write_is_not_replaced(tmp_path):
    """The target is looked at again just before the rename."""
    target = tmp_path / "out.bin"

    def slow_write(stream):
        stream.write(b"data")
        os.mkfifo(target)  # (someone made a FIFO there meanwhile)

    with pytest.raises(OSError, match="is a pipe"):
        atomicfile.atomic_write(target, slow_write)
    assert stat.S_ISFIFO(os.lstat(target).st_mode)
    assert os.listdir(tmp_path) == ["out.bin"]  # and no temporary file left


# ------------------------------------------------------------------------ the command line
@pytest.mark.parametrize("make", [char_device, link_to_dev_null, fifo], ids=lambda f: f.__name__)
@pytest.mark.parametrize("argv", [
    ["train", XOR, "--data", "xor", "--steps", "2", "--out", "{}"],
    ["export", XOR, "--onnx", "{}"],
    ["export", XOR, "--numpy", "{}.py"],
    ["import", str(ROOT / "tests" / "data" / "onnx" / "torch_mlp.onnx"), "--out", "{}.bpg"],
], ids=["train", "export-onnx", "export-numpy", "import"])
def test_the_cli_refuses_to_replace_a_device(tmp_path, capsys, make, argv):
    out = tmp_path / "out"
    argv = [a.replace("{}", str(out)) for a in argv]
    target = Path(argv[-1])
    make(target)
    before = snapshot(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"bpstudio-cli: error: {target}: is ")
    assert captured.err.count("\n") == 1 and "not a file" in captured.err
    assert snapshot(tmp_path) == before
