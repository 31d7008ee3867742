"""Projects trained a few steps in the core and saved, for the window to open: two_moons on the
moons data, and two_moons on a CSV file of moons in odd units (which a test may then delete)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bpstudio.core.examples import EXAMPLES
from bpstudio.core.files.fileformat import save
from bpstudio.core.training import datasets
from bpstudio.core.training.trainer import Trainer

STEPS = 40


def train_and_save(source: str, path: Path, steps: int = STEPS) -> Path:
    project = EXAMPLES["two_moons"]()
    trainer = Trainer(project.graph, datasets.prepare(source), optimizer="adam", lr=0.02)
    trainer.fit(steps=steps)
    save(trainer.to_project(project.description), path)
    return path


def write_moons_csv(path: Path) -> Path:
    """Two moons, one column near 200 and one near -40, classes named in words."""
    moons = datasets.by_name("moons", n=120)
    x = moons.features * [30.0, 5.0] + [200.0, -40.0]
    names = np.array(["blue", "red"])[moons.targets.astype(int)]
    lines = ["width,depth,colour"] + [f"{a:.17g},{b:.17g},{c}" for (a, b), c in zip(x, names)]
    path.write_text("\n".join(lines) + "\n")
    return path


def raw_moons_rows() -> np.ndarray:
    """The training rows of the moons data as they come, before standardisation."""
    return datasets.prepare("moons", standardize=False).train.features
