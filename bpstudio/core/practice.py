"""Practice mode: the learner works out each node's gradient before the walkthrough shows it.

:func:`check_answer` reads what was typed and compares it with the engine's gradient (from a
:class:`~bpstudio.core.trace.Trace`) within a relative tolerance; :class:`Score` counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .trace import Trace
from .trace_text import explain, number, pick

# Within 1%: a learner rounds (0.667 for 2/3), but a wrong rule is off by far more.
REL_TOL = 0.01
# Answers near 0 (a ReLU that is off) are compared absolutely.
ABS_TOL = 1e-6

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Verdict:
    correct: bool
    message: str


@dataclass
class Score:
    right: int = 0
    tried: int = 0

    def add(self, correct: bool) -> None:
        self.tried += 1
        self.right += bool(correct)

    def __str__(self) -> str:
        return f"{self.right} of {self.tried} right"


def expected(trace: Trace, node_id: str, row: int | None = None) -> np.ndarray:
    """The gradient the learner is asked for at ``node_id`` (for sample ``row``)."""
    step = trace.backward_step(node_id)
    return np.asarray(pick(step.gradient, step.batched, row), dtype=np.float64)


def parse(text: str) -> list[float] | None:
    """The numbers in ``text`` (separated by spaces or commas), or None when there is anything
    else in it."""
    found = _NUMBER.findall(text)
    rest = _NUMBER.sub("", text).replace(",", " ").replace("[", " ").replace("]", " ")
    if not found or rest.strip():
        return None
    return [float(f) for f in found]


def check_answer(trace: Trace, node_id: str, text: str, row: int | None = None,
                 rel_tol: float = REL_TOL) -> Verdict:
    """Whether ``text`` gives the gradient at ``node_id``; a wrong answer is explained with the
    incoming gradient and the local derivative it comes from."""
    step = trace.backward_step(node_id)
    want = expected(trace, node_id, row)
    values = parse(text)
    tolerance = f"(accepted within {rel_tol:.0%} relative)"
    if values is None:
        return Verdict(False, f"Type a number, such as 0.25 or -1e-3 {tolerance}.")
    if len(values) != want.size:
        return Verdict(False, f"d {trace.output_name}/d {step.name} has {want.size} number"
                       + ("s" if want.size != 1 else "") + f" here; you typed {len(values)}.")
    got = np.asarray(values).reshape(want.shape)
    ok = bool(np.all(np.abs(got - want) <= rel_tol * np.abs(want) + ABS_TOL))
    if ok:
        return Verdict(True, f"Right: d {trace.output_name}/d {step.name} = "
                       f"{number(want)} {tolerance}.")
    return Verdict(False, f"Not quite ({text.strip()}). {explain(trace, node_id, row)}")


__all__ = ["ABS_TOL", "REL_TOL", "Score", "Verdict", "check_answer", "expected", "parse"]
