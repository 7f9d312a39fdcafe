"""One slider per latent dimension, labelled with its validation Var(mu); inactive ones greyed."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

SLIDER_RANGE = 3.0
STEPS_PER_UNIT = 100
INACTIVE_VARIANCE = 0.01
"""Dimensions whose validation Var(mu_d) is below this carry (almost) no information."""

_INACTIVE_STYLE = "color: #8a8f98;"


class LatentSliders(QGroupBox):
    """Edits a latent code one dimension at a time.

    ``codeChanged(code)`` fires on every slider move (so a drag streams codes). ``set_code``
    changes the code silently; with ``origin=True`` it also becomes the code that "Reset to
    encoded shape" returns to. The radio button of a row selects the dimension to traverse.
    """

    codeChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Latent code", parent)
        self._code = np.zeros(0)
        self._origin = np.zeros(0)
        self.sliders: list[QSlider] = []
        self._values: list[QLabel] = []
        self._variances: list[QLabel] = []
        self._selection = QButtonGroup(self)
        self._rows = QWidget()
        self._grid = QGridLayout(self._rows)
        self._grid.setColumnStretch(1, 1)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(self._rows)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.reset_zero = QPushButton("Reset to zero")
        self.reset_origin = QPushButton("Reset to encoded shape")
        self.reset_origin.setToolTip("Back to the code of the shape last loaded from the gallery, "
                                     "the validation set or a sequence")
        buttons = QHBoxLayout()
        buttons.addWidget(self.reset_zero)
        buttons.addWidget(self.reset_origin)
        self.legend = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.legend)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)

        self.reset_zero.clicked.connect(lambda: self._reset(np.zeros_like(self._code)))
        self.reset_origin.clicked.connect(lambda: self._reset(self._origin))

    @property
    def latent_dim(self) -> int:
        return len(self.sliders)

    def code(self) -> np.ndarray:
        return self._code.copy()

    def selected_dim(self) -> int:
        return max(self._selection.checkedId(), 0)

    def set_dimensions(self, variances: np.ndarray) -> None:
        """One row per dimension, labelled with Var(mu_d) (NaN: unknown). Keeps the code when
        the number of dimensions is unchanged, else starts at zero."""
        variances = np.asarray(variances, dtype=np.float64)
        if len(variances) != self.latent_dim:
            self._build_rows(len(variances))
            self._code = np.zeros(len(variances))
            self._origin = self._code.copy()
        inactive = 0
        for dim, variance in enumerate(variances):
            is_inactive = bool(variance < INACTIVE_VARIANCE)
            inactive += is_inactive
            text = "Var ?" if np.isnan(variance) else f"Var {variance:.3f}"
            self._variances[dim].setText(text + (" inactive" if is_inactive else ""))
            tip = (f"Validation Var(mu_{dim}): {text[4:]}. Dimensions below {INACTIVE_VARIANCE} "
                   "are inactive: the decoder (almost) ignores them.")
            row = (self._selection.button(dim), self.sliders[dim], self._values[dim],
                   self._variances[dim])
            for widget in row:
                widget.setToolTip(tip)
                widget.setStyleSheet(_INACTIVE_STYLE if is_inactive else "")
        self.legend.setText(f"{len(variances)} dimensions, {inactive} inactive "
                            f"(Var(mu) < {INACTIVE_VARIANCE}, greyed). Select a row to traverse.")
        self._show_code()

    def set_code(self, code: np.ndarray, *, origin: bool = False) -> None:
        """Show ``code`` without emitting ``codeChanged``."""
        self._code = np.array(code, dtype=np.float64)
        if origin:
            self._origin = self._code.copy()
        self._show_code()

    def _build_rows(self, dims: int) -> None:
        for widget in self._rows.findChildren(QWidget):
            widget.deleteLater()
        for button in self._selection.buttons():
            self._selection.removeButton(button)
        self.sliders, self._values, self._variances = [], [], []
        limit = int(SLIDER_RANGE * STEPS_PER_UNIT)
        for dim in range(dims):
            radio = QRadioButton(f"z{dim}")
            slider = QSlider(Qt.Orientation.Horizontal, minimum=-limit, maximum=limit)
            slider.setPageStep(STEPS_PER_UNIT // 2)
            value = QLabel(alignment=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setMinimumWidth(value.fontMetrics().horizontalAdvance("-0.00 "))
            slider.valueChanged.connect(lambda v, d=dim: self._on_slider(d, v))
            self._selection.addButton(radio, dim)
            variance = QLabel()
            for column, widget in enumerate((radio, slider, value, variance)):
                self._grid.addWidget(widget, dim, column)
            self.sliders.append(slider)
            self._values.append(value)
            self._variances.append(variance)
        if dims:
            self._selection.button(0).setChecked(True)

    def _show_code(self) -> None:
        for slider, value_label, value in zip(self.sliders, self._values, self._code,
                                              strict=True):
            slider.blockSignals(True)
            slider.setValue(round(float(np.clip(value, -SLIDER_RANGE, SLIDER_RANGE))
                                  * STEPS_PER_UNIT))
            slider.blockSignals(False)
            value_label.setText(f"{value:.2f}")

    def _on_slider(self, dim: int, position: int) -> None:
        self._code[dim] = position / STEPS_PER_UNIT
        self._values[dim].setText(f"{self._code[dim]:.2f}")
        self.codeChanged.emit(self.code())

    def _reset(self, code: np.ndarray) -> None:
        self.set_code(code)
        self.codeChanged.emit(self.code())
