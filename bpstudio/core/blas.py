"""This process's BLAS threads, kept to one while anyone asks: a training child computes with
the other cores (``training.background.child_blas_threads``), and a window does only small
products of its own.

Why it matters: OpenBLAS's idle threads wait for the next product by spinning, about 0.1 s
after each one. A window's few small products (a smoothed curve, the gradient norms per layer,
a rerun after an edit) kept a second thread spinning all along: on deep_sigmoid's Gradients tab
during a run the window took 26 ms of CPU per redraw instead of 12, on the training child's
core (``benchmarks/gui_training.py --still``), and 28 ms instead of 8 replayed without a run
(``benchmarks/redraw_cost.py``, which counts every thread of the process).

Holders are counted: the pool is kept to one thread from the first :meth:`OneBlasThread.hold`
until every hold has been released, then given back the size it had. Each hold is let go of
by its own :meth:`BlasHold.release`, once however often it is called.
"""

from __future__ import annotations

import threading
from typing import Any


class BlasHold:
    """One holder's share of :class:`OneBlasThread`'s limit."""

    def __init__(self, pool: OneBlasThread) -> None:
        self._pool: OneBlasThread | None = pool

    def release(self) -> None:
        """Let go of this hold (again: nothing more)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool._let_go()


class OneBlasThread:
    """One BLAS thread while held (see the module's text)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._limit: Any = None

    def hold(self) -> BlasHold:
        with self._lock:
            self._holders += 1
            if self._holders == 1:
                # (imported here, as the exports import onnx: the kernel needs only NumPy)
                from threadpoolctl import threadpool_limits

                self._limit = threadpool_limits(limits=1, user_api="blas")
        return BlasHold(self)

    def _let_go(self) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0:
                self._limit.restore_original_limits()
                self._limit = None


one_blas_thread = OneBlasThread()
