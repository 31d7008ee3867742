"""The window's CPU time per redraw of a live run, replayed without the run: the progress a
deep_sigmoid run sends (made here by the child's own code, completed by the parent's), fed to
the training panel one by one, each followed by the painting it causes.

    QT_QPA_PLATFORM=offscreen python benchmarks/redraw_cost.py [--example deep_sigmoid]
        [--steps 5000] [--profile]

Replaying takes the training child, the pipe and the timing of a real run out of the figure:
what is left is the window's own work per redraw of everything in view (the plots of the tab
on show, the progress bar, the canvas), on each plot tab in turn. The baseline, measured in
the same run, is the window handling its events with nothing new to show. Target: <= 8 ms per
redraw on deep_sigmoid. ``benchmarks/gui_training.py`` measures the same thing during real
runs, with the training child competing for the cores.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bpstudio.core.examples import EXAMPLES  # noqa: E402
from bpstudio.core.training import background  # noqa: E402
from bpstudio.core.training.trainer import Trainer  # noqa: E402
from bpstudio.gui.main_window import MainWindow, examples_dir  # noqa: E402
from bpstudio.gui.settings import Settings  # noqa: E402

TARGET_MS = 8.0
PLOT_TABS = ("Loss", "Gradients", "Prediction")
STEPS_PER_PROGRESS = 100   # a run at ~3,000 steps/s publishing every 33 ms
PROGRESS_PER_FIELD = 15    # a new prediction field every 0.5 s


def progress_messages(window: MainWindow, stem: str, steps: int) -> list:
    """What the window receives from a run of ``steps`` steps: made by the child's sender,
    completed by the parent's inbox."""
    data = window.training_panel.training_data()
    trainer = Trainer.from_project(EXAMPLES[stem](), data=data, optimizer="adam", lr=0.01,
                                   batch_size=32, seed=0)
    sender, inbox = background._ProgressSender(), background._Inbox(connection=None)
    messages, started = [], time.perf_counter()
    for k, stats in enumerate(trainer.run(steps=steps), start=1):
        if k % STEPS_PER_PROGRESS:
            continue
        field = None
        if (k // STEPS_PER_PROGRESS) % PROGRESS_PER_FIELD == 1:
            field = background._prediction(trainer, 80)
        progress = sender.progress(trainer, stats, 0, steps, started, field)
        inbox._complete(progress)
        messages.append(progress)
    return messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="deep_sigmoid")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--profile", action="store_true", help="print the top costs")
    parser.add_argument("--tab", choices=PLOT_TABS, action="append",
                        help="measure only this tab (repeatable; all by default)")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as folder:
        window = MainWindow(Settings(QSettings(os.path.join(folder, "s.ini"),
                                               QSettings.IniFormat)))
        window.resize(1400, 900)
        window.show()
        window.open_file(examples_dir() / f"{args.example}.bpg")
        panel = window.training_panel
        panel.data_combo.setCurrentText("moons")
        panel._data_chosen()
        panel.n_spin.setValue(200)
        panel.noise_spin.setValue(0.1)
        app.processEvents()
        messages = progress_messages(window, args.example, args.steps)
        window.training_dock.raise_()  # as a run does when it starts
        window.document.set_locked(True)  # and the canvas shows the lock, as while training
        tabs = panel.plots.tabs
        profile = cProfile.Profile() if args.profile else None

        def cpu_ms(work) -> float:
            """CPU time of ``work`` and of the event loop's next 33 ms (a redraw interval), in
            which the painting it asked for happens (a window's update waits for a timer)."""
            start = time.process_time()
            work()
            loop = QEventLoop()
            QTimer.singleShot(33, loop.quit)
            loop.exec()
            return (time.process_time() - start) * 1000

        baseline = statistics.median(cpu_ms(lambda: None) for _ in range(30))
        figures = {}
        for title in args.tab or PLOT_TABS:
            tabs.setCurrentIndex(next(i for i in range(tabs.count())
                                      if tabs.tabText(i) == title))
            app.processEvents()
            panel.plots.clear()
            panel.plots.set_step_horizon(args.steps)  # as a run does: it says where it ends
            app.processEvents()
            assert panel.plots.tabs.currentWidget().isVisible(), f"the {title} tab is hidden"
            if profile is not None:
                profile.enable()
            figures[title] = [cpu_ms(lambda p=p: panel._show_progress(p)) for p in messages]
            if profile is not None:
                profile.disable()
        window.document.set_locked(False)
        window.undo_stack.setClean()
        window.close()
    print(f"redraw cost: {args.example}, {len(messages)} progress messages of a "
          f"{args.steps}-step run, window 1400x900, Qt platform {app.platformName()}")
    print(f"  baseline: events with nothing new      : {baseline:6.2f} ms")
    for title, samples in figures.items():
        print(f"  redraw with the {title + ' tab':<15} in view: median {statistics.median(samples):6.2f} "
              f"ms, mean {statistics.mean(samples):6.2f} ms   "
              f"{statistics.mean(samples) / max(baseline, 0.01):6.1f}x baseline")
    every = [s for samples in figures.values() for s in samples]
    mean = statistics.mean(every)
    print(f"  every redraw (all tabs)                : mean {mean:6.2f} ms   target <= "
          f"{TARGET_MS:.0f} ms   {'ok' if mean <= TARGET_MS else 'MISSED'}")
    if profile is not None:
        stats = pstats.Stats(profile).strip_dirs()
        print("\ntop costs by own time:")
        stats.sort_stats("tottime").print_stats(18)
        print("top costs by cumulative time:")
        stats.sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
