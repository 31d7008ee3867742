"""Start-up time: from launching ``bpstudio`` to its main window shown and responsive.

    python benchmarks/startup.py [--runs 7] [--imports 15]

Each run is a new process (``python -m bpstudio.gui``-style, through bpstudio.gui.app.main)
whose environment carries the launch time in BPSTUDIO_STARTUP_T0: the app prints the seconds
from then to the first idle turn of its event loop after the window is shown, and quits. The
median of the runs is the figure (target 0.8 s). Settings and state go to a temporary folder,
never the user's. Then ``python -X importtime`` gives the import time of each top-level module
(bpstudio: each subpackage) that starting the app imports, largest first.

Without a display the runs use Qt's offscreen platform, which skips the window system's work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

LAUNCH = "import sys; from bpstudio.gui.app import main; sys.exit(main(['bpstudio']))"


def environment(folder: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen" if not env.get("DISPLAY") else "xcb")
    # Qt's settings and data folders on Linux: a run must not touch (or read) the user's.
    env["XDG_CONFIG_HOME"] = os.path.join(folder, "config")
    env["XDG_DATA_HOME"] = os.path.join(folder, "data")
    return env


def one_run(env: dict[str, str]) -> float:
    env = dict(env, BPSTUDIO_STARTUP_T0=repr(time.time()))
    out = subprocess.run([sys.executable, "-c", LAUNCH], env=env, capture_output=True,
                         text=True, timeout=120)
    for line in out.stdout.splitlines():
        if line.startswith("startup "):
            return float(line.split()[1])
    raise RuntimeError(f"no startup time printed:\n{out.stdout}\n{out.stderr}")


def import_times(env: dict[str, str]) -> list[tuple[float, str]]:
    """(seconds, package) for each top-level package that importing the app loads, the self
    times of all its modules added up (bpstudio is split by subpackage), largest first."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import bpstudio.gui.app"],
                         env=env, capture_output=True, text=True, timeout=120)
    totals: dict[str, float] = {}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, _cumulative, name = line[len("import time:"):].split("|")
        parts = name.strip().split(".")
        key = ".".join(parts[:3] if parts[0] == "bpstudio" else parts[:1])
        totals[key] = totals.get(key, 0.0) + int(own) / 1e6
    return sorted(((t, k) for k, t in totals.items()), reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--imports", type=int, default=15, help="how many modules to list")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = environment(folder)
        print(f"platform {env['QT_QPA_PLATFORM']}, python {sys.version.split()[0]}")
        times = [one_run(env) for _ in range(args.runs)]
        print("runs (s): " + " ".join(f"{t:.3f}" for t in times))
        print(f"median to a shown, responsive window: {statistics.median(times):.3f} s "
              "(target 0.8 s)")
        rows = import_times(env)
        print(f"import bpstudio.gui.app: {sum(t for t, _ in rows):.3f} s in all; by top-level "
              "package (bpstudio by subpackage):")
        for seconds, name in rows[:args.imports]:
            print(f"  {seconds:7.3f} s  {name}")


if __name__ == "__main__":
    main()
