"""The first rows of a CSV file, read the way :func:`datasets.load_csv` reads the whole file.

An import dialog shows these before the full load: the header (the column names a person picks
the target and features from), a few rows, and the delimiter. Only the start of the file is read,
so a file of hundreds of megabytes previews as fast as a small one.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from ..regularfile import open_regular
from .datasets import DataError, csv_dialect, csv_rows

PREVIEW_ROWS = 20
# Enough for 20 rows of a very wide table (the 64 pixels of a digit take about 200 characters).
PREVIEW_BYTES = 1024 * 1024
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True)
class CsvPreview:
    """The header and first data rows of a CSV file.

    ``rows`` pairs each row with its line number as :func:`load_csv` counts lines in its errors
    (the file's line where the row begins, blank lines and the lines inside quoted cells
    counted), so a preview can label rows the way an error names them. ``complete`` says whether the rows are all the file holds.
    """

    path: str
    delimiter: str
    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]
    complete: bool

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))


def default_target(header: tuple[str, ...] | list[str]) -> str:
    """The column :func:`load_csv` predicts when it is given no target: the last one."""
    if not header:
        raise DataError("a table without columns has no target")
    return header[-1]


def _read_start(path: Path, limit: int) -> tuple[str, bool]:
    """Up to ``limit`` bytes of the file as text, and whether that was the whole file."""
    label = path.name
    try:
        with open_regular(path) as f:  # a FIFO or a device would block or never end
            data = f.read(limit + 1)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    whole = len(data) <= limit
    data = data[:limit]
    # An incremental decoder keeps a character cut at the limit for later instead of calling it
    # invalid; utf-8-sig drops a byte order mark, as load_csv's reading does.
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(data, final=whole)
    except UnicodeDecodeError as exc:
        raise DataError(f"{label} is not UTF-8 text (byte {exc.start})") from None
    if not whole:
        # The last line may be cut; a row made from part of it would show wrong cells.
        cut = text.rfind("\n")
        if cut < 0:
            raise DataError(f"{label}: the first line is longer than {limit // 1024} KB; is this "
                            "a CSV table?")
        text = text[:cut + 1]
    return text, whole


def read_preview(path: str | Path, rows: int = PREVIEW_ROWS,
                 limit: int = PREVIEW_BYTES) -> CsvPreview:
    """The header and up to ``rows`` data rows of the CSV file at ``path``, reading at most
    ``limit`` bytes. The delimiter is sniffed among comma, semicolon and tab from the first 4096
    characters, and blank rows are skipped, as :func:`load_csv` does. Raises :class:`DataError`
    naming the file when it cannot be read, is not UTF-8 text or holds no rows; cells are not
    checked here (the full load does that)."""
    path = Path(path)
    label = path.name
    text, whole = _read_start(path, limit)
    dialect = csv_dialect(text)
    found: list[tuple[int, tuple[str, ...]]] = []
    complete = whole
    for line, row in csv_rows(text, label, dialect):
        if len(found) == rows + 1:
            complete = False
            break
        found.append((line, tuple(row)))
    if not found:
        raise DataError(f"{label} is empty")
    header = tuple(cell.strip() for cell in found[0][1])
    return CsvPreview(str(path), dialect.delimiter, header, tuple(found[1:]), complete)
