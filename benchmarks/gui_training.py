"""Training in the real main window (offscreen, every plot live) against the headless Trainer
on the same graph and data, measured in the same run.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_training.py [--scale K]

For two_moons (20,000 steps) and deep_sigmoid (5,000 steps) on the moons data, K times as many
with --scale, it prints:
- throughput: steps per second in the window, from pressing Train to the weights being back in
  the document, against headless (target >= 80%);
- the longest stall of the GUI event loop while training, from a QTimer probe firing every
  5 ms: the largest gap between two probes beyond the 5 ms asked for (target <= 50 ms);
- plot redraws per second (target >= 20, whatever the step rate).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bpstudio.core.examples import EXAMPLES  # noqa: E402
from bpstudio.core.training import background, datasets  # noqa: E402
from bpstudio.core.training.trainer import Trainer  # noqa: E402
from bpstudio.gui.main_window import MainWindow, examples_dir  # noqa: E402
from bpstudio.gui.settings import Settings  # noqa: E402

PROBE_MS = 5
TARGETS = {"throughput": 0.80, "stall_ms": 50.0, "redraws": 20.0}


def headless(stem: str, steps: int) -> float:
    project = EXAMPLES[stem]()
    data = datasets.prepare("moons", options={"n": 200, "noise": 0.1, "seed": 0}, seed=0)
    trainer = Trainer.from_project(project, data=data, optimizer="adam", lr=0.01, batch_size=32,
                                   seed=0)
    start = time.perf_counter()
    trainer.fit(steps=steps)
    return steps / (time.perf_counter() - start)


def in_window(app: QApplication, stem: str, steps: int, folder: Path) -> dict[str, float]:
    window = MainWindow(Settings(QSettings(str(folder / "settings.ini"), QSettings.IniFormat)))
    window.resize(1400, 900)
    window.show()
    window.open_file(examples_dir() / f"{stem}.bpg")
    background.warm_up()  # as the window does at start, off its thread
    time.sleep(1.0)
    panel = window.training_panel
    panel.data_combo.setCurrentText("moons")
    panel._data_chosen()
    panel.n_spin.setValue(200)
    panel.noise_spin.setValue(0.1)
    panel.length_spin.setValue(steps)
    panel.unit_combo.setCurrentText("steps")
    gaps, moments = [], []
    clock = QElapsedTimer()
    probe = QTimer()
    probe.setInterval(PROBE_MS)

    def tick() -> None:
        gaps.append(clock.restart())
        moments.append(time.perf_counter())
    probe.timeout.connect(tick)
    redraws_before = panel.redraws
    panel.run_button.click()
    worker = panel.worker
    clock.start()
    probe.start()
    started = time.perf_counter()
    loop = QEventLoop()
    watch = QTimer()
    watch.setInterval(20)
    watch.timeout.connect(lambda: None if panel.running else loop.quit())
    watch.start()
    loop.exec()  # the real event loop, as in the app
    watch.stop()
    seconds = time.perf_counter() - started
    probe.stop()
    redraws = panel.redraws - redraws_before
    window.undo_stack.setClean()
    window.close()
    return {"steps_per_second": worker.steps_done / seconds,
            "stall_ms": max(gaps[1:], default=0) - PROBE_MS,
            "redraws_per_second": redraws / seconds, "seconds": seconds,
            "stall_at": (moments[max(range(1, len(gaps)), key=gaps.__getitem__)] - started)
            / seconds if len(gaps) > 1 else 0.0}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv)
    import tempfile
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for stem, steps in (("two_moons", 20_000), ("deep_sigmoid", 5_000)):
            steps = max(1, round(steps * args.scale))
            base = headless(stem, steps)
            gui = in_window(app, stem, steps, Path(tmp))
            ratio = gui["steps_per_second"] / base
            checks = [ratio >= TARGETS["throughput"], gui["stall_ms"] <= TARGETS["stall_ms"],
                      gui["redraws_per_second"] >= TARGETS["redraws"]]
            ok &= all(checks)
            print(f"{stem}: headless {base:,.0f} steps/s; window {gui['steps_per_second']:,.0f} "
                  f"steps/s = {ratio:.0%} of headless (target >= 80%); longest event-loop stall "
                  f"{gui['stall_ms']:.0f} ms at {gui['stall_at']:.0%} of the run (target <= 50); plot redraws "
                  f"{gui['redraws_per_second']:.1f}/s (target >= 20); {steps} steps in "
                  f"{gui['seconds']:.1f} s")
    print("all targets met" if ok else "some targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
