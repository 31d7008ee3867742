"""Real rows for running a graph by hand: once a project has training data, Forward, Backward,
the walkthrough, the gradient check and the handout run on rows of it, as training sees them
(split, standardised, bound to the inputs as the trainer binds them), and say which
("rows 1-8 of moons, training split"). A row picker chooses others by index. A graph without
data keeps its sample, which the label then calls random where it is the default draw."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .datasets import DataError, TrainingData
from .interface import feature_input, training_data
from .trainer import _feed_arrays, bind_inputs
from ..graph import NodeRef
from ..project import Project
from ..sample import SampleRows, sample_rows

TRAINING, VALIDATION = "training", "validation"
DEFAULT_COUNT = 8


def _span(indices: Sequence[int]) -> str:
    """1-based row numbers in words: "1-8", "3, 7 and 12", "5-9, 20"."""
    runs: list[list[int]] = []
    for i in (int(k) + 1 for k in indices):
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def training_rows(project: Project, indices: Sequence[int] | None = None,
                  count: int = DEFAULT_COUNT, split: str = TRAINING,
                  data: TrainingData | None = None) -> SampleRows:
    """Rows ``indices`` (0-based within the split; by default the first ``count``) of the
    project's training (or validation) rows, as feeds for every input its loss reads: features
    standardised as training sees them, targets as the trainer feeds them. DataError for a
    project without data or an index outside the split."""
    data = training_data(project) if data is None else data
    if data is None:
        raise DataError("the project has no training data: choose a data set to run on its rows")
    if split not in (TRAINING, VALIDATION):
        raise DataError(f"the split is '{TRAINING}' or '{VALIDATION}', not {split!r}")
    rows = data.train if split == TRAINING else data.validation
    if rows is None or len(rows) == 0:
        raise DataError(f"the project's data has no {split} rows")
    n = len(rows)
    if indices is None:
        indices = range(min(int(count), n))
    chosen = np.asarray(list(indices), dtype=np.int64)
    if chosen.size == 0:
        raise DataError("choose at least one row")
    outside = chosen[(chosen < 0) | (chosen >= n)]
    if outside.size:
        raise DataError(f"row {int(outside[0]) + 1} is outside the {split} split's {n} rows "
                        f"(1-{n})")
    graph = project.graph
    _features, loss = feature_input(project)
    inputs = [node for node in graph.topological_order([loss]) if node.spec.source == "input"]
    bindings = bind_inputs(graph, inputs, loss, (project.training or {}).get("bindings"))
    feeds = _feed_arrays(rows.subset(chosen), inputs, bindings)
    label = f"row{'s' if chosen.size != 1 else ''} {_span(chosen)} of {rows.name}, {split} split"
    return SampleRows(feeds, label, random=False, indices=tuple(int(i) for i in chosen),
                      total=n, standardised=data.standardizer is not None)


def rows_to_run(project: Project, indices: Sequence[int] | None = None,
                count: int = DEFAULT_COUNT, split: str = TRAINING,
                output: NodeRef | None = None) -> SampleRows:
    """What Forward, Backward, the walkthrough, the gradient check and the handout run on:
    real rows for a project with training data (see :func:`training_rows`), else the graph's
    own sample (see :func:`~bpstudio.core.sample.sample_rows`)."""
    data = training_data(project)
    if data is None:
        return sample_rows(project.graph, output)
    return training_rows(project, indices, count, split, data)


__all__ = ["DEFAULT_COUNT", "TRAINING", "VALIDATION", "rows_to_run", "training_rows"]
