"""The CSV preview reads the start of a file the way load_csv reads all of it: the same
delimiter, header, line numbers and default target, and only the first bytes of a large file."""

from __future__ import annotations

import io

import pytest

from bpstudio.core.training import csvpreview, datasets
from bpstudio.core.training.csvpreview import default_target, read_preview
from bpstudio.core.training.datasets import DataError


def write(tmp_path, text: str | bytes, name: str = "data.csv"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("delimiter, name", [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_the_delimiter_and_header_are_those_load_csv_uses(tmp_path, delimiter, name):
    rows = [["width", "height", "kind"]] + [[f"{i}.5", str(i * 2), str(i % 2)] for i in range(30)]
    path = write(tmp_path, "".join(delimiter.join(r) + "\n" for r in rows))
    preview = read_preview(path)
    data = datasets.load_csv(path)
    assert preview.delimiter == delimiter and preview.delimiter_name == name
    assert preview.header == data.feature_names + (data.target_name,) == tuple(rows[0])
    assert [row for _, row in preview.rows] == [tuple(r) for r in rows[1:21]]
    assert not preview.complete


def test_rows_carry_the_line_numbers_load_csv_names_in_errors(tmp_path):
    text = "\ufeff a , b ,y\n1,2,0\n\n  ,  \n3,4,1\n5,oops,0\n"
    path = write(tmp_path, text)
    preview = read_preview(path)
    assert preview.header == ("a", "b", "y")  # byte order mark and spaces gone, as load_csv does
    assert [line for line, _ in preview.rows] == [2, 5, 6]
    assert preview.complete
    with pytest.raises(DataError, match="line 6, column 'b'"):
        datasets.load_csv(path)
    assert preview.rows[-1] == (6, ("5", "oops", "0"))


@pytest.mark.parametrize("header", ["a,b,c", "label,x1,x2", "x,y,z,target", "class,f"])
def test_the_default_target_is_the_one_load_csv_picks(tmp_path, header):
    width = header.count(",") + 1
    body = "".join(",".join(str((r + c) % 3) for c in range(width)) + "\n" for r in range(6))
    path = write(tmp_path, header + "\n" + body)
    assert default_target(read_preview(path).header) == datasets.load_csv(path).target_name


def test_only_the_start_of_a_large_file_is_read(tmp_path, monkeypatch):
    # Bytes that are not UTF-8 past the limit: the full load refuses them, the preview never
    # reaches them.
    head = "a,b,y\n" + "".join(f"{i},{i + 1},{i % 2}\n" for i in range(200))
    path = write(tmp_path, head.encode() + b"\xff\xfe" * 50_000)
    read = []

    class CountingReader(io.BufferedReader):
        def read(self, size=-1):
            data = super().read(size)
            read.append(len(data))
            return data

    monkeypatch.setattr(csvpreview, "open_regular",
                        lambda path: CountingReader(io.FileIO(path, "rb")))
    preview = read_preview(path, rows=5, limit=len(head))
    assert [row for _, row in preview.rows] == [(str(i), str(i + 1), str(i % 2)) for i in range(5)]
    assert 0 < sum(read) <= len(head) + 1
    monkeypatch.undo()
    with pytest.raises(DataError, match="not UTF-8"):
        datasets.load_csv(path)


@pytest.mark.parametrize("extra", [1, 4])
def test_a_line_cut_at_the_limit_is_left_out(tmp_path, extra):
    text = "name,v\n" + "".join(f"é{i},{i}\n" for i in range(10))
    path = write(tmp_path, text)
    # The limit falls inside line 4: inside the two bytes of its 'é', or after "é2,".
    limit = len("name,v\né0,0\né1,1\n".encode()) + extra
    preview = read_preview(path, limit=limit)
    assert preview.rows == ((2, ("é0", "0")), (3, ("é1", "1")))
    assert not preview.complete


@pytest.mark.parametrize("content, message", [
    (None, "cannot read .*missing.csv"),
    (b"", "data.csv is empty"),
    (b" , \n\n", "data.csv is empty"),
    (b"a,b\n\x00\x9f\x92\x96\xff", r"data.csv is not UTF-8 text \(byte 5\)"),
    (b"x" * 300, "first line is longer than"),
])
def test_unreadable_files_are_data_errors_naming_the_file(tmp_path, content, message):
    path = tmp_path / "missing.csv" if content is None else write(tmp_path, content)
    with pytest.raises(DataError, match=message):
        read_preview(path, limit=200)


def test_a_byte_that_is_not_utf8_is_counted_as_load_csv_counts_it(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfa,b\n1,\xc3(\n")
    with pytest.raises(DataError) as from_load:
        datasets.load_csv(path)
    with pytest.raises(DataError) as from_preview:
        read_preview(path)
    assert str(from_preview.value) == str(from_load.value)
