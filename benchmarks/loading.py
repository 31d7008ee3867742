"""Loading time against graph size and the order of the wires in the file.

    QT_QPA_PLATFORM=offscreen python benchmarks/loading.py [--sizes 20000 200000]
        [--window 20000] [--repeats 3]

Each case is a project file holding a chain: an input, then relu nodes each fed by the one
before (nodes without positions, as a script writes them). Its wires are listed from the
start of the chain to its end ("forward"), or from the end back to the start ("reverse": a
search per wire for cycles made that quadratic; a 200,000-node file did not load in 120 s).

Every time is also given per node, and as a ratio to the baseline measured in the same run:
the per-node time of the smallest size in forward order. Loading is near-linear when every
ratio stays near 1 (a quadratic loader's ratio grows with the size). The window figure is the
whole File > Open path offscreen (load, layout of nodes without positions, scene items, first
validation and the events that follow), once per size given to --window, with its ratio to
the core's load of the same file measured above (the baseline) and its target: <= 1.5 s for
20,000 nodes.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tempfile
import time
import timeit
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bpstudio.core.files.fileformat import encode, load  # noqa: E402
from bpstudio.core.graph import Graph  # noqa: E402
from bpstudio.core.project import Project  # noqa: E402

ORDERS = ("forward", "reverse")
WINDOW_TARGET_S = {20_000: 1.5}


def chain_file(nodes: int, order: str) -> bytes:
    """The bytes of a .bpg file holding a chain of ``nodes`` nodes, its wires in ``order``."""
    g = Graph()
    previous = g.add_node("input", name="x", params={"shape": (1,)})
    for k in range(1, nodes):
        node = g.add_node("relu", name=f"n{k}")
        g.connect(previous, node, "x")
        previous = node
    entries = encode(Project(g, description=f"A chain of {nodes} nodes, wires {order}"))
    document = json.loads(entries["graph.json"])
    if order == "reverse":
        document["edges"].reverse()
    graph_json = json.dumps(document).encode("utf-8")
    manifest = json.loads(entries["manifest.json"])
    manifest["entries"]["graph.json"] = {"size": len(graph_json),
                                         "sha256": hashlib.sha256(graph_json).hexdigest()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("graph.json", graph_json)
    return buffer.getvalue()


def best_of(repeats: int, work) -> float:
    """The fastest of ``repeats`` runs of ``work``, in seconds."""
    return min(timeit.repeat(work, number=1, repeat=repeats))


def window_open_seconds(path: str) -> float:
    """File > Open of ``path`` in a fresh main window, offscreen, until the events it queued
    (validation, the first pictures) have run."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from bpstudio.gui.main_window import MainWindow
    from bpstudio.gui.settings import Settings

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(QSettings(os.path.join(folder, "s.ini"), QSettings.IniFormat))
        window = MainWindow(settings)
        window.resize(1280, 800)
        window.show()
        app.processEvents()
        start = time.perf_counter()
        assert window.open_file(path), "the file did not open"
        app.processEvents()
        seconds = time.perf_counter() - start
        window.undo_stack.setClean()
        window.close()
        window.deleteLater()
        app.processEvents()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--window", type=int, nargs="*", default=[20_000],
                        help="sizes whose File > Open is timed in the window (none: skip)")
    parser.add_argument("--repeats", type=int, default=3, help="loads per case (best kept)")
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for n in sizes:
            for order in ORDERS:
                paths[n, order] = os.path.join(folder, f"chain-{n}-{order}.bpg")
                Path(paths[n, order]).write_bytes(chain_file(n, order))
        baseline = None
        loads = {}
        print(f"{'nodes':>8} {'order':<8} {'file':>9} {'load':>9} {'per node':>10} {'ratio':>6}")
        for n in sizes:
            for order in ORDERS:
                path = paths[n, order]
                seconds = best_of(args.repeats if n <= 50_000 else 1, lambda: load(path))
                loads[n, order] = seconds
                per_node = seconds / n
                if baseline is None:
                    baseline = per_node  # the smallest size, forward order
                size_kb = os.path.getsize(path) / 1024
                print(f"{n:>8} {order:<8} {size_kb:>7.0f}KB {seconds:>8.2f}s "
                      f"{per_node * 1e6:>8.1f}us {per_node / baseline:>6.2f}")
        for n in args.window:
            path = paths.get((n, "forward"))
            if path is None:
                path = os.path.join(folder, f"chain-{n}-forward.bpg")
                Path(path).write_bytes(chain_file(n, "forward"))
            seconds = window_open_seconds(path)
            if (n, "forward") not in loads:
                loads[n, "forward"] = best_of(args.repeats, lambda: load(path))
            ratio = seconds / loads[n, "forward"]
            target = WINDOW_TARGET_S.get(n)
            verdict = "" if target is None else (
                f"   target <= {target:g} s   {'ok' if seconds <= target else 'MISSED'}")
            print(f"window: File > Open of the {n}-node chain, offscreen: {seconds:.2f} s "
                  f"({seconds / n * 1e6:.0f} us per node, {ratio:.1f}x the file's load)"
                  + verdict)


if __name__ == "__main__":
    main()
