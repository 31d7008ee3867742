"""The Qt binding must not leak references to None through Python overrides of Qt virtuals.

PySide6 6.12.0 drops one reference to None each time Qt calls a Python override (paint,
event handlers, QUndoCommand.redo/undo, ...). On Python 3.11, where None is reference counted,
an editing session then aborts the interpreter ("deallocating None") once the count runs out.
pyproject.toml excludes that release; this test fails if a broken binding is installed.
"""

from __future__ import annotations

import sys

from PySide6.QtGui import QUndoCommand, QUndoStack


class _Noop(QUndoCommand):
    def redo(self) -> None:
        pass

    def undo(self) -> None:
        pass


def test_overrides_called_by_qt_keep_none_alive(qapp):
    stack = QUndoStack()
    stack.push(_Noop())
    before = sys.getrefcount(None)
    for _ in range(2000):
        stack.undo()
        stack.redo()
    lost = before - sys.getrefcount(None)
    assert lost < 100, (f"the Qt binding lost {lost} references to None in 4000 calls: "
                        "install a PySide6-Essentials release other than 6.12.0")
