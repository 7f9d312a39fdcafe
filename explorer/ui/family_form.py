"""The "Model family" settings of the run form: grid kind, input noise, latents, pose, KL
schedule.

Fields that do not apply to the current choices are disabled (the classes and temperatures
without categorical latents, the warm-up without a linear schedule, ...), and choices that cannot
go together are not offered: signed-distance grids take no flip/dropout noise, categorical
latents no pose dimensions. TrainConfig still validates every value and its message names the
first bad one.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QWidget,
)

from trainer.config import NOISE_MODELS, POSES, SETTINGS, TrainConfig
from trainer.errors import ConfigError

_COMBOS = {"grid": "Grid", "noise": "Input noise", "latent": "Latent", "pose": "Pose",
           "augment": "Augmentation", "beta_schedule": "β schedule"}
_TEXT = {"sdf_truncation": "SDF truncation (voxels)", "noise_level": "Noise level p",
         "categorical_classes": "Classes C", "temperature": "Temperature τ₀",
         "temperature_min": "Minimum τ", "temperature_decay": "τ decay per step",
         "warmup_epochs": "Warm-up epochs", "beta_cycles": "β cycles",
         "free_bits": "Free bits (nats/dim)"}
_OCCUPANCY_ONLY_NOISE = ("flip", "dropout")
_APPLIES_WITH = {"sdf_truncation": "Grid sdf", "noise_level": "an input noise",
                 "categorical_classes": "Latent categorical", "temperature": "Latent categorical",
                 "temperature_min": "Latent categorical",
                 "temperature_decay": "Latent categorical",
                 "straight_through": "Latent categorical",
                 "warmup_epochs": "β schedule linear", "beta_cycles": "β schedule cyclical"}
"""What each field that can be greyed out needs, in the words of the form."""


class ModelFamilyBox(QGroupBox):
    """Edits the model-family fields of a TrainConfig; ``changed`` fires on every edit and
    ``gridChanged(grid)`` when the grid kind changes (the form then locks the likelihood)."""

    changed = Signal()
    gridChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Model family", parent)
        self.combos = {name: QComboBox() for name in _COMBOS}
        for name in _COMBOS:
            self.combos[name].addItems(list(SETTINGS[name].choices))
        self.fields = {name: QLineEdit() for name in _TEXT}
        self.straight_through = QCheckBox("Straight-through")
        layout = QFormLayout(self)
        rows = (("grid", "sdf_truncation"), ("noise", "noise_level"),
                ("latent", "categorical_classes", "temperature", "temperature_min",
                 "temperature_decay", "straight_through", "pose", "augment"),
                ("beta_schedule", "warmup_epochs", "beta_cycles", "free_bits"))
        for name in (n for group in rows for n in group):
            if name == "straight_through":
                layout.addRow("", self.straight_through)
            elif name in _COMBOS:
                layout.addRow(_COMBOS[name], self.combos[name])
            else:
                layout.addRow(_TEXT[name], self.fields[name])
        for name, widget in (*self.combos.items(), *self.fields.items(),
                             ("straight_through", self.straight_through)):
            widget.setToolTip(SETTINGS[name].describe())
        for combo in self.combos.values():
            combo.currentIndexChanged.connect(self._on_choice)
        for field in self.fields.values():
            field.textChanged.connect(self.changed)
        self.straight_through.toggled.connect(self.changed)
        self._editable = True
        self.set_config(TrainConfig())

    def values(self) -> dict[str, object]:
        """The fields as TrainConfig overrides; raises ConfigError for text that is no number."""
        values: dict[str, object] = {n: c.currentText() for n, c in self.combos.items()}
        defaults = TrainConfig()
        for name, field in self.fields.items():
            kind = type(getattr(defaults, name))
            try:
                values[name] = kind(field.text().strip())
            except ValueError:
                what = "a whole number" if kind is int else "a number"
                raise ConfigError(f"{_TEXT[name]} must be {what}, "
                                  f"got {field.text().strip()!r}") from None
        values["straight_through"] = self.straight_through.isChecked()
        return values

    def set_config(self, config: TrainConfig) -> None:
        for name, combo in self.combos.items():
            combo.blockSignals(True)
            combo.setCurrentText(getattr(config, name))
            combo.blockSignals(False)
        for name, field in self.fields.items():
            field.setText(f"{getattr(config, name):g}")
        self.straight_through.setChecked(config.straight_through)
        self._apply_rules()

    def set_editable(self, editable: bool) -> None:
        self._editable = editable
        self._apply_rules()

    def not_applicable(self) -> dict[str, list[str]]:
        """The fields greyed out because they do not apply, by what they need (while the box
        is editable): {"Latent categorical": ["Classes C", ...], ...}."""
        greyed: dict[str, list[str]] = {}
        if not self._editable:
            return greyed
        widgets = {**self.fields, "straight_through": self.straight_through}
        for name, widget in widgets.items():
            if not widget.isEnabled():
                label = _TEXT.get(name, "Straight-through")
                greyed.setdefault(_APPLIES_WITH[name], []).append(label)
        return greyed

    def _on_choice(self) -> None:
        self._apply_rules()
        if self.sender() is self.combos["grid"]:
            self.gridChanged.emit(self.combos["grid"].currentText())
        self.changed.emit()

    def _apply_rules(self) -> None:
        """Enable what applies to the current choices; disable the choices that cannot go with
        them (noise models the grid cannot take, pose dimensions for categorical latents)."""
        sdf = self.combos["grid"].currentText() == "sdf"
        noise = self.combos["noise"]
        _offer(noise, NOISE_MODELS, lambda name: not (sdf and name in _OCCUPANCY_ONLY_NOISE))
        if sdf and noise.currentText() in _OCCUPANCY_ONLY_NOISE:
            noise.setCurrentText("gaussian")
        categorical = self.combos["latent"].currentText() == "categorical"
        _offer(self.combos["pose"], POSES, lambda name: not (categorical and name == "moments"))
        if categorical and self.combos["pose"].currentText() == "moments":
            self.combos["pose"].setCurrentText("auto")
        schedule = self.combos["beta_schedule"].currentText()
        applies = {"sdf_truncation": sdf, "noise_level": noise.currentText() != "none",
                   "categorical_classes": categorical, "temperature": categorical,
                   "temperature_min": categorical, "temperature_decay": categorical,
                   "warmup_epochs": schedule == "linear", "beta_cycles": schedule == "cyclical",
                   "free_bits": True}
        for name, field in self.fields.items():
            field.setEnabled(self._editable and applies[name])
        self.straight_through.setEnabled(self._editable and categorical)
        for combo in self.combos.values():
            combo.setEnabled(self._editable)


def _offer(combo: QComboBox, names: tuple[str, ...], allowed: Callable[[str], bool]) -> None:
    """Enable the combo's items whose names are allowed, disable the others."""
    model = combo.model()
    assert isinstance(model, QStandardItemModel)
    for row, name in enumerate(names):
        item = model.item(row)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEnabled if allowed(name)
                      else item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
