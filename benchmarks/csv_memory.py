"""Peak memory of load_csv over the arrays it gives (features + targets), and its time, for a
generated table of about SIZE_MB (default 50). Each table is loaded in a subprocess of its own:
once for the time, once under tracemalloc (which sees NumPy's arrays) for the peak.

    PYTHONPATH=. python benchmarks/csv_memory.py [SIZE_MB]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = """
import sys, time, tracemalloc
from bpstudio.core.training.datasets import load_csv
started = time.perf_counter()
load_csv(sys.argv[1])
seconds = time.perf_counter() - started
tracemalloc.start()
data = load_csv(sys.argv[1])
grown = tracemalloc.get_traced_memory()[1]
print(grown, data.features.nbytes + data.targets.nbytes, seconds)
"""


def main() -> None:
    size_mb = float(sys.argv[1]) if len(sys.argv) > 1 else 50.0
    with tempfile.TemporaryDirectory() as folder:
        for columns in (1, 8, 100):
            rows = int(size_mb * 2**20 / (10 * (columns + 1)))
            rng = np.random.default_rng(0)
            path = Path(folder) / f"table{columns}.csv"
            x = rng.standard_normal((rows, columns))
            y = rng.integers(0, 3, rows)
            with open(path, "w") as f:
                f.write(",".join(f"f{k}" for k in range(columns)) + ",y\n")
                np.savetxt(f, np.column_stack([x, y]), fmt="%.5f", delimiter=",")
            out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                                 text=True, check=True).stdout.split()
            grown, parsed, seconds = int(out[0]), int(out[1]), float(out[2])
            print(f"{rows:>9} x {columns:<4} file {path.stat().st_size / 2**20:6.1f} MB  "
                  f"arrays {parsed / 2**20:6.1f} MB  peak {grown / 2**20:7.1f} MB  "
                  f"= {grown / parsed:4.1f}x the arrays, {grown / path.stat().st_size:4.1f}x "
                  f"the file  {seconds:5.1f} s")


if __name__ == "__main__":
    main()
