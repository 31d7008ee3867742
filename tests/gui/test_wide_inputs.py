"""Selecting an input with a very wide sample (an image's pixels) keeps the window responsive:
the inspector's table shows a page of columns at a time, whatever the width. Work is counted
(cells and header labels made), not timed."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTableWidget

from bpstudio import Graph
from bpstudio.core.graph import MAX_SAMPLE_SIZE
from bpstudio.gui import inspector as inspector_module


def wide_input(window, shape, rows):
    graph = Graph()
    x = graph.input("x", shape)
    width = int(np.prod(shape))
    if rows:
        graph.set_value(x.id, np.arange(rows * width, dtype=float).reshape(rows, *shape))
    window.set_graph(graph, path=None)
    window.scene.select_nodes([x.id])
    return window.inspector.findChild(QTableWidget, "sample"), width


@pytest.mark.parametrize("shape", [(20_000,), (30_000,), (1000, 1000), (3, 100, 100),
                                   (7, 11, 13, 17), (51,), (50,), (1,)])
def test_a_wide_sample_is_shown_a_page_of_columns_at_a_time(qtbot, window, shape):
    width = int(np.prod(shape))
    rows = min(3, MAX_SAMPLE_SIZE // width)
    table, width = wide_input(window, shape, rows)
    page = inspector_module.SAMPLE_PAGE_COLUMNS
    assert table.columnCount() == min(width, page) and table.rowCount() == rows
    last = np.unravel_index(min(width, page) - 1, shape)
    assert table.horizontalHeaderItem(table.columnCount() - 1).text() == \
        f"x[{', '.join(str(int(i)) for i in last)}]"
    label = window.inspector.findChild(QLabel, "sample columns")
    assert label.isVisibleTo(window.inspector) == (width > page)
    if width > page:
        assert label.text() == f"columns 1–{page} of {width:,}"
        qtbot.mouseClick(window.inspector.next_columns_button, Qt.LeftButton)
        assert label.text() == f"columns {page + 1}–{min(2 * page, width)} of {width:,}"
        assert table.columnCount() == min(width - page, page)
        first = np.unravel_index(page, shape)
        assert table.horizontalHeaderItem(0).text() == \
            f"x[{', '.join(str(int(i)) for i in first)}]"
        if rows:
            assert table.item(rows - 1, 0).text() == f"{(rows - 1) * width + page:.6g}"
            c = table.columnCount() - 1
            table.item(0, c).setText("-7.5")  # an edit on the second page
            flat = window.graph.node("x").value.reshape(rows, -1)
            assert flat[0, page + c] == -7.5
            assert np.count_nonzero(flat != np.arange(rows * width).reshape(rows, -1)) == 1
        qtbot.mouseClick(window.inspector.previous_columns_button, Qt.LeftButton)
        assert label.text() == f"columns 1–{page} of {width:,}"
        assert not window.inspector.previous_columns_button.isEnabled()


def test_a_bad_cell_on_a_later_page_names_its_own_column(qtbot, window):
    table, width = wide_input(window, (20_000,), 2)
    for _ in range(3):
        qtbot.mouseClick(window.inspector.next_columns_button, Qt.LeftButton)
    table.item(1, 4).setText("abc")
    error = window.inspector.findChild(QLabel, "error")
    page = inspector_module.SAMPLE_PAGE_COLUMNS
    assert f"row 2, column {3 * page + 5}" in error.text()
