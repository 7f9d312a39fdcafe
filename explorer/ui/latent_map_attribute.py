"""The latent map's attribute direction: two groups of mapped shapes (classes, or the shapes
picked on the map) and a slider that moves the current code along mean(B) - mean(A)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QSlider,
    QWidget,
)

from explorer import latent_map as lm
from explorer.explore_state import ExploreState

AMOUNT_STEPS = 100
"""Slider steps per whole A -> B difference."""
AMOUNT_RANGE = (-1.0, 2.0)
SELECTED = "picked shapes"


class AttributeDirection(QGroupBox):
    """Group A and group B pickers and the "Amount" slider.

    The slider moves the code it started from (the state's code when the groups were chosen or
    when the code last changed elsewhere) by amount x (mean(B) - mean(A)); 0 is that code.
    ``picked()`` gives the map indices of the shapes picked on the map.
    """

    def __init__(self, state: ExploreState, picked: Callable[[], list[int]],
                 parent: QWidget | None = None) -> None:
        super().__init__("Attribute direction", parent)
        self._state = state
        self._picked = picked
        self._data: lm.MapCodes | None = None
        self._groups: dict[str, np.ndarray] = {}
        self.direction: np.ndarray | None = None
        """mean(B) - mean(A) (None: a group is not chosen)."""
        self._base = np.zeros(0)
        self._moving = False
        self.group_a, self.group_b = QComboBox(), QComboBox()
        for box, name in ((self.group_a, "A"), (self.group_b, "B")):
            box.setToolTip(f"Group {name}: a class, or the shapes picked on the map")
        self.amount = QSlider(Qt.Orientation.Horizontal,
                              minimum=round(AMOUNT_RANGE[0] * AMOUNT_STEPS),
                              maximum=round(AMOUNT_RANGE[1] * AMOUNT_STEPS))
        self.amount.setToolTip("Move the current code along mean(B) - mean(A): 0 is where it "
                               "was, 1 moves it by the whole difference")
        self.amount_label = QLabel()
        form = QFormLayout(self)
        groups = QHBoxLayout()
        groups.addWidget(self.group_a, 1)
        groups.addWidget(QLabel("→"))
        groups.addWidget(self.group_b, 1)
        form.addRow("A → B", groups)
        amount = QHBoxLayout()
        amount.addWidget(self.amount, 1)
        amount.addWidget(self.amount_label)
        form.addRow("Amount", amount)
        self.group_a.activated.connect(lambda item: self._on_group("A", item))
        self.group_b.activated.connect(lambda item: self._on_group("B", item))
        self.amount.valueChanged.connect(self._on_amount)
        state.subscribe("code", self._on_code)
        self.set_codes(None)

    def set_codes(self, data: lm.MapCodes | None) -> None:
        """Offer the classes of the mapped ``data`` (None: no map); forgets the groups."""
        self._data, self._groups, self.direction = data, {}, None
        for box in (self.group_a, self.group_b):
            box.blockSignals(True)
            box.clear()
            box.addItem("(choose)")
            if data is not None:
                box.addItems(list(data.class_names))
                box.addItem(SELECTED)
            box.blockSignals(False)
        self._restart()

    def _on_group(self, group: str, item: int) -> None:
        """A class, or the shapes picked now, becomes group ``group``; with both groups set
        the direction is mean(B) - mean(A)."""
        if self._data is None:
            return
        box = self.group_a if group == "A" else self.group_b
        picked = self._picked()
        if item == 0:
            self._groups.pop(group, None)
        elif item == box.count() - 1:
            if not picked:
                box.setCurrentIndex(0)
                self._groups.pop(group, None)
                QMessageBox.warning(self, "Latent map", "Pick shapes on the map first "
                                    "(click one, Ctrl+click more), then choose "
                                    f"“{SELECTED}” for group {group}.")
            else:
                self._groups[group] = np.array(picked)
                box.setItemText(item, f"{SELECTED} ({len(picked)})")
        else:
            self._groups[group] = np.flatnonzero(self._data.labels == item - 1)
        self.direction = None
        if "A" in self._groups and "B" in self._groups:
            self.direction = lm.attribute_direction(self._data.codes, self._groups["A"],
                                                    self._groups["B"])
        self._restart()

    def _on_code(self, state: ExploreState) -> None:
        """A code from elsewhere becomes the one the slider starts from."""
        if not self._moving:
            self._restart()

    def _restart(self) -> None:
        """The slider back to 0 at the state's code."""
        self._base = self._state.code.copy()
        self.amount.blockSignals(True)
        self.amount.setValue(0)
        self.amount.blockSignals(False)
        self._show_amount()
        session = self._state.session
        gaussian = session is not None and session.family.editor == "slider"
        self.amount.setEnabled(self.direction is not None and gaussian)
        for box in (self.group_a, self.group_b):
            box.setEnabled(self._data is not None)

    def _on_amount(self, value: int) -> None:
        if self.direction is None or self._base.shape != self.direction.shape:
            return
        self._moving = True
        try:
            self._state.set_code(lm.along(self._base, self.direction, value / AMOUNT_STEPS))
        finally:
            self._moving = False
        self._show_amount()

    def _show_amount(self) -> None:
        self.amount_label.setText(f"{self.amount.value() / AMOUNT_STEPS:+.2f}")
