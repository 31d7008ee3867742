"""A recovery file that cannot be read (a newer version's, a damaged one) is never deleted:
whether the person asks to restore it or declines, it is moved aside and the message says
where it is kept, byte for byte."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import pytest
from PySide6.QtCore import QLockFile, QSettings
from PySide6.QtWidgets import QMessageBox

import bpstudio
from bpstudio.core.project import Project
from bpstudio.gui.main_window import MainWindow
from bpstudio.gui.recovery import left_behind
from bpstudio.gui.settings import Settings
from tests.core.training_graphs import mlp


def a_project_file() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "p.bpg"
        bpstudio.save(Project(mlp((2, 3, 2))), target)
        return target.read_bytes()


def with_manifest(data: bytes, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "manifest.json":
                manifest = json.loads(content)
                change(manifest)
                content = json.dumps(manifest).encode()
            target.writestr(name, content)
    return out.getvalue()


def newer(version):
    return lambda data: with_manifest(data, lambda m: m.update(format_version=version))


UNREADABLE = {
    "newer version 4": newer(4),
    "newer version 99": newer(99),
    "another format": lambda data: with_manifest(data, lambda m: m.update(format="other")),
    "cut in half": lambda data: data[:len(data) // 2],
    "empty": lambda data: b"",
    "noise": lambda data: bytes(range(256)) * 20,
    "a checksum that differs": lambda data: with_manifest(
        data, lambda m: m["entries"]["graph.json"].update(sha256="0" * 64)),
}


def left_by_a_crash(folder: Path, content: bytes, original: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "0123456789ab.bpg"
    path.write_bytes(content)
    path.with_suffix(".json").write_text(json.dumps({"original": original}))
    return path


def start(qtbot, tmp_path) -> MainWindow:
    window = MainWindow(Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)))
    qtbot.addWidget(window)
    window.show()
    return window


@pytest.mark.parametrize("kind", list(UNREADABLE))
@pytest.mark.parametrize("answer", [QMessageBox.Yes, QMessageBox.No])
def test_an_unreadable_recovery_file_is_kept_aside_and_the_place_said(qtbot, dialogs, tmp_path,
                                                                     kind, answer):
    content = UNREADABLE[kind](a_project_file())
    folder = tmp_path / "recovery"
    left_by_a_crash(folder, content, "/home/someone/work.bpg")
    dialogs.answer = answer
    window = start(qtbot, tmp_path)
    assert len(dialogs.questions) == 1 and "work.bpg" in dialogs.questions[0]
    kept = list((folder / "unreadable").glob("*.bpg"))
    assert len(kept) == 1 and kept[0].read_bytes() == content  # byte for byte
    assert json.loads(kept[0].with_suffix(".json").read_text())["original"] == \
        "/home/someone/work.bpg"
    assert len(dialogs.errors) == 1 and str(kept[0]) in dialogs.errors[0]
    assert not window.graph.nodes
    # not offered again, and not lost by the next start either
    start(qtbot, tmp_path)
    assert len(dialogs.questions) == 1
    assert list((folder / "unreadable").glob("*.bpg")) == kept


def test_a_readable_one_that_is_declined_is_deleted(qtbot, dialogs, tmp_path):
    folder = tmp_path / "recovery"
    path = left_by_a_crash(folder, a_project_file(), None)
    dialogs.answer = QMessageBox.No
    start(qtbot, tmp_path)
    assert not path.exists() and not (folder / "unreadable").exists()
    assert not dialogs.errors


def test_two_unreadable_ones_are_both_kept(tmp_path):
    folder = tmp_path / "recovery"
    for name, content in (("aaaaaaaaaaaa", b"one"), ("bbbbbbbbbbbb", b"two")):
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.bpg").write_bytes(content)
    kept = [left.discard() for left in left_behind(folder)]
    assert all(kept) and sorted(p.read_bytes() for p in kept) == [b"one", b"two"]
    assert not list(folder.glob("*.bpg"))
    assert all(QLockFile(str(folder / f"{n}.lock")).tryLock(0)
               for n in ("aaaaaaaaaaaa", "bbbbbbbbbbbb"))
