"""Controls shown above the plots."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

SMOOTHING_STEPS = 100      # the slider's positions: weight = position / SMOOTHING_STEPS
DEFAULT_SMOOTHING = 0.6    # per-batch statistics are noisy; this much still follows every trend


class SmoothingControl(QWidget):
    """A "Smoothing" slider from 0 (raw values) to 0.99, the weight of an exponential moving
    average. ``changed`` is emitted when a person moves it, not when :meth:`set_weight` does."""

    changed = Signal(float)

    def __init__(self, weight: float = DEFAULT_SMOOTHING, parent: QWidget | None = None):
        super().__init__(parent)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, SMOOTHING_STEPS - 1)
        self.slider.setToolTip("Exponential moving average of the training curves; 0 shows "
                               "the raw values")
        self.value_label = QLabel()
        self.value_label.setMinimumWidth(30)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Smoothing"))
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.value_label)
        self._weight = -1.0
        self.set_weight(weight)
        self.slider.valueChanged.connect(self._moved)

    @property
    def weight(self) -> float:
        return self._weight

    def set_weight(self, weight: float) -> None:
        weight = float(weight)
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), not {weight}")
        self._weight = weight
        self.slider.blockSignals(True)
        self.slider.setValue(round(weight * SMOOTHING_STEPS))
        self.slider.blockSignals(False)
        self.value_label.setText(f"{weight:.2f}")

    def _moved(self, position: int) -> None:
        self._weight = position / SMOOTHING_STEPS
        self.value_label.setText(f"{self._weight:.2f}")
        self.changed.emit(self._weight)
