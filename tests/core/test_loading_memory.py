"""Loading needs about the decompressed size of a file's arrays in memory: one copy. (A 510 KB
file holding a zero-filled 512 MiB array used to peak at 1.6 GB: the raw bytes, NumPy's copy
and a placeholder alive at once.) Measured in a fresh process, as the peak resident size."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bpstudio import Graph, Project, save

from bpgfiles import replace_entry

ROOT = Path(__file__).resolve().parents[2]
MIB = 2**20
ARRAY_MIB = 64

# Loads a file and reports, in bytes: the resident size before loading, the peak resident
# size while loading (the peak is reset after the imports where Linux allows it), and the
# size of the arrays loaded.
MEASURE = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    from bpstudio import load

    def status(field):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024

    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM, the peak, to the present size
        peak = lambda: status("VmHWM")
    except OSError:
        peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    before = status("VmRSS")
    project = load(sys.argv[1])
    arrays = [n.value for n in project.graph.nodes.values() if n.value is not None]
    arrays += [a for a in project.history["series"]] if project.history else []
    print(json.dumps({"before": before, "peak": peak(),
                      "arrays": sum(a.nbytes for a in arrays)}))
""")


def peak_above_baseline(path: Path) -> tuple[int, int]:
    result = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True,
                            text=True, check=True, env={"PYTHONPATH": str(ROOT)}, cwd=ROOT,
                            timeout=120)
    figures = json.loads(result.stdout)
    return figures["peak"] - figures["before"], figures["arrays"]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("where", ["parameter", "constant", "big-endian", "history"])
def test_loading_peaks_near_one_copy_of_the_arrays(tmp_path, where):
    count = ARRAY_MIB * MIB // 8
    g = Graph()
    history = None
    if where == "parameter":
        g.add_node("parameter", name="w", value=np.zeros((count // 1024, 1024)))
    elif where in ("constant", "big-endian"):
        g.add_node("constant", name="c", value=np.zeros(count))
    else:  # arrays in a tree: series of 100,000 points (the most a history array may hold)
        g.add_node("constant", name="c", value=0.0)
        history = {"series": [np.zeros(100_000) for _ in range(count // 100_000 + 1)]}
    path = tmp_path / "big.bpg"
    save(Project(g, history=history), path)
    if where == "big-endian":  # read, then byte-swapped in place rather than copied
        data = replace_entry(path.read_bytes(), "values/0.npy", npy_bytes(np.zeros(count, ">f8")))
        path.write_bytes(data)
    assert path.stat().st_size < 2 * MIB  # zeros compress: a small file, a large array
    extra, arrays = peak_above_baseline(path)
    assert arrays >= ARRAY_MIB * MIB
    assert extra < 1.3 * arrays, f"peak {extra / MIB:.0f} MiB above the baseline for " \
                                 f"{arrays / MIB:.0f} MiB of arrays"


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()
