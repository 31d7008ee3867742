"""The training dock reads at the default window size and at 1280 x 720: every plot in view
keeps a data area at least 150 px tall, a run's start and end leave the tabs where they were,
and the toolbar fits."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QToolButton

from bpstudio.gui.main_window import examples_dir
from bpstudio.gui.plots import GRADIENTS_TAB, LOSS_TAB, PREDICTION_TAB

SIZES = [(1400, 860), (1280, 720)]
READABLE = 150  # px of data area


def plots_in_view(plots, key):
    plots.show_tab(key)
    QApplication.processEvents()
    return [p for p in plots._tab_plots[key] if not p.visibleRegion().isEmpty()]


@pytest.mark.parametrize("size", SIZES)
def test_every_plot_in_view_keeps_a_readable_data_area(qtbot, window, size):
    window.resize(*size)
    assert window.open_file(examples_dir() / "deep_sigmoid.bpg")
    panel = window.training_panel
    window.training_dock.raise_()
    panel.length_spin.setValue(30)
    qtbot.mouseClick(panel.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    for key in (LOSS_TAB, GRADIENTS_TAB, PREDICTION_TAB):
        shown = plots_in_view(panel.plots, key)
        assert shown, f"no plot in view on tab {key}"
        for plot in shown:
            assert plot.view_box.height() >= READABLE, (key, type(plot).__name__,
                                                        plot.view_box.height())


@pytest.mark.parametrize("size", SIZES)
def test_a_run_leaves_the_tabs_under_the_mouse_where_they_were(qtbot, window, size):
    window.resize(*size)
    assert window.open_file(examples_dir() / "two_moons.bpg")
    panel = window.training_panel
    window.training_dock.raise_()
    QApplication.processEvents()
    bar = panel.plots.tabs.tabBar()

    def where():
        QApplication.processEvents()
        return bar.mapTo(window, QPoint(0, 0))
    before = where()
    panel.length_spin.setValue(2000)
    qtbot.mouseClick(panel.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.worker is not None and panel.worker.steps_done > 5,
                    timeout=60_000)
    assert where() == before
    qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    assert where() == before
    assert panel.plots.current_tab == LOSS_TAB  # the run is in view


def test_the_toolbar_fits_at_1280_px_after_a_long_undo_text(qtbot, window):
    window.resize(1280, 720)
    assert window.open_file(examples_dir() / "xor.bpg")
    panel = window.training_panel
    panel.length_spin.setValue(20000)
    panel.step_button.click()
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    assert window.undo_stack.undoText() == "Train 1 step"
    QApplication.processEvents()
    extension = window.toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    assert extension is None or not extension.isVisible()
    texts = [window.toolbar.widgetForAction(a).text() for a in window.toolbar.actions()
             if not a.isSeparator()]
    assert "Undo" in texts
