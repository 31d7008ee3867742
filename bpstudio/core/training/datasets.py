"""Data sets: generated toy problems, the bundled Iris and digits tables, and the user's CSV files.

A :class:`Dataset` is a table of numeric features with one target per row (a class index for
classification, a number for regression). :func:`prepare` turns a data set name or a CSV path into
:class:`TrainingData`: a seeded train/validation split, standardised with statistics measured on
the training rows only. Its :meth:`TrainingData.settings` are plain JSON, stored in the project
file, so that the same data (and the same standardisation, which inference must reuse) can be
rebuilt later from the file alone.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import math
from dataclasses import InitVar, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from ..errors import BPStudioError
from ..ops.base import shown
from ..regularfile import check_regular, open_regular
from ..resources import resource_path

CLASSIFICATION = "classification"
REGRESSION = "regression"


class DataError(BPStudioError, ValueError):
    """Data that cannot be used: a bad CSV cell, an unknown data set, an impossible binding."""


@dataclass
class Dataset:
    """Rows of numeric features with one target each.

    ``targets`` holds class indices 0 .. k-1 (as floats) for classification, or the values to
    predict for regression. ``spec`` says how the set was made (name and options, or CSV path and
    columns), as plain JSON.
    """

    name: str
    features: np.ndarray                       # (N, d) float64
    targets: np.ndarray                        # (N,) float64
    task: str                                  # CLASSIFICATION or REGRESSION
    feature_names: tuple[str, ...]
    target_name: str = "target"
    class_names: tuple[str, ...] = ()
    spec: dict[str, Any] = field(default_factory=dict)
    # Which task, and why: "regression, because the target 'y' holds numbers with fractions
    # (e.g. 0.37)". Said to people (bpstudio-cli train prints it), since a guessed task that
    # is wrong trains something else without any error.
    task_reason: str = ""
    # True from code whose arrays are known to pass the checks (rows of a checked set, a CSV
    # file checked cell by cell as it was read): each array is checked once, where it is made.
    checked: InitVar[bool] = False

    def __post_init__(self, checked: bool = False) -> None:
        self.features = np.asarray(self.features, dtype=np.float64)
        self.targets = np.asarray(self.targets, dtype=np.float64)
        if self.features.ndim != 2 or self.targets.ndim != 1:
            raise DataError(f"data set '{self.name}': features must be (N, d) and targets (N,)")
        if len(self.features) != len(self.targets):
            raise DataError(f"data set '{self.name}': {len(self.features)} feature rows but "
                            f"{len(self.targets)} targets")
        if self.task not in (CLASSIFICATION, REGRESSION):
            raise DataError(f"task must be '{CLASSIFICATION}' or '{REGRESSION}', not {self.task!r}")
        if len(self.feature_names) != self.features.shape[1]:
            raise DataError(f"data set '{self.name}': {len(self.feature_names)} feature names "
                            f"for {self.features.shape[1]} feature columns")
        if not checked:
            self._check_numbers()
        if not self.task_reason:
            classes = f" ({self.n_classes} classes)" if self.task == CLASSIFICATION else ""
            self.task_reason = f"{self.task}, because '{self.name}' is a {self.task} data set" \
                               f"{classes}"

    def _check_numbers(self) -> None:
        """Every feature and target a finite number, and every feature column one that can be
        standardised (see :func:`standardization_problem`): data built by code gets the checks
        a CSV file gets cell by cell."""
        where = f"data set '{self.name}'"
        for array, names in ((self.features, self.feature_names),
                             (self.targets[:, None], (self.target_name,))):
            bad = ~np.isfinite(array)
            if bad.any():
                row, col = (int(i) for i in np.argwhere(bad)[0])
                raise DataError(f"{where}, row {row + 1}, column '{names[col]}': "
                                f"{array[row, col]} is not a finite number")
        problem = standardization_problem(self.features, self.feature_names, where)
        if problem:
            raise DataError(problem)

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def n_features(self) -> int:
        return self.features.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names) if self.task == CLASSIFICATION else 0

    def subset(self, rows: np.ndarray) -> "Dataset":
        return replace(self, features=self.features[rows], targets=self.targets[rows],
                       checked=True)


def standardization_problem(features: np.ndarray, names: Sequence[str], where: str,
                            lines: Sequence[int] | None = None) -> str | None:
    """Why the columns of ``features`` cannot be standardised, or None. A column whose mean or
    standard deviation overflows (values near 1e200 square beyond the float range) would
    train as a column of zeros, and its statistics could not be saved; it is refused when it is
    read instead, naming the column and its largest value (with its line when ``lines`` gives
    each row's line in a file)."""
    if len(features) == 0:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        mean = features.mean(axis=0)
        std = features.std(axis=0)
    bad = ~(np.isfinite(mean) & np.isfinite(std))
    if not bad.any():
        return None
    col = int(np.argmax(bad))
    row = int(np.argmax(np.abs(features[:, col])))
    at = f", line {lines[row]}" if lines is not None else f", row {row + 1}"
    return (f"{where}, column '{names[col]}': its values (as large as "
            f"{features[row, col]:.3g}{at}) cannot be standardised, because their spread "
            "overflows a float; rescale the column (other units, or a logarithm)")


# ----------------------------------------------------------------------------- generated sets
# Caps on the generated sets' own arguments, checked before anything is allocated: they come
# from scripts, the command line and project files, and a size typed by mistake (n = 10**10)
# should get a message, not exhaust the memory.
MAX_GENERATED_ROWS = 1_000_000
MAX_CLASSES = 100
MAX_NOISE = 100.0
MAX_FACTOR = 100.0         # circles: the inner circle's radius over the outer one's
MAX_TURNS = 100.0          # spirals: turns of each arm
MAX_COEFFICIENTS = 20      # polynomial: degree 19
MAX_COEFFICIENT = 1e6
MAX_SEED = 2**63 - 1


def _whole_arg(data_set: str, arg: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise DataError(f"data set '{data_set}': {arg} must be a whole number, not "
                        f"{shown(value)}")
    if not low <= value <= high:
        raise DataError(f"data set '{data_set}': {arg} must be from {low:,} to {high:,}, not "
                        f"{shown(value)}")
    return int(value)


def _real_arg(data_set: str, arg: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                     np.floating)):
        raise DataError(f"data set '{data_set}': {arg} must be a number, not {shown(value)}")
    if not low <= value <= high:  # (compared before float(): a huge whole number overflows it)
        raise DataError(f"data set '{data_set}': {arg} must be from {low:g} to {high:g}, not "
                        f"{shown(value)}")
    return float(value)


def _common_args(data_set: str, n: Any, noise: Any, seed: Any,
                 fewest: int) -> tuple[int, float, int]:
    """``n`` (at least ``fewest``: a row for every class or cluster), ``noise`` and ``seed``."""
    return (_whole_arg(data_set, "n", n, fewest, MAX_GENERATED_ROWS),
            _real_arg(data_set, "noise", noise, 0.0, MAX_NOISE),
            _whole_arg(data_set, "seed", seed, 0, MAX_SEED))


def _classification(name: str, x: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                    spec: dict[str, Any], classes: int) -> Dataset:
    order = rng.permutation(len(labels))  # classes interleaved, so any prefix is a fair sample
    return Dataset(name, x[order], labels[order].astype(np.float64), CLASSIFICATION, ("x1", "x2"),
                   "class", tuple(str(c) for c in range(classes)), spec)


def _split_counts(n: int, parts: int) -> list[int]:
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def xor(n: int = 200, noise: float = 0.2, seed: int = 0) -> Dataset:
    """Four clusters at the corners of a square; opposite corners share a class."""
    n, noise, seed = _common_args("xor", n, noise, seed, fewest=4)
    rng = np.random.default_rng(seed)
    corners = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
    counts = _split_counts(n, 4)
    x = np.concatenate([c + noise * rng.standard_normal((k, 2)) for c, k in zip(corners, counts)])
    labels = np.repeat([0, 0, 1, 1], counts)
    return _classification("xor", x, labels, rng, {"source": "xor", "n": n, "noise": noise,
                                                    "seed": seed}, 2)


def moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles."""
    n, noise, seed = _common_args("moons", n, noise, seed, fewest=2)
    rng = np.random.default_rng(seed)
    n_upper, n_lower = _split_counts(n, 2)
    a = np.linspace(0.0, np.pi, n_upper)
    b = np.linspace(0.0, np.pi, n_lower)
    upper = np.column_stack([np.cos(a), np.sin(a)])
    lower = np.column_stack([1.0 - np.cos(b), 0.5 - np.sin(b)])
    x = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    labels = np.repeat([0, 1], [n_upper, n_lower])
    return _classification("moons", x, labels, rng, {"source": "moons", "n": n, "noise": noise,
                                                      "seed": seed}, 2)


def circles(n: int = 200, noise: float = 0.05, seed: int = 0, factor: float = 0.5) -> Dataset:
    """A small circle (class 1) inside a large one (class 0)."""
    n, noise, seed = _common_args("circles", n, noise, seed, fewest=2)
    factor = _real_arg("circles", "factor", factor, 0.0, MAX_FACTOR)
    rng = np.random.default_rng(seed)
    n_outer, n_inner = _split_counts(n, 2)
    a = np.linspace(0.0, 2 * np.pi, n_outer, endpoint=False)
    b = np.linspace(0.0, 2 * np.pi, n_inner, endpoint=False)
    outer = np.column_stack([np.cos(a), np.sin(a)])
    inner = factor * np.column_stack([np.cos(b), np.sin(b)])
    x = np.concatenate([outer, inner]) + noise * rng.standard_normal((n, 2))
    labels = np.repeat([0, 1], [n_outer, n_inner])
    return _classification("circles", x, labels, rng, {"source": "circles", "n": n, "noise": noise,
                                                        "seed": seed, "factor": factor}, 2)


def spirals(n: int = 200, noise: float = 0.05, seed: int = 0, classes: int = 2,
            turns: float = 1.5) -> Dataset:
    """``classes`` interleaved arms of a spiral, one class per arm."""
    classes = _whole_arg("spirals", "classes", classes, 2, MAX_CLASSES)
    n, noise, seed = _common_args("spirals", n, noise, seed, fewest=classes)
    turns = _real_arg("spirals", "turns", turns, 0.0, MAX_TURNS)
    rng = np.random.default_rng(seed)
    xs, labels = [], []
    for c, k in enumerate(_split_counts(n, classes)):
        r = np.linspace(0.1, 1.0, k)
        angle = 2 * np.pi * (turns * r + c / classes)
        xs.append(np.column_stack([r * np.cos(angle), r * np.sin(angle)]))
        labels.append(np.full(k, c))
    x = np.concatenate(xs) + noise * rng.standard_normal((n, 2))
    return _classification("spirals", x, np.concatenate(labels), rng,
                           {"source": "spirals", "n": n, "noise": noise, "seed": seed,
                            "classes": classes, "turns": turns}, classes)


def blobs(n: int = 200, noise: float = 0.5, seed: int = 0, classes: int = 3) -> Dataset:
    """Gaussian clusters (standard deviation ``noise``) with centres evenly spaced on a circle."""
    classes = _whole_arg("blobs", "classes", classes, 2, MAX_CLASSES)
    n, noise, seed = _common_args("blobs", n, noise, seed, fewest=classes)
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(classes) / classes
    centres = 2.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    counts = _split_counts(n, classes)
    x = np.concatenate([c + noise * rng.standard_normal((k, 2)) for c, k in zip(centres, counts)])
    labels = np.repeat(np.arange(classes), counts)
    return _classification("blobs", x, labels, rng, {"source": "blobs", "n": n, "noise": noise,
                                                      "seed": seed, "classes": classes}, classes)


def sine(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """y = sin(x) + noise for x uniform in [-pi, pi]: a one-input regression."""
    n, noise, seed = _common_args("sine", n, noise, seed, fewest=1)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-np.pi, np.pi, n)
    y = np.sin(x) + noise * rng.standard_normal(n)
    return Dataset("sine", x[:, None], y, REGRESSION, ("x",), "y",
                   spec={"source": "sine", "n": n, "noise": noise, "seed": seed})


def polynomial(n: int = 200, noise: float = 0.1, seed: int = 0,
               coefficients: Sequence[float] = (0.0, -1.0, 0.5, 1.0)) -> Dataset:
    """y = c0 + c1 x + c2 x^2 + ... + noise for x uniform in [-1.5, 1.5]."""
    n, noise, seed = _common_args("polynomial", n, noise, seed, fewest=1)
    if not isinstance(coefficients, (list, tuple, np.ndarray)) \
            or not 1 <= len(coefficients) <= MAX_COEFFICIENTS:
        raise DataError(f"data set 'polynomial': coefficients must be a list of 1 to "
                        f"{MAX_COEFFICIENTS} numbers, not {shown(coefficients)}")
    coefficients = [_real_arg("polynomial", f"coefficient c{i}", c, -MAX_COEFFICIENT,
                              MAX_COEFFICIENT) for i, c in enumerate(coefficients)]
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, n)
    y = np.polynomial.polynomial.polyval(x, np.asarray(coefficients, dtype=float))
    y = y + noise * rng.standard_normal(n)
    return Dataset("polynomial", x[:, None], y, REGRESSION, ("x",), "y",
                   spec={"source": "polynomial", "n": n, "noise": noise, "seed": seed,
                         "coefficients": coefficients})


# ----------------------------------------------------------------------------- bundled tables
IRIS_FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def iris() -> Dataset:
    """Fisher's Iris: 150 flowers, 4 measurements in cm, 3 species (see resources/DATA.md)."""
    path = resource_path("data", "iris.csv")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    class_names = tuple(rows[0][2:])  # header: n_samples, n_features, class names
    table = np.array(rows[1:], dtype=np.float64)
    return Dataset("iris", table[:, :4], table[:, 4], CLASSIFICATION, IRIS_FEATURES, "species",
                   class_names, {"source": "iris"})


def digits() -> Dataset:
    """UCI optical handwritten digits: 1,797 images of 8x8 pixels (0..16), 10 classes."""
    path = resource_path("data", "digits.csv.gz")
    with gzip.open(path, "rb") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float64)
    names = tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8))
    return Dataset("digits", table[:, :64], table[:, 64], CLASSIFICATION, names, "digit",
                   tuple(str(d) for d in range(10)), {"source": "digits"})


GENERATORS: dict[str, Callable[..., Dataset]] = {
    "xor": xor, "moons": moons, "circles": circles, "spirals": spirals, "blobs": blobs,
    "sine": sine, "polynomial": polynomial,
}
BUNDLED: dict[str, Callable[[], Dataset]] = {"iris": iris, "digits": digits}


def names() -> list[str]:
    """Every data set known by name (generated, then bundled)."""
    return list(GENERATORS) + list(BUNDLED)


def by_name(name: str, **options: Any) -> Dataset:
    """A generated set (options: n, noise, seed, and the set's own) or a bundled one."""
    if name in GENERATORS:
        try:
            return GENERATORS[name](**options)
        except TypeError as exc:
            raise DataError(f"data set '{name}': {exc}") from None
    if name in BUNDLED:
        if options:
            raise DataError(f"data set '{name}' is bundled and takes no options "
                            f"({', '.join(options)} given)")
        return BUNDLED[name]()
    raise DataError(f"unknown data set '{name}'; known: {', '.join(names())}, or a .csv path")


# ------------------------------------------------------------------------------------- CSV
MAX_CSV_BYTES = 200 * 1024 * 1024
TASKS = ("auto", CLASSIFICATION, REGRESSION)


def _check_task(task: Any) -> None:
    if not isinstance(task, str) or task not in TASKS:
        raise DataError(f"task must be 'classification', 'regression' or 'auto', not "
                        f"{shown(task)}")


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def csv_dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The CSV dialect of ``text``: its delimiter sniffed among comma, semicolon and tab from
    the first 4096 characters (the excel dialect when that tells nothing)."""
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def csv_rows(text: str | Iterable[str], label: str,
             dialect=None, first_line: int = 1) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every row that is not blank, from ``text`` (a string, or lines
    of text whose first is line ``first_line`` of the file); DataError naming ``label`` for a
    malformed table. The number is the file's line where the row begins, counting the lines
    inside quoted cells (see :func:`cell_line` for a cell's own). Lazy, so a preview can stop
    after a few rows."""
    if isinstance(text, str):
        dialect = dialect or csv_dialect(text)
        text = io.StringIO(text)
    reader = csv.reader(text, dialect or csv.excel)
    before = first_line - 1
    try:
        begins = first_line
        for row in reader:
            if any(cell.strip() for cell in row):
                yield begins, row
            begins = before + reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{label}, line {before + reader.line_num}: {exc}") from None


def cell_line(line: int, row: Sequence[str], column: int) -> int:
    """The file's line of ``row[column]`` in a row that begins on ``line``: later by the line
    breaks inside the quoted cells before it."""
    return line + sum(cell.count("\n") for cell in row[:column])


def _text_lines(path: Path, label: str, chunk: int = 1 << 16) -> Iterator[str]:
    """The lines of a UTF-8 file (a byte order mark dropped, line ends made "\n", as
    ``Path.read_text`` does), read a chunk at a time so that a file is never held whole. Bytes
    that are not UTF-8 are refused by their offset in the file."""
    return itertools.chain.from_iterable(_text_chunks(path, label, chunk))


def _text_chunks(path: Path, label: str, chunk: int) -> Iterator[list[str]]:
    """The lines of :func:`_text_lines`, in lists of those each chunk of the file completes."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    newlines = io.IncrementalNewlineDecoder(decoder, translate=True)
    offset, rest = 0, ""
    with open_regular(path, "rb") as f:  # a FIFO or a device would block or never end
        while True:
            data = f.read(chunk)
            pending = len(decoder.getstate()[0])
            try:
                text = newlines.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise DataError(f"{label} is not UTF-8 text (byte "
                                f"{max(0, offset - pending + exc.start)})") from None
            offset += len(data)
            parts = (rest + text).split("\n")
            rest = parts.pop()
            yield [part + "\n" for part in parts]
            if not data:
                break
    if rest:
        yield [rest]


# Rows parsed into one block of the feature array at a time: the array grows by blocks, so a
# file is never held as text or as a list of rows.
CSV_BLOCK_BYTES = 1 << 18
# Lines without quotes are handed to NumPy's parser a block at a time (about ten times faster
# than the csv module and a Python loop): at most this many lines, and about this much text
# (judged from the first lines' length: a line held as a Python string takes some 60 bytes more
# than its text). Any doubt about a block (a quote, a blank row, a cell NumPy will not read)
# sends it through the csv module row by row, which finds the fault and names it as before.
CSV_FAST_LINES = 2048
CSV_FAST_BYTES = 1 << 20


def load_csv(path: str | Path, target: str | int | None = None,
             features: Sequence[str | int] | None = None, task: str = "auto") -> Dataset:
    """Read a table with a header row. ``target`` is a column name or index (default: the last
    column); ``features`` the columns to use as inputs (default: every other column). Feature
    cells must be finite numbers; a classification target may be any text (each distinct value
    becomes a class). ``task`` is "classification", "regression" or "auto" (text or few whole
    numbers mean classification; see :func:`_choose_task`, whose reason the Dataset keeps in
    ``task_reason``). Cells of both kinds of column that read as numbers must be finite, and
    each feature column must be one that can be standardised. Errors name the file, line and
    column at fault, and come at the row at fault: the file is read once, a block of lines at
    a time, into arrays (its peak memory a small multiple of theirs). Only a regular file is
    read: a FIFO, a device or a folder is refused by name before anything is read."""
    _check_task(task)
    path = Path(path)
    label = path.name
    try:
        size = check_regular(path).st_size
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size > MAX_CSV_BYTES:
        raise DataError(f"{label} is {size / 2**20:.0f} MB; the limit is "
                        f"{MAX_CSV_BYTES / 2**20:.0f} MB")
    try:
        return _read_csv(path, label, target, features, task)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_csv(path: Path, label: str, target: str | int | None,
              features: Sequence[str | int] | None, task: str) -> Dataset:
    lines = _text_lines(path, label)
    start: list[str] = []
    for text in lines:  # the delimiter is sniffed from the first 4096 characters
        start.append(text)
        if sum(map(len, start)) >= 4096:
            break
    dialect = csv_dialect("".join(start))
    lines = itertools.chain(start, lines)
    # The header through the csv module, which reads no line beyond the row it returns: the
    # lines left in ``lines`` are the data's, from line ``next_line`` on.
    reader = csv.reader(lines, dialect)
    header_line, header = 1, None
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                header = row
                break
            header_line = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{label}, line {reader.line_num}: {exc}") from None
    if header is None:
        raise DataError(f"{label} is empty")
    next_line = reader.line_num + 1
    header = [h.strip() for h in header]
    if all(_number(h) is not None for h in header):
        raise DataError(f"{label}: line {header_line} must be a header naming the columns "
                        "(it holds only numbers)")
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise DataError(f"{label}: column name '{dup}' appears twice in the header")
    width = len(header)

    def column(ref: str | int, role: str) -> int:
        if isinstance(ref, int) and not isinstance(ref, bool):
            if -width <= ref < width:
                return ref % width
            raise DataError(f"{label}: {role} column index {ref} is out of range (0..{width - 1})")
        if ref in header:
            return header.index(ref)
        raise DataError(f"{label}: no column named '{ref}' for the {role}; columns: "
                        f"{', '.join(header)}")

    t_col = width - 1 if target is None else column(target, "target")
    if features is None:
        f_cols = [c for c in range(width) if c != t_col]
    else:
        f_cols = [column(f, "feature") for f in features]
        if t_col in f_cols:
            raise DataError(f"{label}: column '{header[t_col]}' cannot be both a feature and the "
                            "target")
    if not f_cols:
        raise DataError(f"{label}: there is no feature column besides the target '{header[t_col]}'")
    target_name = header[t_col]

    # Each row goes into arrays as it is read: its features, its target as a number (NaN for
    # text) and, for text, the code of its distinct value; and the line it begins on. A block
    # is (features, numbers, codes, lines) and how many of its rows are filled.
    block_rows = max(1, CSV_BLOCK_BYTES // (8 * (len(f_cols) + 3)))
    blocks: list[list] = []
    texts: dict[str, int] = {}
    rows_of: dict[int, list[str]] = {}  # the open block's rows, to name a bad cell as written
    open_block: list | None = None      # the block rows read one by one go into

    def check_block() -> None:
        """Refuse the first row of the open block so far whose features are not all finite (a
        whole block is checked at once; before any later row is refused, so that the first
        fault in the file is the one named)."""
        if open_block is not None and open_block[4]:
            bad = ~np.isfinite(open_block[0][:open_block[4]]).all(axis=1)
            if bad.any():
                first = int(np.argmax(bad))
                _refuse_features(label, header, f_cols, int(open_block[3][first]),
                                 rows_of[first])
        rows_of.clear()

    def add_rows(rows: Iterable[tuple[int, list[str]]]) -> None:
        """Rows from the csv module, one at a time, each checked as it comes."""
        nonlocal open_block
        for line, row in rows:
            if len(row) != width:
                check_block()
                raise DataError(f"{label}, line {line}: {len(row)} cells, but the header names "
                                f"{width} columns")
            if open_block is None or open_block[4] == block_rows:
                check_block()
                open_block = [np.empty((block_rows, len(f_cols))), np.empty(block_rows),
                              np.empty(block_rows, dtype=np.int32),
                              np.empty(block_rows, dtype=np.int64), 0]
                blocks.append(open_block)
            x, numbers, codes, starts, r = open_block
            starts[r] = line
            try:
                x[r] = [row[c] for c in f_cols]
            except ValueError:
                check_block()
                _refuse_features(label, header, f_cols, line, row)
            rows_of[r] = row  # (its features are checked with the block's)
            cell = row[t_col].strip()
            where = f"{label}, line {cell_line(line, row, t_col)}, column '{target_name}'"
            if not cell:
                check_block()
                raise DataError(f"{where}: the target is empty")
            value = _number(cell)
            if value is None:
                numbers[r], codes[r] = math.nan, texts.setdefault(cell, len(texts))
            elif not math.isfinite(value):
                # A cell that reads as a number but is not a finite one (inf, nan, 1e999) is a
                # bad number whatever the task, as in a feature column: never a class "inf".
                check_block()
                raise DataError(f"{where}: '{cell[:40]}' is not a finite number")
            else:
                numbers[r], codes[r] = value, -1
            open_block[4] = r + 1
        check_block()

    delimiter = dialect.delimiter
    parse = {"delimiter": delimiter, "comments": None, "quotechar": None, "ndmin": 2,
             "dtype": np.float64}

    # A target cell that is text -> NaN and the code of its text (as ``texts``, kept once each).
    text_cells: dict[str, tuple[float, int]] = {}
    text_targets = False  # once a block had some, the next ones are not parsed as numbers first

    def target_cell(cell: str) -> tuple[float, int] | None:
        """The cell's number (NaN for text) and the code of its text (-1 for a number), or
        None for a cell that is no target (empty, or a number that is not finite)."""
        value = _number(cell)
        if value is None:
            return (math.nan, texts.setdefault(cell, len(texts))) if cell else None
        return (value, -1) if math.isfinite(value) else None

    def add_plain_lines(chunk: list[str], first: int) -> bool:
        """The lines ``chunk`` (the first is line ``first``), none quoted, read by NumPy as one
        block; False, having added nothing, when a line is not a plain row of numbers (a text
        target aside) or a number is not finite: then the csv module reads them."""
        nonlocal open_block, text_targets
        table = None
        if not text_targets:
            try:
                table = np.loadtxt(chunk, **parse)
            except ValueError:  # a cell that is not a number (the target's text, or a fault),
                pass            # or a row of another length
        if table is not None:
            # (NumPy skips blank lines, which would shift the line numbers; it checks that
            # every row is as long as the first)
            if table.shape != (len(chunk), width) or not np.isfinite(table).all():
                return False
            x, numbers = table[:, f_cols], table[:, t_col].copy()  # (a view keeps the table)
            del table
            codes = np.full(len(chunk), -1, dtype=np.int32)
        else:
            if any(text.count(delimiter) != width - 1 for text in chunk):  # blank lines too
                return False
            try:
                x = np.loadtxt(chunk, usecols=f_cols, **parse)
            except ValueError:
                return False
            if not np.isfinite(x).all():
                return False
            if t_col == width - 1:
                cells = [text.rpartition(delimiter)[2].strip() for text in chunk]
            else:
                cells = [text.split(delimiter, t_col + 1)[t_col].strip() for text in chunk]
            targets = []
            for cell in cells:
                known = text_cells.get(cell)  # (a text is read as a number, and fails, once)
                if known is None:
                    known = target_cell(cell)
                    if known is None:
                        return False
                    if known[1] >= 0:
                        text_cells[cell] = known
                targets.append(known)
            numbers, codes = (np.array(column) for column in zip(*targets))
            codes = codes.astype(np.int32)
            text_targets = text_targets or bool((codes >= 0).any())
        open_block = None  # rows read one by one after this block start a block of their own
        blocks.append([x, numbers, codes, np.arange(first, first + len(chunk)), len(chunk)])
        return True

    quote, escape = dialect.quotechar, dialect.escapechar
    line_bytes = sum(map(len, start)) / len(start) + 60
    block_lines = int(min(max(CSV_FAST_BYTES // line_bytes, 8), CSV_FAST_LINES))
    while True:
        chunk = list(itertools.islice(lines, block_lines))
        if not chunk:
            break
        first, next_line = next_line, next_line + len(chunk)
        text = "".join(chunk)
        if (quote and quote in text) or (escape and escape in text):
            # A quoted cell may hold delimiters and line breaks, and go on into the next
            # block: the rest of the file is read by the csv module.
            add_rows(csv_rows(itertools.chain(chunk, lines), label, dialect, first_line=first))
            break
        del text
        if not add_plain_lines(chunk, first):
            add_rows(csv_rows(chunk, label, dialect, first_line=first))
    if not blocks:
        raise DataError(f"{label} has a header but no data rows")
    x, numbers, codes, starts = (np.concatenate([b[k][:b[4]] for b in blocks])
                                 for k in range(4))
    del blocks, open_block

    names = tuple(header[c] for c in f_cols)
    problem = standardization_problem(x, names, label, starts)
    if problem:
        raise DataError(problem)
    text_of = list(texts)  # code -> the text
    if task == "auto":
        task, reason = _choose_task(label, target_name, numbers, codes, starts, text_of)
    else:
        reason = f"{task}, as asked"
    spec = {"source": "csv", "path": str(path), "target": target_name,
            "features": list(names), "task": task}
    is_text = codes >= 0
    if task == REGRESSION:
        if is_text.any():
            i = int(np.argmax(is_text))
            raise DataError(f"{label}, line {starts[i]}, column '{target_name}': "
                            f"'{text_of[codes[i]][:40]}' is not a finite number (a regression "
                            "target must be numeric)")
        y = numbers
        class_names: tuple[str, ...] = ()
    elif not is_text.any():  # classes in numeric order: 2 before 10
        del codes, is_text, starts  # (not needed any more: the memory goes to the classes)
        distinct = np.unique(numbers)
        class_names = tuple(f"{v:g}" for v in distinct)
        numbers[:] = np.searchsorted(distinct, numbers)
        y = numbers
    else:  # classes named by their text (a number among them by its shortest form)
        named = sorted(set(text_of) | {f"{v:g}" for v in np.unique(numbers[~is_text])})
        index = {name: i for i, name in enumerate(named)}
        by_code = np.array([index[t] for t in text_of], dtype=np.float64)
        y = np.empty(len(numbers))
        y[is_text] = by_code[codes[is_text]]
        if not is_text.all():
            y[~is_text] = [index[f"{v:g}"] for v in numbers[~is_text]]
        class_names = tuple(named)
    if task == CLASSIFICATION and len(class_names) < 2:
        raise DataError(f"{label}: the target '{target_name}' has only one class")
    # (every cell was checked as it was read, and the columns above)
    return Dataset(path.stem, x, y, task, names, target_name, class_names, spec, reason,
                   checked=True)


def _refuse_features(label: str, header: list[str], f_cols: list[int], line: int,
                     row: list[str]) -> None:
    """The DataError for the first feature cell of ``row`` that is not a finite number."""
    for c in f_cols:
        cell = row[c].strip()
        value = _number(cell)
        if value is None or not math.isfinite(value):
            what = "is empty" if not cell else f"'{cell[:40]}' is not a finite number"
            raise DataError(f"{label}, line {cell_line(line, row, c)}, column '{header[c]}': "
                            f"{what}")
    raise DataError(f"{label}, line {line}: a feature cell is not a finite number")


# A column of whole numbers with at most this many distinct values holds class labels.
MAX_AUTO_CLASSES = 20


def _choose_task(label: str, column: str, numbers: np.ndarray, codes: np.ndarray,
                 starts: np.ndarray, text_of: list[str]) -> tuple[str, str]:
    """Classification or regression for a target column, and why. The choice follows what
    most cells hold, so that one bad cell cannot flip it: a numeric column with a few cells of
    text is refused at the first of them rather than read as a column of class names.
    ``numbers`` holds each target read as a number, ``codes`` the code of its text in
    ``text_of`` (-1 for a number), ``starts`` each row's line."""
    is_text = codes >= 0
    n_texts = int(is_text.sum())
    n_values = len(codes) - n_texts
    if not n_values:
        return CLASSIFICATION, (f"{CLASSIFICATION}, because the target '{column}' holds text "
                                f"(e.g. '{text_of[codes[0]][:40]}')")
    first_text = int(np.argmax(is_text)) if n_texts else None
    if n_texts and n_values > n_texts:
        raise DataError(f"{label}, line {starts[first_text]}, column '{column}': "
                        f"'{text_of[codes[first_text]][:40]}' is not a number, but {n_values} of "
                        f"the {len(codes)} targets are: correct the cell, or ask for "
                        f"{CLASSIFICATION} to read every target as a class name")
    if n_texts:
        return CLASSIFICATION, (f"{CLASSIFICATION}, because most of the target '{column}' is "
                                f"text (e.g. '{text_of[codes[first_text]][:40]}')")
    fractions = numbers != np.floor(numbers)
    if fractions.any():
        fraction = float(numbers[int(np.argmax(fractions))])
        return REGRESSION, (f"{REGRESSION}, because the target '{column}' holds numbers with "
                            f"fractions (e.g. {fraction:g})")
    distinct = len(np.unique(numbers))
    if distinct > MAX_AUTO_CLASSES:
        return REGRESSION, (f"{REGRESSION}, because the target '{column}' holds "
                            f"{distinct} distinct whole numbers (more than "
                            f"{MAX_AUTO_CLASSES} are not read as classes)")
    return CLASSIFICATION, (f"{CLASSIFICATION}, because the target '{column}' holds "
                            f"{distinct} distinct whole numbers (at most "
                            f"{MAX_AUTO_CLASSES} are read as classes; ask for {REGRESSION} to "
                            "predict them as numbers)")


# -------------------------------------------------------------------- split and standardise
def split(data: Dataset, validation: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset | None]:
    """A seeded train/validation split (stratified by class for classification)."""
    if not 0.0 <= validation < 1.0:
        raise DataError(f"the validation fraction must be in [0, 1), not {validation}")
    if validation == 0.0:
        return data, None
    rng = np.random.default_rng(seed)
    if data.task == CLASSIFICATION:
        groups = [np.flatnonzero(data.targets == c) for c in range(data.n_classes)]
    else:
        groups = [np.arange(len(data))]
    held: list[np.ndarray] = []
    for rows in groups:
        rows = rng.permutation(rows)
        held.append(rows[:int(round(validation * len(rows)))])
    val_rows = np.sort(np.concatenate(held))
    if len(val_rows) == 0 or len(val_rows) == len(data):
        raise DataError(f"data set '{data.name}' has {len(data)} rows: too few to hold out "
                        f"{validation:.0%} for validation")
    train_mask = np.ones(len(data), dtype=bool)
    train_mask[val_rows] = False
    return data.subset(np.flatnonzero(train_mask)), data.subset(val_rows)


@dataclass
class Standardizer:
    """Per-feature (x - mean) / std, with the statistics of the training rows. Inference must
    apply the same statistics, so they are stored in the project file."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray, names: Sequence[str] | None = None) -> "Standardizer":
        """The statistics of ``features`` (the training rows). Data sets refuse columns that
        cannot be standardised when they are read; the training rows alone could still
        overflow where all rows did not, so the statistics are checked here too."""
        names = tuple(names) if names is not None else \
            tuple(f"#{k + 1}" for k in range(features.shape[1]))
        problem = standardization_problem(features, names, "the training rows")
        if problem:
            raise DataError(problem)
        std = features.std(axis=0)
        # A constant column (a blank pixel) carries no information; leave it centred, unscaled.
        return cls(features.mean(axis=0), np.where(std > 1e-12, std, 1.0))

    def apply(self, features: np.ndarray) -> np.ndarray:
        return (np.asarray(features, dtype=np.float64) - self.mean) / self.std

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_dict(cls, stats: Mapping[str, Any], n_features: int | None = None) -> "Standardizer":
        try:
            mean = np.asarray(stats["mean"], dtype=np.float64)
            std = np.asarray(stats["std"], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            raise DataError("standardisation statistics need 'mean' and 'std' lists of "
                            "numbers") from None
        if mean.ndim != 1 or mean.shape != std.shape:
            raise DataError("standardisation 'mean' and 'std' must be lists of the same length")
        if n_features is not None and len(mean) != n_features:
            raise DataError(f"standardisation statistics are for {len(mean)} features, but the "
                            f"data has {n_features}")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise DataError("standardisation statistics must be finite, with every std > 0")
        return cls(mean, std)


@dataclass
class TrainingData:
    """What a trainer consumes: training rows, optional validation rows, the standardisation
    applied to both, and the JSON settings that rebuild all of it."""

    train: Dataset
    validation: Dataset | None = None
    standardizer: Standardizer | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> str:
        return self.train.task


def prepare(source: str | Path | Dataset, *, target: str | int | None = None,
            features: Sequence[str | int] | None = None, task: str = "auto",
            validation: float = 0.2, seed: int = 0, standardize: bool = True,
            standardization: Mapping[str, Any] | None = None,
            options: Mapping[str, Any] | None = None) -> TrainingData:
    """A data set name, a CSV path or a Dataset -> split and standardised TrainingData.

    ``options`` go to a generated set's function (n, noise, seed, ...). ``standardization``
    (from a project file) replaces the statistics that would be measured on the training rows."""
    _check_task(task)
    if isinstance(validation, (bool, np.bool_)) or not isinstance(validation, (int, float)):
        raise DataError(f"the validation fraction must be a number in [0, 1), not "
                        f"{shown(validation)}")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= seed <= MAX_SEED:
        raise DataError(f"the split seed must be a whole number from 0 to {MAX_SEED}, not "
                        f"{shown(seed)}")
    options = dict(options or {})
    if isinstance(source, Dataset):
        data = source
    elif str(source).lower().endswith((".csv", ".tsv", ".txt")) or Path(str(source)).is_file():
        if options:
            raise DataError(f"options {', '.join(options)} apply to generated data sets, not to "
                            f"the CSV file {source}")
        data = load_csv(source, target=target, features=features, task=task)
    else:
        if target is not None or features is not None:
            raise DataError(f"'{source}' is a named data set: target and feature columns apply to "
                            "CSV files only")
        data = by_name(str(source), **options)
    if task != "auto" and task != data.task:  # (a CSV file was read for the task asked)
        raise DataError(f"'{data.name}' is a {data.task} data set: it cannot be read for "
                        f"{task} (only a CSV file's target column can be read either way)")
    train, val = split(data, validation, seed)
    scaler = None
    if standardization is not None:
        scaler = Standardizer.from_dict(standardization, data.n_features)
    elif standardize:
        scaler = Standardizer.fit(train.features, train.feature_names)
    if scaler is not None:
        # Statistics fitted on the training rows keep them finite and within a few standard
        # deviations; other rows, or statistics from a file, can overflow: those are checked.
        train = replace(train, features=scaler.apply(train.features),
                        checked=standardization is None)
        if val is not None:
            val = replace(val, features=scaler.apply(val.features))
    settings: dict[str, Any] = {"data": dict(data.spec), "validation": validation,
                                "split_seed": seed,
                                "standardisation": scaler.to_dict() if scaler else None}
    return TrainingData(train, val, scaler, settings)


def from_settings(settings: Mapping[str, Any]) -> TrainingData:
    """Rebuild the TrainingData described by :attr:`TrainingData.settings` (from a project)."""
    try:
        spec = dict(settings["data"])
        source = spec.pop("source")
    except (KeyError, TypeError):
        raise DataError("the training settings do not say which data set was used") from None
    # No "standardisation" entry: standardise on the training rows (the default); None: the
    # features are used as they are; statistics: those, exactly (what inference must reuse).
    stats = settings.get("standardisation", "fit")
    common = {"validation": float(settings.get("validation", 0.2)),
              "seed": int(settings.get("split_seed", 0)),
              "standardize": stats is not None,
              "standardization": None if stats in (None, "fit") else stats}
    if source == "csv":
        return prepare(spec.get("path", ""), target=spec.get("target"),
                       features=spec.get("features"), task=spec.get("task", "auto"), **common)
    return prepare(source, options=spec, **common)
