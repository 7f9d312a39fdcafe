"""One editor per latent unit, labelled with the latent family's measure; inactive ones greyed.

The family (trainer.families) decides the editor: a slider per Gaussian dimension labelled with
its validation Var(mu_d), or a class picker per categorical variable labelled with its
validation mutual information I(y; z_k).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPalette
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

from explorer.explore_state import ExploreState
from trainer.families import LatentFamily

SLIDER_RANGE = 3.0
STEPS_PER_UNIT = 100
SLIDER_MIN_WIDTH = 120
"""A slider spans 2 x SLIDER_RANGE: at this width a pixel moves a value by 0.05 at most."""

_GREYED_ROLES = (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText, QPalette.ColorRole.Highlight,
                 QPalette.ColorRole.Button)
_RESET_TEXT = {False: "Reset to zero", True: "Reset to class 0"}


class LatentSliders(QGroupBox):
    """Edits the state's latent code one dimension at a time (explorer.explore_state).

    Every slider move edits the state's code (so a drag streams codes); the rows show every
    change of it. "Reset to encoded shape" returns to the state's origin code. The radio
    button of a row selects the dimension to traverse. A family whose editor is 'class'
    (categorical codes: K one-hot blocks of C numbers) gets a class picker per row
    (``pickers``) instead of a slider.
    """

    def __init__(self, state: ExploreState, parent: QWidget | None = None) -> None:
        super().__init__("Latent code", parent)
        self._state = state
        self.sliders: list[QSlider] = []
        self.pickers: list[QSpinBox] = []
        self._family: LatentFamily | None = None
        self._classes = 0
        self._values: list[QLabel] = []
        self._variances: list[QLabel] = []
        self._selection = QButtonGroup(self)
        self._rows = QWidget()
        self._grid = QGridLayout(self._rows)
        self._grid.setColumnStretch(1, 1)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop)
        self._scroll = scroll = QScrollArea(widgetResizable=True)
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

        self.reset_zero.clicked.connect(state.reset_to_zero)
        self.reset_origin.clicked.connect(state.reset_to_origin)
        self._selection.idClicked.connect(state.select_unit)
        state.subscribe("session", self._on_session)
        state.subscribe("code", self._on_code)

    @property
    def latent_dim(self) -> int:
        """Rows: latent dimensions, or categorical variables."""
        return len(self._values)

    @property
    def classes(self) -> int:
        """Classes per categorical variable; 0 for Gaussian codes."""
        return self._classes

    def _on_session(self, state: ExploreState) -> None:
        if state.session is not None:
            self.set_family(state.session.family, state.session.unit_measures())

    def _on_code(self, _state: ExploreState) -> None:
        self._show_code()

    def set_family(self, family: LatentFamily, measures: np.ndarray) -> None:
        """One row per unit of the family's codes, labelled with its measure (Var(mu_d), or
        I(y; z_k) in nats; NaN: unknown) and named as the family names it (pose dimensions).
        The rows are built anew only when their layout changes."""
        measures = np.asarray(measures, dtype=np.float64)
        old = self._family
        self._family = family
        classes = family.config.categorical_classes if family.editor == "class" else 0
        if (old is None or len(measures) != self.latent_dim or classes != self._classes
                or family.unit_names() != old.unit_names()):
            self._classes = classes
            self._build_rows(family.unit_names())
        inactive = sum(self._label_row(dim, value) for dim, value in enumerate(measures))
        self.reset_zero.setText(_RESET_TEXT[bool(classes)])
        threshold = family.measure.threshold
        if classes:
            self.legend.setText(
                f"{len(measures)} categorical variables of {classes} classes, {inactive} "
                f"inactive (I < {threshold} nats, greyed). Select a row to traverse its classes.")
        else:
            pose = (" z0-z5 turn the shape, z6-z8 move it (its pose)." if family.pose_dims
                    else "")
            self.legend.setText(f"{len(measures)} dimensions, {inactive} inactive (Var(mu) < "
                                f"{threshold}, greyed).{pose} Select a row to traverse.")
        self._show_code()
        QTimer.singleShot(0, self._fit_rows)   # once the new rows are shown and laid out

    def _fit_rows(self) -> None:
        """Keep the rows (sliders at SLIDER_MIN_WIDTH at least) from being cut off."""
        self._rows.adjustSize()
        self._scroll.setMinimumWidth(self._rows.minimumSizeHint().width()
                                     + self._scroll.verticalScrollBar().sizeHint().width()
                                     + 2 * self._scroll.frameWidth())

    def _label_row(self, dim: int, value: float) -> bool:
        """Label and grey row ``dim`` by its Var(mu) or information; True when inactive."""
        assert self._family is not None
        threshold = self._family.measure.threshold
        is_inactive = bool(value < threshold)
        if self._classes:
            text = "I ?" if np.isnan(value) else f"I {value:.2f} nats"
            tip = (f"Validation mutual information I(y; z_{dim}): {text[2:]}. Variables below "
                   f"{threshold} nats are inactive: the decoder (almost) ignores them.")
        else:
            text = "Var ?" if np.isnan(value) else f"Var {value:.3f}"
            tip = (f"Validation Var(mu_{dim}): {text[4:]}. Dimensions below "
                   f"{threshold} are inactive: the decoder (almost) ignores them.")
        self._variances[dim].setText(text + (" inactive" if is_inactive else ""))
        editor = (self.pickers if self._classes else self.sliders)[dim]
        for widget in (self._selection.button(dim), editor, self._values[dim],
                       self._variances[dim]):
            widget.setToolTip(tip)
            widget.setPalette(_greyed(widget.palette()) if is_inactive else QPalette())
        return is_inactive

    def _build_rows(self, names: tuple[str, ...]) -> None:
        for widget in self._rows.findChildren(QWidget):
            widget.deleteLater()
        for button in self._selection.buttons():
            self._selection.removeButton(button)
        self.sliders, self.pickers, self._values, self._variances = [], [], [], []
        for dim, name in enumerate(names):
            radio = QRadioButton(f"z{dim} {name}".rstrip())
            editor = self._new_picker(dim) if self._classes else self._new_slider(dim)
            value = QLabel(alignment=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setMinimumWidth(value.fontMetrics().horizontalAdvance("-0.00 "))
            self._selection.addButton(radio, dim)
            variance = QLabel()
            for column, widget in enumerate((radio, editor, value, variance)):
                self._grid.addWidget(widget, dim, column)
            self._values.append(value)
            self._variances.append(variance)
        if names:
            self._selection.button(min(self._state.selected_unit, len(names) - 1)).setChecked(True)

    def _new_slider(self, dim: int) -> QSlider:
        limit = int(SLIDER_RANGE * STEPS_PER_UNIT)
        slider = QSlider(Qt.Orientation.Horizontal, minimum=-limit, maximum=limit)
        slider.setMinimumWidth(SLIDER_MIN_WIDTH)
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

    def _show_code(self) -> None:
        """Every row at the state's code (without editing it again)."""
        code = self._state.code
        if len(code) != self._family_width():
            return
        if self._classes:
            self._show_classes()
            return
        for slider, value_label, value in zip(self.sliders, self._values, code, strict=True):
            slider.blockSignals(True)
            slider.setValue(round(float(np.clip(value, -SLIDER_RANGE, SLIDER_RANGE))
                                  * STEPS_PER_UNIT))
            slider.blockSignals(False)
            value_label.setText(f"{value:.2f}")

    def _show_classes(self) -> None:
        """Each picker at its variable's most weighted class; the label gives its weight (1
        for a one-hot code, less inside the simplex, e.g. on an interpolation)."""
        blocks = self._state.code.reshape(self.latent_dim, self._classes)
        for picker, value_label, block in zip(self.pickers, self._values, blocks, strict=True):
            picker.blockSignals(True)
            picker.setValue(int(block.argmax()))
            picker.blockSignals(False)
            value_label.setText(f"{block.max():.2f}")

    def _family_width(self) -> int:
        return self.latent_dim * (self._classes or 1)

    def _on_class(self, dim: int, cls: int) -> None:
        self._state.edit_unit(dim, cls)

    def _on_slider(self, dim: int, position: int) -> None:
        self._state.edit_unit(dim, position / STEPS_PER_UNIT)


def is_greyed(widget: QWidget) -> bool:
    """True when ``widget`` is drawn greyed out (as if disabled) while it stays usable."""
    palette = widget.palette()
    return widget.isEnabled() and all(
        palette.color(QPalette.ColorGroup.Active, role)
        == palette.color(QPalette.ColorGroup.Disabled, role) for role in _GREYED_ROLES)


def _greyed(palette: QPalette) -> QPalette:
    """``palette`` with its active colours replaced by the disabled ones: a greyed-out look
    that keeps the widget's own style (a style sheet would draw a slider as a bare box)."""
    palette = QPalette(palette)
    for role in _GREYED_ROLES:
        disabled = palette.color(QPalette.ColorGroup.Disabled, role)
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            palette.setColor(group, role, disabled)
    return palette
