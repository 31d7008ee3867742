"""load_csv against numpy.loadtxt on the same file: 200,000 rows of 20 features and a class
column (about 38 MB), and the same table with its target as words.

    PYTHONPATH=. python benchmarks/csv_reading.py [--rows N] [--features D] [--repeats R]

The baseline, measured in the same run, is ``numpy.loadtxt`` reading the numeric table (no
checks beyond "a number"). load_csv keeps every check (typed cells, finite numbers, rows of
the header's width, line and column in each message, columns that can be standardised);
target: at most 2x the baseline. Best of R reads each.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bpstudio.core.training.datasets import load_csv  # noqa: E402

TARGET_RATIO = 2.0


def best_of(repeats: int, work) -> float:
    """The fastest of ``repeats`` runs of ``work``, in seconds."""
    return min(timeit.repeat(work, number=1, repeat=repeats))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.rows, args.features))
    y = rng.integers(0, 3, args.rows)
    header = ",".join(f"f{k}" for k in range(args.features))
    with tempfile.TemporaryDirectory() as folder:
        numbers, words = Path(folder) / "numbers.csv", Path(folder) / "words.csv"
        with open(numbers, "w") as f:
            f.write(header + ",y\n")
            np.savetxt(f, np.column_stack([x, y]), fmt="%.6f", delimiter=",")
        names = np.array(["red", "green", "blue"])[y]
        with open(words, "w") as f:
            f.write(header + ",colour\n")
            for row, name in zip(np.char.mod("%.6f", x), names):
                f.write(",".join(row) + "," + name + "\n")
        baseline = best_of(args.repeats, lambda: np.loadtxt(numbers, delimiter=",",
                                                            skiprows=1))
        size_mb = numbers.stat().st_size / 2**20
        print(f"CSV reading: {args.rows:,} rows x {args.features} features, {size_mb:.0f} MB, "
              f"best of {args.repeats}")
        print(f"  baseline: numpy.loadtxt, numeric table  : {baseline:6.2f} s")
        missed = []
        for label, path in (("load_csv, class numbers", numbers),
                            ("load_csv, class words", words)):
            seconds = best_of(args.repeats, lambda: load_csv(path))
            ratio = seconds / baseline
            verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
            if ratio > TARGET_RATIO:
                missed.append(label)
            print(f"  {label:<39}: {seconds:6.2f} s   {ratio:4.2f}x baseline   "
                  f"target <= {TARGET_RATIO:g}x   {verdict}")
        print("all targets met" if not missed else "targets missed: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
