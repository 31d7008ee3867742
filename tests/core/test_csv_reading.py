"""Reading a CSV file: its peak memory a small multiple of the arrays it gives, an error found
at the row where it is (not after parsing the rest), and every message at the file's own line,
counting the lines inside quoted cells."""

from __future__ import annotations

import csv
import random
import tracemalloc

import numpy as np
import pytest

from bpstudio.core.training.datasets import DataError, load_csv


def peak_bytes(function):
    tracemalloc.start()
    try:
        result = function()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# (large enough that the reader's fixed buffers, a few hundred KB, do not count)
@pytest.mark.parametrize("rows, columns", [(150_000, 1), (30_000, 8), (2_500, 150), (250, 1500)])
@pytest.mark.parametrize("target", ["classes", "numbers", "words"])
def test_the_peak_memory_is_at_most_four_times_the_arrays(tmp_path, rows, columns, target):
    rng = np.random.default_rng(rows + columns)
    x = rng.standard_normal((rows, columns)) * 1000
    y = {"classes": [str(v) for v in rng.integers(0, 3, rows)],
         "numbers": [f"{v:.6f}" for v in rng.standard_normal(rows)],
         "words": [("red", "green", "blue", "cyan")[v] for v in rng.integers(0, 4, rows)]}[target]
    path = tmp_path / "table.csv"
    with open(path, "w") as f:
        f.write(",".join(f"feature_{k}" for k in range(columns)) + ",target\n")
        for r in range(rows):
            f.write(",".join(f"{v:.6f}" for v in x[r]) + f",{y[r]}\n")
    data, peak = peak_bytes(lambda: load_csv(path))
    parsed = data.features.nbytes + data.targets.nbytes
    assert data.features.shape == (rows, columns)
    assert np.allclose(data.features, np.round(x, 6))
    size = path.stat().st_size
    assert peak <= 4 * parsed, (f"peak {peak / 2**20:.1f} MiB for {parsed / 2**20:.1f} MiB of "
                                f"arrays ({peak / parsed:.1f}x; file {size / 2**20:.1f} MiB)")


@pytest.mark.parametrize("at", [2, 3, 40, 3000])
@pytest.mark.parametrize("cells", [2, 4, 1])
def test_a_row_of_the_wrong_width_is_refused_where_it_is(tmp_path, at, cells):
    """Past the bad row the file holds bytes that are not UTF-8 and a malformed quote: a
    reader that parsed everything first would report those instead."""
    lines = ["a,b,y"] + [f"{i},{i + 1},{i % 2}" for i in range(2, at)]
    lines.append(",".join(["1"] * cells))
    body = "\n".join(lines) + "\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(300_000))
    path = tmp_path / "table.csv"
    path.write_bytes(body.encode() + b'7,"8\n\xff\xfe,1\n')
    (_, peak) = peak_bytes(lambda: pytest.raises(DataError, load_csv, path))
    with pytest.raises(DataError, match=rf"table.csv, line {at}: {cells} cells, but the header "
                                        r"names 3 columns"):
        load_csv(path)
    assert peak < path.stat().st_size / 2  # (what it had read when it stopped)


def quoted(lines: int, rng: random.Random) -> str:
    return '"' + "\n".join(rng.choice(["note", "a, b", "", "x;y"]) for _ in range(lines)) + '"'


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_bad_cell_is_reported_at_its_line_in_the_file(tmp_path, seed, newline):
    """Rows with notes that span lines (quoted), then a bad cell: in a later row, or in the same
    row after a note. The line said is the line the cell is on."""
    rng = random.Random(seed)
    rows, line = ["x1,note,x2,label"], 1
    bad_at = rng.randrange(1, 8)
    for r in range(1, 9):
        note = quoted(rng.randrange(1, 5), rng) if rng.random() < 0.7 else "plain"
        x2 = "oops" if r == bad_at else str(r)
        rows.append(f"{r},{note},{x2},{'ab'[r % 2]}")
        if r == bad_at:
            expected = line + 1 + note.count("\n")
        line += 1 + note.count("\n")
    path = tmp_path / "notes.csv"
    path.write_bytes(("\n".join(rows) + "\n").replace("\n", newline).encode())
    with pytest.raises(DataError, match=rf"notes.csv, line {expected}, column 'x2': 'oops'"):
        load_csv(path, features=["x1", "x2"], target="label")


@pytest.mark.parametrize("seed", range(6))
def test_a_bad_target_after_notes_is_reported_at_its_line(tmp_path, seed):
    rng = random.Random(100 + seed)
    rows, line = ["x,note,y"], 1
    bad_at, expected = rng.randrange(2, 7), None
    for r in range(1, 8):
        note = quoted(rng.randrange(1, 4), rng)
        y = "inf" if r == bad_at else str(r % 2)
        rows.append(f"{r},{note},{y}")
        if r == bad_at:
            expected = line + 1 + note.count("\n")
        line += 1 + note.count("\n")
    path = tmp_path / "notes.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=rf"line {expected}, column 'y': 'inf' is not a finite"):
        load_csv(path, features=["x"], target="y")


def test_the_preview_numbers_rows_by_the_lines_the_full_load_names(tmp_path):
    from bpstudio.core.training.csvpreview import read_preview
    path = tmp_path / "notes.csv"
    path.write_text('x,note,y\n1,"two\nlines",0\n2,plain,1\n3,"and\nthree\nhere",0\n4,x,oops\n')
    assert [line for line, _ in read_preview(path).rows] == [2, 4, 5, 8]
    with pytest.raises(DataError, match="line 8, column 'y'"):
        load_csv(path, features=["x"], target="y", task="regression")


def test_bytes_that_are_not_utf8_are_named_by_their_offset(tmp_path):
    """(As when the file was read whole: the offset is the file's, across the reader's chunks.)"""
    for offset in (7, 5000, 3 * 2**20 + 11):
        path = tmp_path / "bad.csv"
        head = ("a,y\n" + "1,0\n" * offset)[:offset]
        path.write_bytes(head.encode() + b"\xff" + b"1,0\n")
        with pytest.raises(DataError, match=rf"bad.csv is not UTF-8 text \(byte {offset}\)"):
            load_csv(path)


class CountingReader:
    """csv.reader, counting the rows it gives."""

    rows = 0

    def __init__(self, *args, **kwargs):
        self._reader = REAL_READER(*args, **kwargs)

    def __iter__(self):
        return self

    def __next__(self):
        row = next(self._reader)
        CountingReader.rows += 1
        return row

    @property
    def line_num(self) -> int:
        return self._reader.line_num


REAL_READER = csv.reader


def plain_table(rows: int, rng: np.random.Generator, target: str = "classes") -> str:
    x = rng.standard_normal((rows, 3))
    y = {"classes": [str(v) for v in rng.integers(0, 3, rows)],
         "numbers": [f"{v:.4f}" for v in rng.standard_normal(rows)],
         "words": [("red", "blue")[v] for v in rng.integers(0, 2, rows)]}[target]
    return "a,b,c,y\n" + "".join(f"{p:.5f},{q:.5f},{r:.5f},{t}\n" for (p, q, r), t in zip(x, y))


def test_a_table_without_quotes_is_not_read_row_by_row(tmp_path, monkeypatch):
    """NumPy's parser reads the rows a block at a time; the csv module reads the header."""
    import bpstudio.core.training.datasets as datasets
    monkeypatch.setattr(datasets.csv, "reader", CountingReader)
    path = tmp_path / "table.csv"
    for target in ("classes", "numbers", "words"):
        path.write_text(plain_table(20_000, np.random.default_rng(1), target))
        CountingReader.rows = 0
        data = load_csv(path)
        assert len(data) == 20_000 and CountingReader.rows == 1  # the header only
    # A quote sends the rest of the file through the csv module (a quoted cell may hold line
    # breaks and run into the next block).
    lines = path.read_text().splitlines(keepends=True)
    lines[15_001] = '"' + lines[15_001].replace(",", '",', 1)
    path.write_text("".join(lines))
    CountingReader.rows = 0
    assert len(load_csv(path)) == 20_000
    assert 1 + 5_000 <= CountingReader.rows < 1 + 5_000 + 2048


def same_data(a, b) -> None:
    assert (a.feature_names, a.target_name, a.class_names, a.task, a.task_reason) == \
        (b.feature_names, b.target_name, b.class_names, b.task, b.task_reason)
    assert np.array_equal(a.features, b.features) and np.array_equal(a.targets, b.targets)


def outcome(path):
    try:
        return load_csv(path)
    except DataError as exc:
        return str(exc)


# Each case changes one line (its number, counting the header as 1) of a plain table.
ODD_LINES = {
    "blank lines": {3: "\n", 4000: "   \n"},
    "a row of empty cells": {2500: ",,,\n"},
    "spaces around numbers": {7: " 1.5 , 2,\t3 ,1\n", 3000: "1e3,-0.0,+4,2\n"},
    "an underscore in a number": {5: "1_000,2,3,1\n"},
    "a word among the features": {4321: "1,oops,3,1\n"},
    "an empty feature": {3: "1,,3,1\n"},
    "an infinite feature": {2222: "1,2,inf,1\n"},
    "a huge feature": {2100: "1,2,1e999,1\n"},
    "an infinite target": {4500: "1,2,3,-inf\n"},
    "an empty target": {4500: "1,2,3, \n"},
    "a text target among numbers": {4800: "1,2,3,seven\n"},
    "a short row": {3999: "1,2,3\n"},
    "a long row": {2: "1,2,3,4,5\n"},
    "a trailing delimiter": {4097: "1,2,3,1,\n"},
}


@pytest.mark.parametrize("case", ODD_LINES)
@pytest.mark.parametrize("target", ["classes", "numbers", "words"])
def test_the_fast_path_reads_what_the_csv_module_reads(tmp_path, case, target):
    """The same table read by blocks and, with a quote in its first row, by the csv module:
    the same arrays, or the same message naming the same line and column."""
    lines = plain_table(5_000, np.random.default_rng(2), target).splitlines(keepends=True)
    for number, text in ODD_LINES[case].items():
        lines[number - 1] = text
    plain, quoted = tmp_path / "table.csv", tmp_path / "quoted" / "table.csv"
    plain.write_text("".join(lines))
    lines[1] = '"' + lines[1].replace(",", '",', 1)
    quoted.parent.mkdir()
    quoted.write_text("".join(lines))
    a, b = outcome(plain), outcome(quoted)
    if isinstance(b, str):
        assert a == b
    else:
        same_data(a, b)


def test_prepare_checks_each_array_once(tmp_path, monkeypatch):
    """The table is checked as it is read; its training rows when their statistics are
    measured; the validation rows once standardised (the statistics of other rows can make
    them overflow). Nothing already checked is checked again."""
    import bpstudio.core.training.datasets as datasets
    path = tmp_path / "table.csv"
    path.write_text(plain_table(3_000, np.random.default_rng(3)))
    checked = []
    real_problem = datasets.standardization_problem

    def recording(features, *args, **kwargs):
        checked.append(features)
        return real_problem(features, *args, **kwargs)

    monkeypatch.setattr(datasets, "standardization_problem", recording)
    data = datasets.prepare(path, validation=0.2)
    # (the full table, the raw training rows, the standardised validation rows)
    assert [len(a) for a in checked] == [3_000, len(data.train), len(data.validation)]
    assert checked[2] is data.validation.features
