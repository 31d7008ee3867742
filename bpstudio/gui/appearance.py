"""Light and dark: the app follows the system's colour scheme unless View > Appearance says
Light or Dark. The canvas and the plots switch with the widgets' palette."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from .canvas import theme
from .plots import style

MODES = ("system", "light", "dark")
# Set by install(): only the app itself restyles the whole application; a window made in the
# tests changes just its canvas and plots.
_app: QApplication | None = None
_dark_style: Callable[[QApplication], None] | None = None  # app.style_application
_mode = "system"


def resolve(mode: str, scheme: Qt.ColorScheme | None = None) -> bool:
    """Whether ``mode`` means dark. "system" asks the platform; one that does not say gets
    the dark look the app has always had."""
    if mode in ("light", "dark"):
        return mode == "dark"
    if scheme is None:
        scheme = QGuiApplication.styleHints().colorScheme()
    return scheme != Qt.ColorScheme.Light


def light_palette() -> QPalette:
    p = QPalette()
    text = QColor("#1f2328")
    for role, colour in ((QPalette.Window, "#eef0f3"), (QPalette.Base, "#ffffff"),
                         (QPalette.AlternateBase, "#f5f6f8"), (QPalette.ToolTipBase, "#ffffff"),
                         (QPalette.PlaceholderText, "#8a909c"), (QPalette.Button, "#e4e7ec"),
                         (QPalette.BrightText, "#c62828"), (QPalette.Link, "#0a6cc2"),
                         (QPalette.Highlight, "#3a6ea5"), (QPalette.HighlightedText, "#ffffff"),
                         (QPalette.Mid, "#c4c8cf"), (QPalette.Dark, "#a0a5ae")):
        p.setColor(role, QColor(colour))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText, QPalette.ToolTipText):
        p.setColor(role, text)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, QColor("#9aa0a9"))
    return p


LIGHT_STYLE_SHEET = (
    "QToolTip { color: #1f2328; background: #ffffff; border: 1px solid #c4c8cf; }"
    "QDockWidget::title { padding: 6px; background: #e2e5ea; }"
    "QToolBar { border: none; spacing: 4px; }")


def _style_application(app: QApplication, dark: bool) -> None:
    if dark:
        if _dark_style is not None:
            _dark_style(app)
    else:
        app.setStyle("Fusion")
        app.setPalette(light_palette())
        app.setStyleSheet(LIGHT_STYLE_SHEET)


def apply(mode: str) -> bool:
    """Use ``mode`` ("system", "light" or "dark") everywhere; True when that is dark."""
    global _mode
    _mode = mode if mode in MODES else "system"
    dark = resolve(_mode)
    before = style.drawing_colours()
    theme.set_dark(dark)
    style.set_dark(dark)
    style.remember_switch(before)
    if _app is not None:
        _style_application(_app, dark)
    for widget in QApplication.topLevelWidgets():
        refresh = getattr(widget, "refresh_appearance", None)
        if callable(refresh):
            refresh()
    return dark


def mode() -> str:
    return _mode


def install(app: QApplication, initial: str,
            dark_style: Callable[[QApplication], None]) -> None:
    """Let the appearance restyle ``app`` (``dark_style`` gives it the dark look) and follow
    the system's changes of scheme."""
    global _app, _dark_style
    _app, _dark_style = app, dark_style
    app.styleHints().colorSchemeChanged.connect(
        lambda _scheme: apply(_mode) if _mode == "system" else None)
    apply(initial)
