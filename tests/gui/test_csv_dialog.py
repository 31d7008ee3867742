"""The CSV import dialog, driven through its widgets as a person would: found by the text they
show, read from what they display."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (QComboBox, QDialog, QFileDialog, QLabel, QLineEdit, QListWidget,
                               QPushButton, QTableWidget)

from bpstudio.core.training import datasets
from bpstudio.gui.training import csv_dialog
from bpstudio.gui.training.csv_dialog import CsvImportDialog

HEADER = ["x1", "x2", "x3", "label"]


def write_csv(tmp_path, rows: int = 30, name: str = "points.csv", delimiter: str = ",",
              bad: tuple[int, str, str] | None = None):
    """A table of HEADER with ``rows`` rows; ``bad`` = (line, column, text) replaces one cell."""
    lines = [HEADER] + [[f"{r}.5", str(2 * r), str(r % 7 - 3), str(r % 3)] for r in range(rows)]
    if bad is not None:
        line, column, text = bad
        lines[line - 1][HEADER.index(column)] = text
    path = tmp_path / name
    path.write_text("".join(delimiter.join(cells) + "\n" for cells in lines), encoding="utf-8")
    return path


@pytest.fixture
def open_dialog(qtbot):
    def make(*args, **kwargs) -> CsvImportDialog:
        dialog = CsvImportDialog(*args, **kwargs)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        return dialog
    return make


def plain(text: str) -> str:
    return text.replace("&", "")


def button(dialog, text: str) -> QPushButton:
    found = [b for b in dialog.findChildren(QPushButton) if plain(b.text()) == text]
    assert len(found) == 1, f"one button '{text}'"
    return found[0]


def field(dialog, label: str):
    """The widget a label of the dialog names (its buddy), as a person reads a form."""
    found = [w for w in dialog.findChildren(QLabel) if plain(w.text()) == label]
    assert len(found) == 1 and found[0].buddy() is not None, f"one label '{label}'"
    return found[0].buddy()


def shown_texts(dialog) -> list[str]:
    return [w.text() for w in dialog.findChildren(QLabel) if w.isVisible() and w.text()]


def messages_naming(dialog, *words: str) -> list[QLabel]:
    return [w for w in dialog.findChildren(QLabel)
            if w.isVisible() and all(word in w.text() for word in words)]


def table_of(dialog) -> QTableWidget:
    (table,) = dialog.findChildren(QTableWidget)
    return table


def table_titles(table: QTableWidget) -> list[str]:
    return [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]


def table_rows(table: QTableWidget) -> list[list[str]]:
    return [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]


def feature_states(dialog) -> dict[str, bool]:
    features: QListWidget = field(dialog, "Features")
    return {features.item(i).text(): features.item(i).checkState() == Qt.Checked
            for i in range(features.count())}


def toggle_feature(qtbot, dialog, name: str) -> None:
    """Select the feature and press Space, which flips its check box."""
    features: QListWidget = field(dialog, "Features")
    (item,) = features.findItems(name, Qt.MatchExactly)
    features.setCurrentItem(item)
    qtbot.keyClick(features, Qt.Key_Space)


def is_red(label: QLabel) -> bool:
    label.ensurePolished()
    colour = label.palette().color(QPalette.WindowText)
    return colour.red() > 200 and colour.green() < 160 and colour.blue() < 160


# ------------------------------------------------------------------------------- preview
@pytest.mark.parametrize("delimiter, name", [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_the_preview_shows_the_header_and_the_first_rows(open_dialog, tmp_path, delimiter, name):
    path = write_csv(tmp_path, rows=30, delimiter=delimiter)
    dialog = open_dialog(path)
    table = table_of(dialog)
    assert table_titles(table) == HEADER
    expected = [line.split(delimiter) for line in path.read_text().splitlines()[1:21]]
    assert table_rows(table) == expected
    # Rows are labelled by line, as errors name them: the first data row is line 2.
    labels = [table.verticalHeaderItem(r).text() for r in range(table.rowCount())]
    assert labels == [str(line) for line in range(2, 22)]
    assert any("First 20 rows of points.csv" in t and name in t for t in shown_texts(dialog))


def test_the_preview_cannot_be_edited(open_dialog, qtbot, tmp_path):
    dialog = open_dialog(write_csv(tmp_path, rows=3))
    table = table_of(dialog)
    table.setCurrentCell(0, 0)
    qtbot.keyClicks(table, "99")
    qtbot.keyClick(table, Qt.Key_Return)
    assert table.item(0, 0).text() == "0.5"
    assert table.indexWidget(table.model().index(0, 0)) is None


def test_a_short_file_is_shown_whole(open_dialog, tmp_path):
    dialog = open_dialog(write_csv(tmp_path, rows=4))
    assert table_of(dialog).rowCount() == 4
    assert any("All 4 rows" in t for t in shown_texts(dialog))


# ------------------------------------------------------------------------------- choices
def test_the_last_column_is_the_target_and_every_other_a_checked_feature(open_dialog, tmp_path):
    path = write_csv(tmp_path, rows=30)
    dialog = open_dialog(path)
    target: QComboBox = field(dialog, "Target column")
    assert [target.itemText(i) for i in range(target.count())] == HEADER
    assert target.currentText() == "label" == datasets.load_csv(path).target_name
    assert feature_states(dialog) == {"x1": True, "x2": True, "x3": True}
    assert field(dialog, "Task").currentText() == "Automatic"
    assert messages_naming(dialog, "30 rows", "3 features", "classification", "3 classes")
    assert button(dialog, "Import").isEnabled()


def test_another_target_and_an_unchecked_feature_make_the_choice(open_dialog, qtbot, tmp_path):
    path = write_csv(tmp_path, rows=30)
    dialog = open_dialog(path)
    toggle_feature(qtbot, dialog, "x3")
    assert feature_states(dialog) == {"x1": True, "x2": True, "x3": False}
    field(dialog, "Target column").setCurrentText("x2")
    # The old target is a feature again; the new one is not offered as one; x3 stays unchecked.
    assert feature_states(dialog) == {"x1": True, "x3": False, "label": True}
    field(dialog, "Task").setCurrentText("Regression")

    choice = dialog.choice()
    assert choice == {"source": "csv", "path": str(path), "target": "x2",
                      "features": ["x1", "label"], "task": "regression"}
    data = dialog.dataset()
    assert data.target_name == "x2" and data.feature_names == ("x1", "label")
    assert data.targets.tolist() == [2.0 * r for r in range(30)]
    assert set(choice) == set(data.spec)
    assert messages_naming(dialog, "30 rows", "2 features", "regression", "'x2' from 0 to 58")


def test_the_choice_rebuilds_the_same_data_from_training_settings(open_dialog, qtbot, tmp_path):
    dialog = open_dialog(write_csv(tmp_path, rows=30))
    toggle_feature(qtbot, dialog, "x1")
    rebuilt = datasets.from_settings({"data": dialog.choice(), "validation": 0.0,
                                      "standardisation": None}).train
    assert rebuilt.feature_names == ("x2", "x3")
    assert np.array_equal(rebuilt.features, dialog.dataset().features)
    assert np.array_equal(rebuilt.targets, dialog.dataset().targets)


def test_the_task_choice_goes_to_load_csv(open_dialog, tmp_path):
    dialog = open_dialog(write_csv(tmp_path, rows=30))
    task: QComboBox = field(dialog, "Task")
    assert [task.itemText(i) for i in range(task.count())] == \
        ["Automatic", "Classification", "Regression"]
    assert dialog.dataset().task == "classification" and dialog.choice()["task"] == "auto"
    assert messages_naming(dialog, "classification (chosen automatically)")
    task.setCurrentText("Regression")
    assert dialog.dataset().task == "regression" and dialog.choice()["task"] == "regression"
    assert messages_naming(dialog, "'label' from 0 to 2")


def test_preselected_columns_and_task_are_shown(open_dialog, tmp_path):
    dialog = open_dialog(write_csv(tmp_path), target="x1", features=["x3"],
                         task="classification")
    assert field(dialog, "Target column").currentText() == "x1"
    assert feature_states(dialog) == {"x2": False, "x3": True, "label": False}
    assert field(dialog, "Task").currentText() == "Classification"
    assert dialog.dataset().feature_names == ("x3",)


def test_unchecking_every_feature_is_refused_in_the_dialog(open_dialog, qtbot, tmp_path):
    dialog = open_dialog(write_csv(tmp_path, rows=5))
    for name in ("x1", "x2", "x3"):
        toggle_feature(qtbot, dialog, name)
    assert messages_naming(dialog, "at least one feature")
    assert not button(dialog, "Import").isEnabled() and dialog.dataset() is None


# -------------------------------------------------------------------------------- errors
def test_a_bad_cell_is_named_by_line_and_column_and_blocks_import(open_dialog, qtbot, tmp_path):
    dialog = open_dialog(write_csv(tmp_path, rows=10, bad=(5, "x2", "abc")))
    (message,) = messages_naming(dialog, "points.csv", "line 5", "'x2'", "'abc'")
    assert is_red(message) and message.wordWrap()
    assert not button(dialog, "Import").isEnabled() and dialog.dataset() is None
    assert table_rows(table_of(dialog))[3][1] == "abc"  # the preview shows the row at fault
    assert not messages_naming(dialog, "rows ·")
    # Leaving the column out loads the file: the message goes, Import comes back.
    toggle_feature(qtbot, dialog, "x2")
    assert not messages_naming(dialog, "line 5")
    assert button(dialog, "Import").isEnabled()
    assert dialog.dataset().feature_names == ("x1", "x3")


def write_bytes(tmp_path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("make, words", [
    (lambda d: d / "missing.csv", ["cannot read", "missing.csv", "No such file"]),
    (lambda d: d, ["cannot read", "is a folder, not a file"]),
    (lambda d: write_bytes(d, "noise.csv", bytes(range(256)) * 40), ["noise.csv", "not UTF-8"]),
    (lambda d: write_bytes(d, "image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\xff" * 99),
     ["image.csv", "not UTF-8"]),
    (lambda d: write_bytes(d, "empty.csv", b""), ["empty.csv is empty"]),
    (lambda d: write_bytes(d, "header.csv", b"a,b,y\n"), ["header.csv", "no data rows"]),
    (lambda d: write_bytes(d, "ragged.csv", b"a,b,y\n1,2,0\n3,4\n"), ["line 3", "2 cells"]),
    (lambda d: write_bytes(d, "numbers.csv", b"1,2,3\n4,5,6\n"), ["line 1 must be a header"]),
    (lambda d: write_bytes(d, "quote.csv", b'a,b\n"1,' + b"x" * 200_000 + b"\n"), ["quote.csv"]),
])
def test_unreadable_files_show_a_message_and_no_exception(open_dialog, tmp_path, make, words):
    dialog = open_dialog(make(tmp_path))
    (message,) = messages_naming(dialog, *words)
    assert is_red(message)
    assert not button(dialog, "Import").isEnabled() and dialog.dataset() is None
    assert "Traceback" not in message.text()


@pytest.mark.parametrize("error", [
    OSError(5, "Input/output error"), UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid byte"),
    ValueError("could not convert"), csv.Error("new-line character seen in unquoted field"),
    datasets.DataError("points.csv, line 9, column 'x1': too odd"),
])
def test_any_reading_error_of_the_full_load_becomes_the_message(open_dialog, tmp_path,
                                                                 monkeypatch, error):
    def load_csv(*args, **kwargs):
        raise error
    monkeypatch.setattr(csv_dialog, "load_csv", load_csv)
    dialog = open_dialog(write_csv(tmp_path, rows=3))
    (message,) = messages_naming(dialog, str(error.strerror if isinstance(error, OSError)
                                             else error))
    assert is_red(message) and not button(dialog, "Import").isEnabled()
    assert table_titles(table_of(dialog)) == HEADER  # the preview stays


def test_a_good_file_after_a_bad_one_clears_the_message(open_dialog, tmp_path):
    dialog = open_dialog(tmp_path / "missing.csv")
    assert messages_naming(dialog, "cannot read")
    dialog.set_path(write_csv(tmp_path, rows=3))
    assert not messages_naming(dialog, "cannot read")
    assert table_titles(table_of(dialog)) == HEADER and button(dialog, "Import").isEnabled()


# ------------------------------------------------------------------------- file and buttons
def test_without_a_file_there_is_nothing_to_import(open_dialog):
    dialog = open_dialog()
    assert not button(dialog, "Import").isEnabled()
    assert messages_naming(dialog, "Choose a CSV file")
    assert table_of(dialog).columnCount() == 0 and dialog.dataset() is None


def test_browse_loads_the_chosen_file(open_dialog, qtbot, tmp_path, monkeypatch):
    path = write_csv(tmp_path, rows=3)
    answers = [(str(path), ""), ("", "")]  # a file, then the person cancels
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kwargs: answers.pop(0)))
    dialog = open_dialog()
    qtbot.mouseClick(button(dialog, "Browse…"), Qt.LeftButton)
    assert field(dialog, "File").text() == str(path)
    assert table_titles(table_of(dialog)) == HEADER and dialog.dataset() is not None
    qtbot.mouseClick(button(dialog, "Browse…"), Qt.LeftButton)
    assert field(dialog, "File").text() == str(path) and dialog.dataset() is not None
    assert not answers


def test_a_typed_path_loads_on_return_without_importing(open_dialog, qtbot, tmp_path):
    path = write_csv(tmp_path, rows=3)
    dialog = open_dialog()
    edit: QLineEdit = field(dialog, "File")
    dialog.activateWindow()
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus)
    qtbot.keyClicks(edit, str(path))
    qtbot.keyClick(edit, Qt.Key_Return)
    assert table_titles(table_of(dialog)) == HEADER and dialog.dataset() is not None
    assert dialog.isVisible() and dialog.result() != QDialog.Accepted


def test_return_in_the_path_field_reloads_an_edited_file(open_dialog, qtbot, tmp_path):
    path = write_csv(tmp_path, rows=3)
    dialog = open_dialog(path)
    path.write_text("u,v\n1,0\n2,1\n", encoding="utf-8")
    edit: QLineEdit = field(dialog, "File")
    dialog.activateWindow()
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus)
    qtbot.keyClick(edit, Qt.Key_Return)
    assert table_titles(table_of(dialog)) == ["u", "v"]
    assert dialog.choice()["target"] == "v" and dialog.isVisible()


def test_import_accepts_the_dialog(open_dialog, qtbot, tmp_path):
    dialog = open_dialog(write_csv(tmp_path, rows=3))
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        qtbot.mouseClick(button(dialog, "Import"), Qt.LeftButton)
    assert dialog.result() == QDialog.Accepted and not dialog.isVisible()
    assert len(dialog.dataset()) == 3


def test_the_dialog_cannot_be_accepted_while_the_file_does_not_load(open_dialog, tmp_path):
    dialog = open_dialog(write_csv(tmp_path, rows=10, bad=(5, "x2", "abc")))
    dialog.accept()  # what a click would do, were the button not disabled
    assert dialog.isVisible() and dialog.result() != QDialog.Accepted


def test_cancel_rejects_the_dialog(open_dialog, qtbot, tmp_path):
    dialog = open_dialog(write_csv(tmp_path, rows=3))
    with qtbot.waitSignal(dialog.rejected, timeout=1000):
        qtbot.mouseClick(button(dialog, "Cancel"), Qt.LeftButton)
    assert dialog.result() == QDialog.Rejected


def test_each_load_is_announced(open_dialog, qtbot, tmp_path):
    dialog = open_dialog(write_csv(tmp_path, rows=10, bad=(5, "x2", "abc")))
    with qtbot.waitSignal(dialog.dataset_changed, timeout=1000) as loaded:
        toggle_feature(qtbot, dialog, "x2")
    assert loaded.args[0] is dialog.dataset() and len(loaded.args[0]) == 10
    with qtbot.waitSignal(dialog.dataset_changed, timeout=1000) as failed:
        toggle_feature(qtbot, dialog, "x2")
    assert failed.args == [None]
