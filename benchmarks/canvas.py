"""Canvas speed on a large graph: 500 nodes and 600 wires in a 1920x1080 view, then pans and
zooms on 2,000 nodes.

    QT_QPA_PLATFORM=offscreen python benchmarks/canvas.py [--repeats N] [--large 2000]

Measures the time to build the scene from the graph, a full repaint of the view (everything
framed, and at 100% zoom), and repaints after zoom and pan steps. Each repaint figure is also
given as a ratio to the baseline measured in the same run: a full repaint of an empty canvas
(the grid alone) in the same view. Targets: build <= 1 s, every repaint median <= 16 ms.

While a zoom goes on, nodes copy pictures of themselves drawn ahead while the canvas was idle;
the last line shows zoom steps taken before any idle moment, when every node is drawn in full.

Then the same views of a graph of --large nodes (2,000; 2,400 wires), as frames per second: a
pan or zoom step and the repaint it causes, at 100% and with the whole graph framed. Target
>= 30 frames/s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bpstudio.gui.document import Document  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bpstudio.core.graph import Graph  # noqa: E402
from bpstudio.core.layout import layered_positions  # noqa: E402
from bpstudio.gui.app import style_application  # noqa: E402
from bpstudio.gui.canvas.scene import GraphScene  # noqa: E402
from bpstudio.gui.canvas.view import GraphView  # noqa: E402

NODES, WIRES = 500, 600
BUILD_TARGET_S, REPAINT_TARGET_MS = 1.0, 16.0
FRAMES_TARGET = 30.0


def large_graph(seed: int = 0, nodes: int = NODES) -> Graph:
    """A fifth sources, then as many unary as binary ops each fed by earlier nodes: for 500
    nodes, 100 sources and 200 + 2 * 200 = 600 wires, laid out in layers."""
    rng = random.Random(seed)
    g = Graph()
    ids = []
    sources = nodes // 5
    for k in range(sources):
        node = g.add_node("input", name=f"x{k}", params={"shape": (4,)}) if k % 2 == 0 \
            else g.add_node("parameter", name=f"w{k}", params={"shape": (4,)})
        ids.append(node.id)
    ops = nodes - sources
    kinds = ["unary"] * (ops // 2) + ["binary"] * (ops - ops // 2)
    rng.shuffle(kinds)
    for k, kind in enumerate(kinds):
        if kind == "unary":
            node = g.add_node(rng.choice(["relu", "tanh", "sigmoid", "exp"]))
            g.connect(rng.choice(ids[-60:]), node, "x")
        else:
            node = g.add_node(rng.choice(["add", "multiply", "subtract"]))
            a, b = rng.sample(ids[-80:], 2)
            g.connect(a, node, "a")
            g.connect(b, node, "b")
        ids.append(node.id)
    for node_id, pos in layered_positions(g).items():
        g.set_position(node_id, pos)
    assert len(g.nodes) == nodes and len(g.edges) == (ops // 2) + 2 * (ops - ops // 2)
    return g


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def time_repaints(app: QApplication, view: GraphView, repeats: int, before=None) -> list[float]:
    samples = []
    for k in range(repeats):
        app.processEvents()  # nothing pending: the timed repaint does all the drawing
        if before is not None:
            before(k)  # the zoom or pan step itself, untimed; its drawing is the repaint below
        start = time.perf_counter()
        view.viewport().repaint()
        samples.append(time.perf_counter() - start)
    return samples


def settle(app: QApplication, seconds: float = 0.6) -> None:
    """Let the view's timers run (node caching resumes after zooming) and draw once."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--large", type=int, default=2000, help="nodes for the frame rates")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    style_application(app)


    scene = GraphScene(Document())
    view = GraphView(scene)
    view.resize(1920, 1080)
    view.show()
    app.processEvents()

    # Baseline: the same view with an empty graph (grid only), at 100% and framed-out zoom.
    scene.set_graph(Graph())
    baseline = median_ms(time_repaints(app, view, args.repeats))

    graph = large_graph()
    builds = []
    for _ in range(3):
        start = time.perf_counter()
        scene.set_graph(graph)
        builds.append(time.perf_counter() - start)
    build_s = min(builds)
    app.processEvents()

    view.frame_all()
    framed = median_ms(time_repaints(app, view, args.repeats))
    framed_zoom = view.zoom

    view.set_zoom(1.0)
    view.centerOn(scene.nodes_rect().center())
    settle(app)
    actual = median_ms(time_repaints(app, view, args.repeats))

    def pan_step(k: int) -> None:
        view.pan_by(37 if k % 4 < 2 else -37, 23 if k % 2 else -23)

    pan = median_ms(time_repaints(app, view, args.repeats, pan_step))

    # Zoom steps, one level (about 12%) each. The first visit of a level draws text and port
    # pictures at a size not seen before; later visits find them drawn.
    cold = median_ms(time_repaints(app, view, 6, lambda k: view.zoom_steps(-1)))
    view.set_zoom(1.0)
    walk = [1, 1, -1, -1, -1, -1, 1, 1]  # around 100%: 112%, 126%, 112%, 100%, 89%, 79%, ...
    warm = median_ms(time_repaints(app, view, args.repeats,
                                   lambda k: view.zoom_steps(walk[k % len(walk)])))

    # The worst case: zooming with no idle moment before, so no node has a zoom picture yet
    # (they are drawn while the canvas is idle). A fresh scene, zoomed at once.
    scene.set_graph(graph)
    view.set_zoom(1.0)
    view.centerOn(scene.nodes_rect().center())
    unprepared = median_ms(time_repaints(app, view, 6, lambda k: view.zoom_steps(-1)))
    print(f"canvas benchmark: {len(graph.nodes)} nodes, {len(graph.edges)} wires, view 1920x1080, "
          f"{args.repeats} repaints per median unless said, Qt platform {app.platformName()}")
    print(f"  scene build (items for every node and wire, validation): {build_s * 1000:8.1f} ms"
          f"   target <= {BUILD_TARGET_S * 1000:.0f} ms   {'ok' if build_s <= BUILD_TARGET_S else 'MISSED'}")
    print(f"  baseline: empty canvas repaint (grid only)             : {baseline:8.2f} ms")
    rows = [("full repaint, all framed (zoom %.2f)" % framed_zoom, framed),
            ("full repaint at 100% zoom", actual),
            ("repaint after a pan step at 100%", pan),
            ("repaint after a zoom step to a level seen before", warm),
            ("repaint after a zoom step to a new level (6 samples)", cold)]
    for label, ms in rows:
        verdict = "ok" if ms <= REPAINT_TARGET_MS else "MISSED"
        print(f"  {label:<55}: {ms:8.2f} ms   {ms / baseline:6.1f}x baseline   "
              f"target <= {REPAINT_TARGET_MS:.0f} ms   {verdict}")
    print(f"  {'zoom step with no idle time before it (6 samples)':<55}: {unprepared:8.2f} ms   "
          f"{unprepared / baseline:6.1f}x baseline   (worst case, no target)")
    missed = [label for label, ms in rows if ms > REPAINT_TARGET_MS]
    if build_s > BUILD_TARGET_S:
        missed.insert(0, "scene build")
    missed += frame_rates(app, scene, view, args.large, args.repeats)
    print("all targets met" if not missed else "targets missed: " + "; ".join(missed))
    return 0  # a measurement, not a test: the figures above are the result


def frame_rates(app: QApplication, scene: GraphScene, view: GraphView, nodes: int,
                repeats: int) -> list[str]:
    """Pan and zoom steps on a graph of ``nodes`` nodes, as frames per second (a step and its
    repaint); returns the labels of the rates below the target."""
    graph = large_graph(nodes=nodes)
    scene.set_graph(graph)
    walk = [1, 1, -1, -1, -1, -1, 1, 1]
    print(f"pan and zoom on {len(graph.nodes)} nodes and {len(graph.edges)} wires "
          f"(frames/s = 1 / (step + repaint), median of {repeats})")
    missed = []
    for where in ("at 100%", "framed whole"):
        if where == "at 100%":
            view.set_zoom(1.0)
            view.centerOn(scene.nodes_rect().center())
        else:
            view.frame_all()
        settle(app)
        base = view.zoom

        def pan_step(k: int) -> None:
            view.pan_by(37 if k % 4 < 2 else -37, 23 if k % 2 else -23)

        def zoom_step(k: int) -> None:
            view.zoom_steps(walk[k % len(walk)])

        for label, step in (("pan", pan_step), ("zoom", zoom_step)):
            samples = []
            for k in range(repeats):
                app.processEvents()
                start = time.perf_counter()
                step(k)
                view.viewport().repaint()
                samples.append(time.perf_counter() - start)
            fps = 1.0 / statistics.median(samples)
            ok = fps >= FRAMES_TARGET
            if not ok:
                missed.append(f"{label} {where}")
            print(f"  {label:<4} {where:<12} (zoom {base:4.2f}): {fps:6.1f} frames/s   "
                  f"target >= {FRAMES_TARGET:.0f}   {'ok' if ok else 'MISSED'}")
            view.set_zoom(base)
            settle(app, 0.5)
    return missed


if __name__ == "__main__":
    sys.exit(main())
