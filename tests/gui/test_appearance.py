"""Light and dark: View > Appearance switches the canvas and the plots, and is remembered;
"System" follows the platform's colour scheme."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QLabel

from bpstudio.gui import appearance
from bpstudio.gui.canvas import theme
from bpstudio.gui.main_window import MainWindow
from bpstudio.gui.plots import style
from bpstudio.gui.settings import Settings


@pytest.fixture(autouse=True)
def back_to_dark():
    yield
    appearance.apply("dark")  # the colours are the process's: leave them as other tests expect
    appearance._mode = "system"


def appearance_entry(window, text: str):
    view = [a.menu() for a in window.menuBar().actions() if a.text() == "&View"][0]
    sub = [a.menu() for a in view.actions() if a.text() == "A&ppearance"][0]
    return [a for a in sub.actions() if a.text().replace("&", "") == text][0]


def canvas_pixel(window):
    """The colour of an empty spot of the canvas, as drawn on screen."""
    window.view.viewport().repaint()
    image = window.view.viewport().grab().toImage()
    return image.pixelColor(QPoint(5, image.height() - 5))


def plot_background(window):
    plot = window.training_panel.findChildren(pg.PlotWidget)[0]
    return plot.backgroundBrush().color()


def test_view_appearance_switches_the_canvas_and_plots_and_is_remembered(window, qtbot):
    assert canvas_pixel(window).lightness() < 80
    assert plot_background(window).lightness() < 80
    appearance_entry(window, "Light").trigger()
    assert appearance_entry(window, "Light").isChecked()
    assert canvas_pixel(window).lightness() > 200
    assert plot_background(window).lightness() > 200
    axis = window.training_panel.findChildren(pg.PlotWidget)[0].getPlotItem().getAxis("left")
    assert axis.textPen().color().lightness() < 100  # dark text on the light plot
    assert window.settings.appearance() == "light"
    hint = [w for w in window.inspector.findChildren(QLabel) if w.isVisibleTo(window.inspector)
            and "color:" in w.styleSheet()][0]  # "nothing selected", in the dim text colour
    assert theme.NODE_DIM_TEXT.name() in hint.styleSheet()
    assert theme.NODE_DIM_TEXT.name() == theme.LIGHT["NODE_DIM_TEXT"]
    # A new window (the next start) takes the choice.
    again = MainWindow(Settings(QSettings(window.settings.store.fileName(),
                                          QSettings.IniFormat)))
    qtbot.addWidget(again)
    assert appearance_entry(again, "Light").isChecked() and not theme.is_dark()
    appearance_entry(window, "Dark").trigger()
    assert canvas_pixel(window).lightness() < 80
    assert plot_background(window).lightness() < 80
    assert window.settings.appearance() == "dark"


def test_system_follows_the_platform_scheme():
    assert appearance.resolve("system", Qt.ColorScheme.Light) is False
    assert appearance.resolve("system", Qt.ColorScheme.Dark) is True
    assert appearance.resolve("system", Qt.ColorScheme.Unknown) is True  # the app's own look
    assert appearance.resolve("light", Qt.ColorScheme.Dark) is False
    assert appearance.resolve("dark", Qt.ColorScheme.Light) is True


def test_the_light_look_keeps_text_readable_on_its_backgrounds():
    appearance.apply("light")
    assert theme.BACKGROUND.lightness() > 200 and theme.NODE_BODY.lightness() > 200
    for colour in (theme.NODE_TEXT, style.TEXT, style.TITLE_TEXT, style.MODEL):
        assert colour.lightness() < 110, colour.name()
    appearance.apply("dark")
    assert theme.BACKGROUND.name() == "#1d1f24" and style.TITLE_TEXT.lightness() > 150


def test_the_app_itself_turns_light_when_installed(qapp, monkeypatch):
    from PySide6.QtGui import QPalette

    palette, sheet = qapp.palette(), qapp.styleSheet()
    from bpstudio.gui.app import style_application

    monkeypatch.setattr(appearance, "_app", qapp)
    monkeypatch.setattr(appearance, "_dark_style", style_application)
    try:
        appearance.apply("light")
        assert qapp.palette().color(QPalette.Window).lightness() > 200
        assert qapp.palette().color(QPalette.WindowText).lightness() < 80
        appearance.apply("dark")
        assert qapp.palette().color(QPalette.Window).lightness() < 80
    finally:
        qapp.setPalette(palette)
        qapp.setStyleSheet(sheet)


def test_curves_wires_and_shared_pens_made_before_a_switch_take_the_new_colours(window, qtbot):
    from PySide6.QtGui import QColor

    from bpstudio.gui.canvas.paint import PENS
    from bpstudio.gui.main_window import examples_dir

    assert window.open_file(examples_dir() / "single_neuron.bpg")
    window.actions.backward.trigger()
    edge = next(iter(window.scene.edge_items.values()))  # plain colour: no wire colouring
    loss = window.training_panel.plots.loss_plot
    dark_train = loss.train_curve.opts["pen"].color().name()
    validation = loss.validation_curve.opts["symbolBrush"]
    dark_validation = pg.mkBrush(validation).color().name()
    appearance_entry(window, "Light").trigger()
    wire = QColor(theme.LIGHT["WIRE_COLOUR"]).name()
    assert PENS.wire.color().name() == wire and edge.colour.name() == wire
    assert edge._pen.color().name() == wire
    new_train = pg.mkPen(loss.train_curve.opts["pen"]).color().name()
    assert new_train == style.TRAIN.name() != dark_train
    new_validation = pg.mkBrush(loss.validation_curve.opts["symbolBrush"]).color().name()
    assert new_validation == style.VALIDATION.name() != dark_validation
    for _sample, label in loss.legend.items:  # the legend's words as drawn, not only its box
        assert f"color:{style.TEXT.name()}" in label.item.toHtml()
    appearance_entry(window, "Dark").trigger()
    assert pg.mkPen(loss.train_curve.opts["pen"]).color().name() == dark_train
