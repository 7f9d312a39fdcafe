"""One slider per latent dimension, labelled with its validation Var(mu); inactive ones greyed.

Categorical models get one class picker per categorical variable instead, labelled with the
variable's validation mutual information I(y; z_k).
"""

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
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.session import one_hot_codes
from trainer.stats import ACTIVE_UNIT_THRESHOLD, ACTIVE_VARIABLE_NATS

SLIDER_RANGE = 3.0
STEPS_PER_UNIT = 100

_INACTIVE_STYLE = "color: #8a8f98;"
_RESET_TEXT = {False: "Reset to zero", True: "Reset to class 0"}
POSE_NAMES = ("axis 1 x", "axis 1 y", "axis 1 z", "axis 2 x", "axis 2 y", "axis 2 z",
              "shift x", "shift y", "shift z")
"""Names of a pose-aware model's leading dimensions (trainer.pose): two axes that Gram-Schmidt
turns into the shape's rotation, and its centre."""


class LatentSliders(QGroupBox):
    """Edits a latent code one dimension at a time.

    ``codeChanged(code)`` fires on every slider move (so a drag streams codes). ``set_code``
    changes the code silently; with ``origin=True`` it also becomes the code that "Reset to
    encoded shape" returns to. The radio button of a row selects the dimension to traverse.
    With ``classes`` > 0 (a categorical model) the code is K one-hot blocks of ``classes``
    numbers and each row is a class picker (``pickers``) instead of a slider.
    """

    codeChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Latent code", parent)
        self._code = np.zeros(0)
        self._origin = np.zeros(0)
        self.sliders: list[QSlider] = []
        self.pickers: list[QSpinBox] = []
        self._classes, self._pose_dims = 0, 0
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

        self.reset_zero = QPushButton(_RESET_TEXT[False])
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

        self.reset_zero.clicked.connect(lambda: self._reset(self._zero_code()))
        self.reset_origin.clicked.connect(lambda: self._reset(self._origin))

    @property
    def latent_dim(self) -> int:
        """Rows: latent dimensions, or categorical variables."""
        return len(self._values)

    @property
    def classes(self) -> int:
        """Classes per categorical variable; 0 for Gaussian codes."""
        return self._classes

    def code(self) -> np.ndarray:
        return self._code.copy()

    def selected_dim(self) -> int:
        return max(self._selection.checkedId(), 0)

    def set_dimensions(self, measures: np.ndarray, classes: int = 0,
                       pose_dims: int = 0) -> None:
        """One row per dimension labelled with Var(mu_d), or with ``classes`` > 0 one class
        picker per categorical variable labelled with I(y; z_k) in nats (NaN: unknown); the
        first ``pose_dims`` rows are named after the pose they hold. Keeps the code when the
        layout is unchanged, else starts at zero (class 0)."""
        measures = np.asarray(measures, dtype=np.float64)
        if (len(measures) != self.latent_dim or classes != self._classes
                or pose_dims != self._pose_dims):
            self._classes, self._pose_dims = classes, pose_dims
            self._build_rows(len(measures))
            self._code = self._zero_code()
            self._origin = self._code.copy()
        inactive = sum(self._label_row(dim, value) for dim, value in enumerate(measures))
        self.reset_zero.setText(_RESET_TEXT[bool(classes)])
        if classes:
            self.legend.setText(
                f"{len(measures)} categorical variables of {classes} classes, {inactive} "
                f"inactive (I < {ACTIVE_VARIABLE_NATS} nats, greyed). Select a row to "
                "traverse its classes.")
        else:
            pose = (" z0-z5 turn the shape, z6-z8 move it (its pose)." if pose_dims else "")
            self.legend.setText(f"{len(measures)} dimensions, {inactive} inactive (Var(mu) < "
                                f"{ACTIVE_UNIT_THRESHOLD}, greyed).{pose} Select a row to "
                                "traverse.")
        self._show_code()

    def _label_row(self, dim: int, value: float) -> bool:
        """Label and grey row ``dim`` by its Var(mu) or information; True when inactive."""
        if self._classes:
            is_inactive = bool(value < ACTIVE_VARIABLE_NATS)
            text = "I ?" if np.isnan(value) else f"I {value:.2f} nats"
            tip = (f"Validation mutual information I(y; z_{dim}): {text[2:]}. Variables below "
                   f"{ACTIVE_VARIABLE_NATS} nats are inactive: the decoder (almost) ignores them.")
        else:
            is_inactive = bool(value < ACTIVE_UNIT_THRESHOLD)
            text = "Var ?" if np.isnan(value) else f"Var {value:.3f}"
            tip = (f"Validation Var(mu_{dim}): {text[4:]}. Dimensions below "
                   f"{ACTIVE_UNIT_THRESHOLD} are inactive: the decoder (almost) ignores them.")
        self._variances[dim].setText(text + (" inactive" if is_inactive else ""))
        editor = (self.pickers if self._classes else self.sliders)[dim]
        for widget in (self._selection.button(dim), editor, self._values[dim],
                       self._variances[dim]):
            widget.setToolTip(tip)
            widget.setStyleSheet(_INACTIVE_STYLE if is_inactive else "")
        return is_inactive

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
        self.sliders, self.pickers, self._values, self._variances = [], [], [], []
        for dim in range(dims):
            name = f" {POSE_NAMES[dim]}" if dim < self._pose_dims else ""
            radio = QRadioButton(f"z{dim}{name}")
            editor = self._new_picker(dim) if self._classes else self._new_slider(dim)
            value = QLabel(alignment=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setMinimumWidth(value.fontMetrics().horizontalAdvance("-0.00 "))
            self._selection.addButton(radio, dim)
            variance = QLabel()
            for column, widget in enumerate((radio, editor, value, variance)):
                self._grid.addWidget(widget, dim, column)
            self._values.append(value)
            self._variances.append(variance)
        if dims:
            self._selection.button(0).setChecked(True)

    def _new_slider(self, dim: int) -> QSlider:
        limit = int(SLIDER_RANGE * STEPS_PER_UNIT)
        slider = QSlider(Qt.Orientation.Horizontal, minimum=-limit, maximum=limit)
        slider.setPageStep(STEPS_PER_UNIT // 2)
        slider.valueChanged.connect(lambda v, d=dim: self._on_slider(d, v))
        self.sliders.append(slider)
        return slider

    def _new_picker(self, dim: int) -> QSpinBox:
        picker = QSpinBox(minimum=0, maximum=self._classes - 1, prefix="class ")
        picker.setToolTip(f"The class of categorical variable z{dim}")
        picker.valueChanged.connect(lambda c, d=dim: self._on_class(d, c))
        self.pickers.append(picker)
        return picker

    def _zero_code(self) -> np.ndarray:
        """All zeros, or every categorical variable at class 0."""
        if not self._classes:
            return np.zeros(self.latent_dim)
        return one_hot_codes(np.zeros(self.latent_dim, dtype=np.int64), self._classes)

    def _show_code(self) -> None:
        if self._classes:
            self._show_classes()
            return
        for slider, value_label, value in zip(self.sliders, self._values, self._code,
                                              strict=True):
            slider.blockSignals(True)
            slider.setValue(round(float(np.clip(value, -SLIDER_RANGE, SLIDER_RANGE))
                                  * STEPS_PER_UNIT))
            slider.blockSignals(False)
            value_label.setText(f"{value:.2f}")

    def _show_classes(self) -> None:
        """Each picker at its variable's most weighted class; the label gives its weight (1
        for a one-hot code, less inside the simplex, e.g. on an interpolation)."""
        blocks = self._code.reshape(self.latent_dim, self._classes)
        for picker, value_label, block in zip(self.pickers, self._values, blocks, strict=True):
            picker.blockSignals(True)
            picker.setValue(int(block.argmax()))
            picker.blockSignals(False)
            value_label.setText(f"{block.max():.2f}")

    def _on_class(self, dim: int, cls: int) -> None:
        blocks = self._code.reshape(self.latent_dim, self._classes)
        blocks[dim] = 0.0
        blocks[dim, cls] = 1.0
        self._values[dim].setText("1.00")
        self.codeChanged.emit(self.code())

    def _on_slider(self, dim: int, position: int) -> None:
        self._code[dim] = position / STEPS_PER_UNIT
        self._values[dim].setText(f"{self._code[dim]:.2f}")
        self.codeChanged.emit(self.code())

    def _reset(self, code: np.ndarray) -> None:
        self.set_code(code)
        self.codeChanged.emit(self.code())
