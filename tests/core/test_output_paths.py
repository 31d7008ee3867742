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


MODEL = str(ROOT / "tests" / "data" / "onnx" / "torch_mlp.onnx")


def make_in(here: Path, what: str) -> None:
    if what == "fifo":
        os.mkfifo(here / "fifo.bpg")
    elif what == "device":
        os.symlink("/dev/null", here / "null.bpg")


@pytest.mark.parametrize("out, made, message", [
    ("missing/x.bpg", None, "missing/x.bpg: cannot write there: the folder 'missing' does not "
                            "exist"),
    ("missing/deeper/x.bpg", None, "the folder 'missing/deeper' does not exist"),
    ("file.txt/x.bpg", None, "'file.txt' is not a folder"),
    ("folder", None, "--out: 'folder' must end in .bpg"),
    ("x.onnx", None, "--out: 'x.onnx' must end in .bpg"),
    ("fifo.bpg", "fifo", "fifo.bpg: is a pipe (FIFO), not a file"),
    ("null.bpg", "device", "null.bpg: is a device (it leads to '/dev/null'), not a file"),
])
def test_import_checks_its_output_before_importing(here, capsys, monkeypatch, out, made,
                                                   message):
    """(The whole import used to run first: 5.7-8.4 s on large models, then the refusal.)"""
    import bpstudio.cli as cli_module
    make_in(here, made)
    before = sorted(os.listdir(here))
    monkeypatch.setattr(cli_module, "import_onnx", lambda path: pytest.fail("imported"))
    code, out_text, err = cli(capsys, "import", MODEL, "--out", out)
    assert code == 2 and out_text == ""
    assert err.startswith("bpstudio-cli: error: ") and err.count("\n") == 1
    assert message in err
    assert sorted(os.listdir(here)) == before


def every_subcommand():
    from bpstudio.cli import build_parser
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    return sub.choices


@pytest.mark.parametrize("command", sorted(every_subcommand()))
def test_every_output_argument_is_checked_before_the_command_runs(command, here, capsys,
                                                                  monkeypatch):
    """Whatever a command writes is declared as an output path, and a bad one stops the
    command before its work: each in turn gets a missing folder."""
    import bpstudio.cli as cli_module
    from bpstudio.cli import OutputPath
    parser = every_subcommand()[command]
    outputs = [a for a in parser._actions if a.metavar and "." in a.metavar
               and any(w in (a.help or "") for w in ("write", "save"))]  # OUT.onnx, MODEL.bpg...
    assert outputs or command == "info" or command == "ops"
    for action in outputs:
        assert isinstance(action.type("x"), OutputPath), f"{command} {action.option_strings}"
    for name in ("load", "import_onnx", "open_project"):
        monkeypatch.setattr(cli_module, name, lambda *a, **k: pytest.fail("work started"))
    for action in outputs:
        suffix = action.metavar.split("|")[0][action.metavar.index("."):]
        argv = {"import": [command, MODEL], "train": [command, XOR, "--steps", "1"],
                "export": [command, XOR], "handout": [command, XOR]}[command]
        where = action.option_strings[:1]  # (none for a positional output)
        code, _out, err = cli(capsys, *argv, *where, f"missing/x{suffix}")
        assert code == 2 and "the folder 'missing' does not exist" in err, err
