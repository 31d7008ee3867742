"""Holding Python's cyclic garbage collector off while a large project is built.

Building a graph of tens of thousands of nodes (reading its file, laying it out, making its
canvas items) makes millions of objects that all stay alive. The collector runs a pass each
time enough new objects have been made, and now and then a full pass over every object alive,
so it goes over the objects already built again and again: a good part of the time a large
file took to open. Nothing built then is garbage, so holding it off loses nothing; it runs as
usual once the work is done.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the body with the cyclic garbage collector off (nested uses keep it off until the
    outermost one ends; one entered with the collector already off leaves it off)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
