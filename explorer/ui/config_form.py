"""The run settings form: the TrainConfig fields a user touches, validated by TrainConfig itself."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from explorer.ui.family_form import ModelFamilyBox
from trainer.config import BUILTIN_DATA, SETTINGS, TrainConfig
from trainer.errors import ConfigError

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
        self.start_folder = ""
        """Where Browse starts while the folder field is empty (set by the window)."""
        self.resolution = QComboBox()
        self.resolution.addItems([str(r) for r in SETTINGS["resolution"].choices])
        self.likelihood = QComboBox()
        self.likelihood.addItems(list(SETTINGS["likelihood"].choices))
        self.fields = {name: QLineEdit() for name in _TEXT_FIELDS}
        self.family = ModelFamilyBox()
        self.family.setTitle("")                # the toggle above names it
        self.family_toggle = QPushButton(checkable=True)
        self.family_summary = QLabel(wordWrap=True)
        self.family_summary.setStyleSheet("color: #4b5563;")
        self.greyed_note = QLabel(wordWrap=True)
        self.greyed_note.setStyleSheet("color: #6b7280;")
        self.family_toggle.setToolTip("Denoising input noise, categorical latents, KL weight "
                                      "schedules and signed-distance grids")

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
        layout.addRow(self.family_toggle)
        layout.addRow(self.family_summary)
        layout.addRow(self.family)
        layout.addRow(self.greyed_note)
        self._set_tooltips()

        self.set_config(self._base)
        self.source.currentIndexChanged.connect(self._on_source_changed)
        self.browse.clicked.connect(self._browse)
        for widget in (self.folder, *self.fields.values()):
            widget.textChanged.connect(self.changed)
        for combo in (self.resolution, self.likelihood):
            combo.currentIndexChanged.connect(self.changed)
        self.family.changed.connect(self.changed)
        self.family.changed.connect(self._show_family_summary)
        self.family.changed.connect(self._explain_greyed)
        self.family.gridChanged.connect(self._lock_likelihood)
        self.family_toggle.toggled.connect(self._show_family)
        self._show_family(False)

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
        values.update(self.family.values())
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
        self.family.set_config(config)
        self._lock_likelihood(config.grid)
        self._show_family_summary()
        self._enable_source_fields()

    def use_folder(self, folder: str) -> None:
        """Make ``folder`` the data source (as choosing "Folder" and browsing to it does)."""
        self.source.setCurrentText(_FOLDER_LABEL)
        self.folder.setText(folder)

    def set_editable(self, editable: bool) -> None:
        for widget in (self.source, self.resolution, self.likelihood, *self.fields.values()):
            widget.setEnabled(editable)
        self.family.set_editable(editable)
        self._lock_likelihood(self.family.combos["grid"].currentText())
        self._enable_source_fields()

    def _builtin(self) -> bool:
        return self.source.currentText() == _BUILTIN_LABEL

    @Slot()
    def _on_source_changed(self) -> None:
        self._enable_source_fields()
        self.changed.emit()

    @Slot(bool)
    def _show_family(self, shown: bool) -> None:
        self.family.setVisible(shown)
        self._show_family_summary()

    @Slot()
    def _show_family_summary(self) -> None:
        """The toggle names the family choices, so they show while the box is folded."""
        combos = self.family.combos
        noise = combos["noise"].currentText()
        summary = " · ".join((f"{combos['latent'].currentText()} latents",
                              f"{combos['grid'].currentText()} grids",
                              "no input noise" if noise == "none" else f"{noise} input noise",
                              f"{combos['beta_schedule'].currentText()} β"))
        arrow = "▾" if self.family_toggle.isChecked() else "▸"
        self.family_toggle.setText(f"{arrow} Model family")
        self.family_summary.setText(summary)

    @Slot(str)
    def _lock_likelihood(self, grid: str) -> None:
        """Signed distances are trained with the Gaussian likelihood only."""
        if grid == "sdf":
            self.likelihood.setCurrentText("gaussian")
        self.likelihood.setEnabled(self.resolution.isEnabled() and grid != "sdf")
        self.likelihood.setToolTip("signed-distance grids use the Gaussian likelihood"
                                   if grid == "sdf" else
                                   SETTINGS["likelihood"].describe())

    def _enable_source_fields(self) -> None:
        editable, builtin = self.source.isEnabled(), self._builtin()
        self.folder.setEnabled(editable and not builtin)
        self.browse.setEnabled(editable and not builtin)
        self.fields["dataset_size"].setEnabled(editable and builtin)
        self._explain_greyed()

    @Slot()
    def _explain_greyed(self) -> None:
        """Say why fields are greyed out: a run is training, or they do not apply."""
        if not self.source.isEnabled():
            self.greyed_note.setText("The settings stay as they are while the run trains.")
            return
        greyed = {"a folder of shapes as Data" if self._builtin() else "the built-in solids":
                  ["the folder"] if self._builtin() else [_TEXT_FIELDS["dataset_size"]]}
        if not self.likelihood.isEnabled():
            greyed["occupancy grids"] = ["Likelihood (signed distances are Gaussian)"]
        for needs, labels in self.family.not_applicable().items():
            greyed.setdefault(needs, []).extend(labels)
        self.greyed_note.setText("Greyed out: " + "; ".join(
            f"{', '.join(labels)} (only with {needs})" for needs, labels in greyed.items()) + ".")

    @Slot()
    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of shapes",
                                                  self.folder.text() or self.start_folder)
        if folder:
            self.folder.setText(folder)

    def _set_tooltips(self) -> None:
        tips = {self.source: "data", self.folder: "data", self.resolution: "resolution",
                self.likelihood: "likelihood", **{w: n for n, w in self.fields.items()}}
        for widget, name in tips.items():
            widget.setToolTip(SETTINGS[name].describe())


def _parse(label: str, text: str, kind: type) -> int | float:
    try:
        return kind(text.strip())
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{label} must be {what}, got {text.strip()!r}") from None
