"""Counting work instead of timing it: every Python function call and every call into C
(list.append, set.add, a NumPy function, a Qt method...) made while some code runs. The count
does not depend on the machine or on its load, so a test can compare the work done for two
sizes, or for two orders of the same data, with no flaky timings."""

from __future__ import annotations

import sys
from typing import Any, Callable


def calls(work: Callable[[], Any]) -> int:
    """How many calls ``work()`` makes (Python and C), counted with a profile hook."""
    count = 0

    def tally(frame, event, arg):
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    previous = sys.getprofile()
    sys.setprofile(tally)
    try:
        work()
    finally:
        sys.setprofile(previous)
    return count
