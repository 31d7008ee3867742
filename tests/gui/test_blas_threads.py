"""An open window keeps its process to one BLAS thread (see bpstudio/core/blas.py): its own
products are small, and an idle OpenBLAS thread spins on a core after each one."""

from __future__ import annotations

from threadpoolctl import threadpool_info, threadpool_limits

from bpstudio.core.blas import OneBlasThread
from bpstudio.gui import main_window
from bpstudio.gui.main_window import MainWindow


def blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_an_open_window_keeps_its_process_to_one_blas_thread(qtbot, dialogs, settings,
                                                             monkeypatch):
    monkeypatch.setattr(main_window, "one_blas_thread", OneBlasThread())  # (held by no one)
    with threadpool_limits(limits=2, user_api="blas"):
        assert blas_threads() == {2}
        first, second = MainWindow(settings), MainWindow(settings)
        for window in (first, second):
            qtbot.addWidget(window)
            window.show()
        assert blas_threads() == {1}
        first.close()
        assert blas_threads() == {1}  # the other is still open
        second.close()
        assert blas_threads() == {2}
