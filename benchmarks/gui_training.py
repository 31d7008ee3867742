"""Training in the real main window (offscreen, every plot live) against the headless Trainer
on the same graph and data, measured in the same run.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_training.py [--busy] [--repeat R]
        [--scale K] [--still] [--profile FILE]

For two_moons (20,000 steps) and deep_sigmoid (5,000 steps) on the moons data, K times as many
with --scale, each run R times (default 3; medians printed last), it prints:
- throughput: steps per second in the window, from pressing Train to the weights being back in
  the document, against headless measured just before (the baseline);
- the longest stall of the GUI event loop while training, from a QTimer probe firing every
  5 ms: the largest gap between two probes beyond the 5 ms asked for; its baseline is the same
  probe's longest stall in the idle window just before Train, under the same load. Each run
  also names the three longest stalls and the timed work inside them (the progress redraws,
  each plot's painting, the tab switches, the run's end);
- plot redraws per second (the panel redraws from the newest progress on a 33 ms timer: about
  30/s is its ceiling);
- the GUI process's CPU time per redraw: all the window's thread does while training (taking
  progress, drawing the plots, painting, the probe) from ``resource.getrusage``, divided by
  the redraws. The target is judged on the window's own, less the probe's: the idle window
  runs the probe and next to nothing else, so its CPU time per firing there, times the
  firings during the run, is what the benchmark itself added (printed apart). Beside it
  the window thread's CPU time (``time.thread_time``) in the plots' painting, the panel's
  progress slot, the tab switches, the plots a switch left stale drawn one per event-loop
  turn ("catching up") and the run's start and end, and as baseline the idle window's CPU
  time over one redraw interval.

During each window run the benchmark switches between the Loss, Gradients and Prediction tabs
every 0.4 s and resizes the training dock every 0.7 s, as a person watching would.

With --busy, one CPU-bound process (a Python busy loop, pinned to one core where the system
allows) runs through both the headless and the window runs, as a browser or a build often
does on a user's laptop. Targets, quiet / busy: window >= 90% / 60% of headless, longest
stall <= 30 / 100 ms, >= 25 / 15 redraws/s; CPU time per redraw <= 8 ms on deep_sigmoid.

--still then runs deep_sigmoid R times more with each plot tab in view alone the whole run (no
switch, no resize) and prints the CPU per redraw of each: the cost of what is in view, apart
from the person's actions (and a short run's fixed costs, which both include).

--profile FILE runs deep_sigmoid in the window once more (not counted in the figures), writes
cProfile statistics of the window's thread during it to FILE and prints its top 15 functions
by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bpstudio.core.examples import EXAMPLES  # noqa: E402
from bpstudio.core.training import background, datasets  # noqa: E402
from bpstudio.core.training.trainer import Trainer  # noqa: E402
from bpstudio.gui.main_window import MainWindow, examples_dir  # noqa: E402
from bpstudio.gui.settings import Settings  # noqa: E402

PROBE_MS = 5
TAB_SWITCH_MS = 400
PLOT_TABS = ("Loss", "Gradients", "Prediction")  # the dock's other tab holds the settings
DOCK_RESIZE_MS = 700
DOCK_WIDTHS = (460, 600)
IDLE_SECONDS = 1.5
GRAPHS = (("two_moons", 20_000), ("deep_sigmoid", 5_000))
TARGETS = {False: {"throughput": 0.90, "stall_ms": 30.0, "redraws": 25.0},
           True: {"throughput": 0.60, "stall_ms": 100.0, "redraws": 15.0}}
CPU_PER_REDRAW_MS = 8.0  # on deep_sigmoid
# The window thread's CPU time timed apart (the rest: layout after a dock resize, Qt's own
# event handling and compositing, the probe, other threads of the process).
CPU_PARTS = ("painting", "progress slot", "tab switches", "catching up", "start and end")
CPU_TARGET_GRAPH = "deep_sigmoid"


@contextmanager
def busy_core(enabled: bool):
    """One CPU-bound process for the duration, pinned to the last core where possible."""
    if not enabled:
        yield
        return
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        if hasattr(os, "sched_setaffinity") and os.cpu_count():
            os.sched_setaffinity(hog.pid, {os.cpu_count() - 1})
        yield
    finally:
        hog.terminate()
        hog.wait()


def cpu_seconds() -> float:
    """CPU time of this process (every thread, not the training child), user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def headless(stem: str, steps: int) -> float:
    project = EXAMPLES[stem]()
    data = datasets.prepare("moons", options={"n": 200, "noise": 0.1, "seed": 0}, seed=0)
    trainer = Trainer.from_project(project, data=data, optimizer="adam", lr=0.01, batch_size=32,
                                   seed=0)
    start = time.perf_counter()
    trainer.fit(steps=steps)
    return steps / (time.perf_counter() - start)


class Probe:
    """A timer every PROBE_MS: the gaps between its firings say how long the loop stalled."""

    def __init__(self) -> None:
        self.gaps: list[int] = []
        self.moments: list[float] = []
        self._clock = QElapsedTimer()
        self._timer = QTimer()
        self._timer.setInterval(PROBE_MS)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        self.gaps.append(self._clock.restart())
        self.moments.append(time.perf_counter())

    def start(self) -> None:
        self.gaps.clear()
        self.moments.clear()
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def longest_stall(self) -> tuple[float, float]:
        """(ms beyond the interval asked for, perf_counter moment it ended)."""
        return (self.longest_stalls(1) or [(0.0, 0.0)])[0]

    def longest_stalls(self, count: int) -> list[tuple[float, float]]:
        """The ``count`` longest, longest first, as :meth:`longest_stall` gives one."""
        worst = sorted(range(1, len(self.gaps)), key=self.gaps.__getitem__, reverse=True)
        return [(max(self.gaps[k] - PROBE_MS, 0), self.moments[k]) for k in worst[:count]]


def run_loop_for(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def in_window(stem: str, steps: int, folder: Path, profile: cProfile.Profile | None,
              still_tab: str | None = None):
    """One run in the window; with ``still_tab``, that plot tab stays in view with no switch
    or resize (what is in view alone)."""
    window = MainWindow(Settings(QSettings(str(folder / "settings.ini"), QSettings.IniFormat)))
    window.resize(1400, 900)
    window.show()
    window.open_file(examples_dir() / f"{stem}.bpg")
    background.warm_up()  # as the window does at start, off its thread
    panel = window.training_panel
    panel.data_combo.setCurrentText("moons")
    panel._data_chosen()
    panel.n_spin.setValue(200)
    panel.noise_spin.setValue(0.1)
    panel.length_spin.setValue(steps)
    panel.unit_combo.setCurrentText("steps")
    tabs = panel.plots.tabs
    if still_tab is not None:
        tabs.setCurrentIndex(next(i for i in range(tabs.count()) if tabs.tabText(i) == still_tab))
    probe = Probe()

    # Baseline: the idle window, under the same load, for the stall and the CPU time.
    run_loop_for(0.5)
    probe.start()
    idle_cpu = cpu_seconds()
    run_loop_for(IDLE_SECONDS)
    idle_cpu = (cpu_seconds() - idle_cpu) / IDLE_SECONDS
    probe.stop()
    idle_stall, _ = probe.longest_stall()
    # The idle window does next to nothing but run the probe (about 0.005 ms per 33 ms without
    # it): its CPU time per firing there is the probe's own cost, counted out of the run's.
    probe_cpu_per_firing = idle_cpu * IDLE_SECONDS / max(len(probe.gaps), 1)

    # The window thread's CPU time in the work timed here, by kind (the progress slot, the
    # plots' painting, the tab switches, the run's start and end).
    part_cpu = dict.fromkeys(CPU_PARTS, 0.0)
    show_progress = panel._show_progress

    spans: list[tuple[float, float, str]] = []  # (start, end, what) of the work timed here

    def timed_show_progress(p, *args) -> None:
        start, wall = time.thread_time(), time.perf_counter()
        show_progress(p, *args)
        part_cpu["progress slot"] += time.thread_time() - start
        spans.append((wall, time.perf_counter(), "progress redraw"))
    panel.run.progressed.disconnect(show_progress)
    panel.run.progressed.connect(timed_show_progress)
    # The run's end (its weights and history taken into the document).
    finish = panel._finish

    def timed_finish(job) -> None:
        wall, start = time.perf_counter(), time.thread_time()
        finish(job)
        part_cpu["start and end"] += time.thread_time() - start
        spans.append((wall, time.perf_counter(), "taking the run's result"))
    panel.run.finished.disconnect(finish)
    panel.run.finished.connect(timed_finish)
    # The plots a tab switch left stale, drawn one per event-loop turn.
    plots = panel.plots
    catch_up = plots._draw_next_stale

    def timed_catch_up() -> None:
        wall, start = time.perf_counter(), time.thread_time()
        catch_up()
        part_cpu["catching up"] += time.thread_time() - start
        spans.append((wall, time.perf_counter(), "a plot catching up"))
    plots._catch_up.timeout.disconnect(catch_up)
    plots._catch_up.timeout.connect(timed_catch_up)
    # And each plot's painting, by the plot's title.
    titles = {plot.plot_widget: plot.plot_item.titleLabel.text or type(plot).__name__
              for plot in panel.plots.plots}
    paint_event = pg.GraphicsView.paintEvent

    def timed_paint(view, event) -> None:
        wall, start = time.perf_counter(), time.thread_time()
        paint_event(view, event)
        part_cpu["painting"] += time.thread_time() - start
        spans.append((wall, time.perf_counter(), f"painting {titles.get(view, 'a plot')}"))
    pg.GraphicsView.paintEvent = timed_paint

    # A person watching: switch tabs and resize the dock while it trains.
    switches = [0]

    plot_tabs = [i for i in range(tabs.count()) if tabs.tabText(i) in PLOT_TABS]

    def switch_tab() -> None:
        wall, start = time.perf_counter(), time.thread_time()
        at = plot_tabs.index(tabs.currentIndex()) if tabs.currentIndex() in plot_tabs else -1
        tabs.setCurrentIndex(plot_tabs[(at + 1) % len(plot_tabs)])
        part_cpu["tab switches"] += time.thread_time() - start
        switches[0] += 1
        spans.append((wall, time.perf_counter(), f"switch to {tabs.tabText(tabs.currentIndex())}"))
    widths = [0]

    def resize_dock() -> None:
        widths[0] += 1
        now = time.perf_counter()
        spans.append((now, now, "dock resize (its painting follows)"))
        window.resizeDocks([window.training_dock], [DOCK_WIDTHS[widths[0] % 2]], Qt.Horizontal)
    switcher, resizer = QTimer(), QTimer()
    switcher.setInterval(TAB_SWITCH_MS)
    switcher.timeout.connect(switch_tab)
    resizer.setInterval(DOCK_RESIZE_MS)
    resizer.timeout.connect(resize_dock)

    redraws_before = panel.redraws
    cpu_before = cpu_seconds()
    if profile is not None:
        profile.enable()
    start = time.thread_time()
    panel.run_button.click()
    part_cpu["start and end"] += time.thread_time() - start
    worker = panel.worker
    probe.start()
    if still_tab is None:
        switcher.start()
        resizer.start()
    started = time.perf_counter()
    loop = QEventLoop()
    watch = QTimer()
    watch.setInterval(20)
    watch.timeout.connect(lambda: None if panel.running else loop.quit())
    watch.start()
    loop.exec()  # the real event loop, as in the app
    seconds = time.perf_counter() - started
    if profile is not None:
        profile.disable()
    cpu = cpu_seconds() - cpu_before
    for timer in (watch, switcher, resizer):
        timer.stop()
    probe.stop()
    pg.GraphicsView.paintEvent = paint_event
    redraws = panel.redraws - redraws_before
    probe_cpu = probe_cpu_per_firing * len(probe.gaps)

    def during(stall: float, moment: float) -> str:
        """What ran in a stall: the timed work that overlaps it, longest first."""
        begun = moment - (stall + PROBE_MS) / 1000
        inside = sorted(((min(end, moment) - max(start, begun), what)
                         for start, end, what in spans if start < moment and end > begun - 1e-3),
                        reverse=True)
        return ", ".join(f"{what} {1000 * length:.0f} ms" for length, what in inside[:3]) or \
            "no timed work (painting, reading progress, the system)"
    stalls = probe.longest_stalls(3)
    stall, stall_moment = stalls[0] if stalls else (0.0, 0.0)
    others = "; ".join(f"{s:.0f} ms at {(m - started) / seconds:.0%} ({during(s, m)})"
                       for s, m in stalls[1:])
    window.undo_stack.setClean()
    window.close()
    window.deleteLater()
    return {"steps_per_second": worker.steps_done / seconds, "seconds": seconds,
            "stall_ms": stall, "stall_at": (stall_moment - started) / seconds,
            "stall_during": during(stall, stall_moment), "next_stalls": others,
            "idle_stall_ms": idle_stall, "redraws_per_second": redraws / seconds,
            "cpu_per_redraw_ms": 1000 * cpu / max(redraws, 1),
            "probe_per_redraw_ms": 1000 * probe_cpu / max(redraws, 1),
            "own_cpu_per_redraw_ms": 1000 * (cpu - probe_cpu) / max(redraws, 1),
            **{f"{part} cpu_per_redraw_ms": 1000 * value / max(redraws, 1)
               for part, value in part_cpu.items()},
            "idle_cpu_per_redraw_ms": 1000 * idle_cpu * 0.033,
            "tab_switches": switches[0], "dock_resizes": widths[0]}


def report(stem: str, base: float, gui: dict, targets: dict, prefix: str = "") -> bool:
    ratio = gui["steps_per_second"] / base
    cpu_target = CPU_PER_REDRAW_MS if stem == CPU_TARGET_GRAPH else None
    checks = [ratio >= targets["throughput"], gui["stall_ms"] <= targets["stall_ms"],
              gui["redraws_per_second"] >= targets["redraws"],
              cpu_target is None or gui["own_cpu_per_redraw_ms"] <= cpu_target]
    cpu_words = f"target <= {cpu_target:.0f} ms" if cpu_target else "no target"
    part_ms = {part: gui[f"{part} cpu_per_redraw_ms"] for part in CPU_PARTS}
    probe_ms = gui["probe_per_redraw_ms"]
    rest_ms = gui["cpu_per_redraw_ms"] - sum(part_ms.values()) - probe_ms
    parts = ", ".join([f"{part} {ms:.1f}" for part, ms in part_ms.items()]
                      + [f"the benchmark's probe {probe_ms:.1f}", f"the rest {rest_ms:.1f}"])
    print(f"{prefix}{stem}:\n"
          f"  throughput  window {gui['steps_per_second']:,.0f} steps/s = {ratio:.0%} of headless "
          f"{base:,.0f} steps/s (baseline)   target >= {targets['throughput']:.0%}\n"
          f"  stall       longest {gui['stall_ms']:.0f} ms at {gui['stall_at']:.0%} of the run"
          + (f" (in it: {gui['stall_during']})" if "stall_during" in gui else "") + "; "
          f"idle window {gui['idle_stall_ms']:.0f} ms (baseline)   "
          f"target <= {targets['stall_ms']:.0f} ms\n"
          + (f"              next longest: {gui['next_stalls']}\n"
             if gui.get("next_stalls") else "")
          + f"  redraws     {gui['redraws_per_second']:.1f}/s; ceiling ~30/s (the 33 ms timer)   "
          f"target >= {targets['redraws']:.0f}/s\n"
          f"  GUI CPU     {gui['cpu_per_redraw_ms']:.1f} ms per redraw (of it: {parts}); "
          f"idle window {gui['idle_cpu_per_redraw_ms']:.1f} ms per 33 ms (baseline)\n"
          f"              the window's own (less the probe): "
          f"{gui['own_cpu_per_redraw_ms']:.1f} ms per redraw   {cpu_words}\n"
          f"  ({gui.get('steps', '')} steps in {gui['seconds']:.1f} s; "
          f"{gui['tab_switches']} tab switches, {gui['dock_resizes']} dock resizes)")
    return all(checks)


def print_profile(path: str) -> None:
    for order, words in (("cumulative", "cumulative"), ("tottime", "own")):
        print(f"\ncProfile of the window's thread during a {CPU_TARGET_GRAPH} run, top 15 by "
              f"{words} time:")
        pstats.Stats(path).strip_dirs().sort_stats(order).print_stats(15)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each graph (medians last)")
    parser.add_argument("--busy", action="store_true",
                        help="keep one CPU-bound process running on one core throughout")
    parser.add_argument("--still", action="store_true",
                        help="also run deep_sigmoid with each plot tab in view alone, no switch "
                             "or resize, R times each (the CPU per redraw of what is in view)")
    parser.add_argument("--profile", metavar="FILE",
                        help="cProfile the window's thread in one more deep_sigmoid run")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv)  # noqa: F841 (lives for the run)
    targets = TARGETS[args.busy]
    print(f"{'busy: one CPU-bound process on one core' if args.busy else 'quiet'}; "
          f"{os.cpu_count()} cores; load average before {os.getloadavg()[0]:.1f}")
    results: dict[str, list[tuple[float, dict]]] = {stem: [] for stem, _ in GRAPHS}
    with tempfile.TemporaryDirectory() as tmp, busy_core(args.busy):
        for run in range(1, args.repeat + 1):
            for stem, steps in GRAPHS:
                steps = max(1, round(steps * args.scale))
                base = headless(stem, steps)
                gui = in_window(stem, steps, Path(tmp), None)
                gui["steps"] = steps
                results[stem].append((base, gui))
                report(stem, base, gui, targets, prefix=f"run {run}/{args.repeat} ")
        still: dict[str, list[float]] = {tab: [] for tab in PLOT_TABS} if args.still else {}
        steps = max(1, round(dict(GRAPHS)[CPU_TARGET_GRAPH] * args.scale))
        for _ in range(args.repeat if args.still else 0):
            for tab in PLOT_TABS:
                gui = in_window(CPU_TARGET_GRAPH, steps, Path(tmp), None, still_tab=tab)
                still[tab].append((gui["cpu_per_redraw_ms"], gui["own_cpu_per_redraw_ms"]))
        if args.profile:  # a run of its own: the profiler slows the thread it watches
            profile = cProfile.Profile()
            steps = max(1, round(dict(GRAPHS)[CPU_TARGET_GRAPH] * args.scale))
            in_window(CPU_TARGET_GRAPH, steps, Path(tmp), profile)
            profile.dump_stats(args.profile)
    print(f"\nmedians of {args.repeat} runs "
          f"({'busy' if args.busy else 'quiet'}; load average after {os.getloadavg()[0]:.1f}):")
    ok = True
    for stem, runs in results.items():
        base = statistics.median(b for b, _ in runs)
        gui = {key: statistics.median(g[key] for _, g in runs)
               for key, value in runs[0][1].items() if isinstance(value, (int, float))}
        # The throughput's median is of each run's ratio to its own headless baseline.
        gui["steps_per_second"] = base * statistics.median(
            g["steps_per_second"] / b for b, g in runs)
        ok &= report(stem, base, gui, targets)
    if still:
        medians = {tab: [statistics.median(c[k] for c in cpu) for k in (0, 1)]
                   for tab, cpu in still.items()}
        print(f"{CPU_TARGET_GRAPH}, one tab in view alone (no switch or resize; medians of "
              f"{args.repeat}): GUI CPU per redraw "
              + ", ".join(f"{tab} {ms:.1f} ms ({own:.1f} less the probe)"
                          for tab, (ms, own) in medians.items())
              + f"; mean {statistics.mean(m[0] for m in medians.values()):.1f} ms "
              f"({statistics.mean(m[1] for m in medians.values()):.1f} less the probe; no "
              "target: the figure above, with a person's switches and resizes, is the one with "
              "a target)")
    print("all targets met" if ok else "some targets missed")
    if args.profile:
        print_profile(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
