"""What the live prediction picture costs a background run: steps trained in SECONDS by a
BackgroundRun on a 2-W-W-1 net (moons, BCE) with the picture (80x80 every 0.5 s, as the
training dock asks) against the same run without it, in the same session. The picture is
paced to at most a tenth of the child's time, so the ratio should stay near 0.9 or above
whatever the net's size; before that pacing, a 2-2000-2000-1 net trained 10-12 steps in 12 s
with it against 162-170 without.

    PYTHONPATH=. python benchmarks/live_picture.py [--width 2000] [--seconds 12]
"""

from __future__ import annotations

import argparse
import time

from bpstudio import Graph
from bpstudio.core.project import Project
from bpstudio.core.training import datasets
from bpstudio.core.training.background import BackgroundRun


def net(width: int) -> Graph:
    g = Graph(seed=0)
    h = g.input("x", (2,))
    t = g.input("t", (1,))
    h = g.dense(h, 2, width, "h1", activation="tanh")
    h = g.dense(h, width, width, "h2", activation="tanh")
    out = g.dense(h, width, 1, "out")
    g.apply("bce_logits", out, t, name="loss")
    return g


def steps_in(seconds: float, width: int, picture: bool) -> tuple[int, int]:
    data = datasets.prepare("moons", seed=0)
    run = BackgroundRun(Project(net(width)), data, {"optimizer": "adam", "lr": 0.001}, 10**9,
                        prediction_interval=0.5 if picture else None)
    run.start()
    pictures = 0
    while run.steps_done < 1:  # (the child's start is not the training's cost)
        run.poll()
        time.sleep(0.01)
    first = run.steps_done
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        progress = run.take_progress()
        if progress is not None and progress.prediction is not None:
            pictures += 1
        time.sleep(1 / 30)
    done = run.steps_done - first
    run.stop()
    run.wait(60) or run.kill()
    return done, pictures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=12.0)
    args = parser.parse_args()
    plain, _ = steps_in(args.seconds, args.width, picture=False)
    live, pictures = steps_in(args.seconds, args.width, picture=True)
    print(f"2-{args.width}-{args.width}-1, {args.seconds:g} s: {plain} steps without the picture, "
          f"{live} with it ({pictures} pictures shown): ratio {live / max(plain, 1):.2f}")


if __name__ == "__main__":
    main()
