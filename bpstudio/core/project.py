"""A project: the graph plus everything saved beside it in a project file.

``training`` holds plain JSON-able settings (optimiser, learning rate, batch size, seed, the data
set and how inputs bind to its columns, standardisation statistics). ``optimizer_state`` and
``history`` are trees of dicts whose leaves are numbers, strings or NumPy arrays (optimiser slots,
per-step statistics), so that a reopened project resumes training exactly and shows its curves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from . import rules
from .compare import project_differences
from .errors import GraphError
from .graph import Graph
from .sample import sample_feeds
from .svg import render_svg


@dataclass(frozen=True)
class TrainingState:
    """What a project keeps beside its graph for training: its settings (data, optimiser,
    bindings, standardisation), the optimiser's state and the history of the steps so far.
    Replaced whole (a run, its undo, Reset Weights), never edited in place."""

    training: dict[str, Any] = field(default_factory=dict)
    optimizer_state: dict[str, Any] | None = None
    history: dict[str, Any] | None = None

    @property
    def steps(self) -> int:
        """How many steps the project has been trained for (0 for an untrained one)."""
        progress = self.training.get("progress")
        return int(progress.get("step", 0)) if isinstance(progress, dict) else 0


@dataclass
class Project:
    graph: Graph
    description: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    optimizer_state: dict[str, Any] | None = None
    history: dict[str, Any] | None = None

    @property
    def sample(self) -> dict[str, np.ndarray]:
        """Input name -> the rows kept to run the graph on by hand (``Engine.forward(sample)``).
        The rows live on the input nodes; assigning a dict sets them (None clears one)."""
        return sample_feeds(self.graph)

    @sample.setter
    def sample(self, rows: Mapping[str, Any]) -> None:
        nodes = [self.graph.node(name) for name in rows]
        for node, value in zip(nodes, rows.values()):  # all checked before any is set
            if node.spec.source != "input":
                raise GraphError(f"{node.label} is not an input: a sample holds rows for inputs")
            problem = None if value is None else self.graph.value_problem(node, value)
            if problem:
                raise GraphError(problem)
        for node, value in zip(nodes, rows.values()):
            self.graph.set_value(node, value)

    @property
    def training_state(self) -> TrainingState:
        return TrainingState(dict(self.training or {}), self.optimizer_state, self.history)

    @training_state.setter
    def training_state(self, state: TrainingState) -> None:
        self.training = dict(state.training or {})
        self.optimizer_state, self.history = state.optimizer_state, state.history

    @property
    def is_trained(self) -> bool:
        return bool(self.history)

    def __eq__(self, other: object) -> bool:
        """Equal in content: same graph (ids, ops, names, parameters, positions, edges, values
        bit for bit), description, training settings, optimiser state and history."""
        if not isinstance(other, Project):
            return NotImplemented
        return not project_differences(self, other)

    __hash__ = None  # mutable content

    def _repr_svg_(self) -> str:
        """The project's graph as the canvas draws it (Jupyter shows this)."""
        return render_svg(self.graph)

    def __setattr__(self, key: str, value: Any) -> None:
        # The description is checked like every edit of the graph: one a file could not hold
        # is refused here, before a save would write it over the person's file.
        if key == "description":
            rules.check(rules.description_problem(value))
        super().__setattr__(key, value)
