"""A path that cannot be written is refused before any work is done for it, and the error
names the path the person gave (not a temporary file): save(), the exports, and the
command line's train --out, export --onnx and --numpy."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bpstudio import save
from bpstudio.cli import main
from bpstudio.core import examples
from bpstudio.core.files import atomicfile, export_numpy, export_onnx, fileformat
from bpstudio.core.files.atomicfile import atomic_write_bytes, check_target
from bpstudio.core.files.export_common import ExportError

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "resources" / "examples" / "xor.bpg")


@pytest.fixture
def here(tmp_path, monkeypatch):
    """The test's own folder as the working folder, with a folder and a file in it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_text("not a folder")
    return tmp_path


BAD_PATHS = [
    ("", FileNotFoundError, "no file name given"),
    ("folder", IsADirectoryError, "is a folder"),
    ("folder/", IsADirectoryError, "is a folder"),
    ("missing/x.bpg", FileNotFoundError, "the folder 'missing' does not exist"),
    ("missing/deeper/x.bpg", FileNotFoundError, "the folder 'missing/deeper' does not exist"),
    ("file.txt/x.bpg", NotADirectoryError, "'file.txt' is not a folder"),
]


@pytest.mark.parametrize("path, kind, words", BAD_PATHS)
def test_an_unwritable_path_is_refused_naming_it(here, path, kind, words):
    with pytest.raises(kind) as info:
        check_target(path)
    assert info.value.filename == path and words in info.value.strerror
    assert sorted(os.listdir(here)) == ["file.txt", "folder"]


@pytest.mark.parametrize("path, kind, words", BAD_PATHS)
def test_save_refuses_before_encoding(here, monkeypatch, path, kind, words):
    def no_work(project):
        raise AssertionError("encoded before the path was checked")
    monkeypatch.setattr(fileformat, "encode", no_work)
    with pytest.raises(kind) as info:
        save(examples.xor(), path)
    assert info.value.filename == path and words in str(info.value)


def test_an_error_while_writing_names_the_target_not_the_temporary_file(here, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(atomicfile.os, "fsync", full)
    with pytest.raises(OSError) as info:
        atomic_write_bytes("out.bin", b"data")
    assert info.value.filename == "out.bin" and info.value.errno == errno.ENOSPC
    assert sorted(os.listdir(here)) == ["file.txt", "folder"]  # no temporary file left


@pytest.mark.parametrize("path, kind, words", BAD_PATHS[1:])
def test_the_onnx_export_refuses_before_building_the_model(here, monkeypatch, path, kind, words):
    monkeypatch.setattr(export_onnx, "to_onnx", lambda *a, **k: pytest.fail("model built"))
    with pytest.raises(kind, match=words):
        export_onnx.export_onnx(examples.xor().graph, path)


@pytest.mark.parametrize("path, words", [
    (".py", "needs a name before .py"),
    ("folder/.py", "needs a name before .py"),
    ("model.txt", "needs a name ending in .py"),
    ("model", "needs a name ending in .py"),
    ("folder/", "needs a name ending in .py"),
    ("missing/model.py", "the folder 'missing' does not exist"),
])
def test_the_numpy_export_refuses_before_writing_code(here, monkeypatch, path, words):
    monkeypatch.setattr(export_numpy, "numpy_source", lambda *a, **k: pytest.fail("code made"))
    with pytest.raises((ExportError, OSError), match=words):
        export_numpy.export_numpy(examples.xor().graph, path)
    assert sorted(os.listdir(here)) == ["file.txt", "folder"]


def test_the_numpy_export_checks_the_weights_file_too(here):
    (here / "model.npz").mkdir()
    with pytest.raises(IsADirectoryError) as info:
        export_numpy.export_numpy(examples.xor().graph, "model.py")
    assert info.value.filename == "model.npz"
    assert not (here / "model.py").exists()


# ------------------------------------------------------------------------ the command line
def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv, message", [
    (["train", XOR, "--data", "xor", "--steps", "5", "--out", "missing/x.bpg"],
     "missing/x.bpg: cannot write there: the folder 'missing' does not exist"),
    (["train", XOR, "--data", "xor", "--steps", "5", "--out", "folder"],
     "folder: is a folder: give the name of a file to write"),
    (["export", XOR, "--onnx", "some_dir/"], "some_dir/: is a folder"),
    (["export", XOR, "--onnx", "missing/m.onnx"], "the folder 'missing' does not exist"),
    (["export", XOR, "--numpy", ".py"], "'.py': the code file needs a name before .py"),
    (["export", XOR, "--numpy", "folder/.py"], "the code file needs a name before .py"),
    (["export", XOR, "--onnx", "ok.onnx", "--numpy", "missing/m.py"], "'missing' does not exist"),
])
def test_the_cli_refuses_an_output_before_reading_the_project(here, capsys, monkeypatch, argv,
                                                              message):
    import bpstudio.cli as cli_module
    monkeypatch.setattr(cli_module, "load", lambda path: pytest.fail("the project was read"))
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("bpstudio-cli: error: ") and err.count("\n") == 1
    assert message in err
    assert sorted(os.listdir(here)) == ["file.txt", "folder"]  # ok.onnx was not written either


def test_train_into_a_missing_folder_fails_at_once_in_a_real_process(here):
    result = subprocess.run([sys.executable, "-m", "bpstudio.cli", "train", XOR, "--data", "xor",
                             "--steps", "100000", "--out", "nowhere/trained.bpg"],
                            capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(ROOT)})
    assert result.returncode == 2 and result.stdout == ""  # not one step trained
    assert result.stderr == ("bpstudio-cli: error: nowhere/trained.bpg: cannot write there: "
                             "the folder 'nowhere' does not exist\n")
