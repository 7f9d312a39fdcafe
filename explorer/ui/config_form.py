"""The run settings form: the TrainConfig fields a user touches, validated by TrainConfig itself."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from trainer.config import BUILTIN_DATA, LIKELIHOODS, RESOLUTIONS, TrainConfig
from trainer.errors import ConfigError

_HELP = {f.name: f.metadata.get("help", "") for f in dataclasses.fields(TrainConfig)}

# TrainConfig field -> label, for the fields typed as text (the type comes from the default)
_TEXT_FIELDS = {
    "dataset_size": "Shapes",
    "latent_dim": "Latent size Q",
    "beta": "β (KL weight)",
    "samples": "Samples L",
    "epochs": "Epochs",
    "batch_size": "Batch size",
    "lr": "Learning rate",
    "seed": "Seed",
}
_BUILTIN_LABEL, _FOLDER_LABEL = "Built-in solids", "Folder of meshes"


class ConfigForm(QWidget):
    """Edits a TrainConfig. Settings not on the form keep the values of the last `set_config`."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base = TrainConfig()
        self.source = QComboBox()
        self.source.addItems([_BUILTIN_LABEL, _FOLDER_LABEL])
        self.folder = QLineEdit(placeholderText="folder of .off .obj .stl .ply .glb .binvox")
        self.browse = QPushButton("Browse...")
        self.resolution = QComboBox()
        self.resolution.addItems([str(r) for r in RESOLUTIONS])
        self.likelihood = QComboBox()
        self.likelihood.addItems(list(LIKELIHOODS))
        self.fields = {name: QLineEdit() for name in _TEXT_FIELDS}

        folder_row = QHBoxLayout()
        folder_row.setContentsMargins(0, 0, 0, 0)
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse)
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addRow("Data", self.source)
        layout.addRow("", folder_row)
        layout.addRow(_TEXT_FIELDS["dataset_size"], self.fields["dataset_size"])
        layout.addRow("Resolution", self.resolution)
        layout.addRow("Likelihood", self.likelihood)
        for name in ("latent_dim", "beta", "samples", "epochs", "batch_size", "lr", "seed"):
            layout.addRow(_TEXT_FIELDS[name], self.fields[name])
        self._set_tooltips()

        self.set_config(self._base)
        self.source.currentIndexChanged.connect(self._on_source_changed)
        self.browse.clicked.connect(self._browse)
        for widget in (self.folder, *self.fields.values()):
            widget.textChanged.connect(self.changed)
        for combo in (self.resolution, self.likelihood):
            combo.currentIndexChanged.connect(self.changed)

    def config(self) -> TrainConfig:
        """The config the form describes; raises ConfigError naming the first bad value."""
        values: dict[str, object] = {
            "data": BUILTIN_DATA if self._builtin() else self.folder.text().strip(),
            "resolution": int(self.resolution.currentText()),
            "likelihood": self.likelihood.currentText(),
        }
        if not self._builtin() and not values["data"]:
            raise ConfigError("choose a folder of shapes (or the built-in solids)")
        for name, label in _TEXT_FIELDS.items():
            values[name] = _parse(label, self.fields[name].text(), type(getattr(self._base, name)))
        return self._base.with_overrides(**values)

    def error(self) -> str | None:
        """Why the form does not describe a valid config, or None."""
        try:
            self.config()
        except ConfigError as exc:
            return str(exc)
        return None

    def set_config(self, config: TrainConfig) -> None:
        self._base = config
        self.source.setCurrentText(_BUILTIN_LABEL if config.is_builtin_data else _FOLDER_LABEL)
        self.folder.setText("" if config.is_builtin_data else config.data)
        self.resolution.setCurrentText(str(config.resolution))
        self.likelihood.setCurrentText(config.likelihood)
        for name, widget in self.fields.items():
            widget.setText(f"{getattr(config, name):g}" if name in ("lr", "beta")
                           else str(getattr(config, name)))
        self._enable_source_fields()

    def set_editable(self, editable: bool) -> None:
        for widget in (self.source, self.resolution, self.likelihood, *self.fields.values()):
            widget.setEnabled(editable)
        self._enable_source_fields()

    def _builtin(self) -> bool:
        return self.source.currentText() == _BUILTIN_LABEL

    @Slot()
    def _on_source_changed(self) -> None:
        self._enable_source_fields()
        self.changed.emit()

    def _enable_source_fields(self) -> None:
        editable, builtin = self.source.isEnabled(), self._builtin()
        self.folder.setEnabled(editable and not builtin)
        self.browse.setEnabled(editable and not builtin)
        self.fields["dataset_size"].setEnabled(editable and builtin)

    @Slot()
    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of shapes", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _set_tooltips(self) -> None:
        tips = {self.source: "data", self.folder: "data", self.resolution: "resolution",
                self.likelihood: "likelihood", **{w: n for n, w in self.fields.items()}}
        for widget, name in tips.items():
            widget.setToolTip(f"{_HELP[name]} (default {getattr(TrainConfig(), name)})")


def _parse(label: str, text: str, kind: type) -> int | float:
    try:
        return kind(text.strip())
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{label} must be {what}, got {text.strip()!r}") from None
