"""The Training view's log options: a JSONL metrics file and a TensorBoard log, each a check
box and a path (trainer.run_logs writes them, on the training thread)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QLineEdit,
    QPushButton,
    QWidget,
)

from trainer.errors import ConfigError
from trainer.run_logs import LogOptions
from trainer.tensorboard_log import check_available

DEFAULT_METRICS = "runs/metrics.jsonl"
DEFAULT_TENSORBOARD = "runs/tensorboard"


class RunLogsForm(QGroupBox):
    """Which logs the next run writes, and where."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Logs", parent)
        self.metrics = QCheckBox("JSONL metrics")
        self.metrics.setToolTip("Append one JSON line per epoch (as train --metrics)")
        self.metrics_path = QLineEdit(DEFAULT_METRICS)
        self.tensorboard = QCheckBox("TensorBoard")
        self.tensorboard.setToolTip("Scalars per epoch; hparams, the validation codes as an "
                                    "embedding and reconstructed meshes at the end (as train "
                                    "--tensorboard; needs the [tensorboard] extra)")
        self.tensorboard_path = QLineEdit(DEFAULT_TENSORBOARD)
        browse_metrics, browse_tensorboard = QPushButton("..."), QPushButton("...")
        layout = QGridLayout(self)
        for row, (box, path, browse) in enumerate((
                (self.metrics, self.metrics_path, browse_metrics),
                (self.tensorboard, self.tensorboard_path, browse_tensorboard))):
            browse.setFixedWidth(28)
            layout.addWidget(box, row, 0)
            layout.addWidget(path, row, 1)
            layout.addWidget(browse, row, 2)
            box.toggled.connect(path.setEnabled)
            box.toggled.connect(browse.setEnabled)
            path.setEnabled(False)
            browse.setEnabled(False)
        browse_metrics.clicked.connect(self._browse_metrics)
        browse_tensorboard.clicked.connect(self._browse_tensorboard)

    def options(self) -> LogOptions:
        """The logs asked for (raises ConfigError when one cannot be written)."""
        error = self.error()
        if error is not None:
            raise ConfigError(error)
        return LogOptions(
            metrics=Path(self.metrics_path.text().strip()) if self.metrics.isChecked() else None,
            tensorboard=(Path(self.tensorboard_path.text().strip())
                         if self.tensorboard.isChecked() else None))

    def error(self) -> str | None:
        """Why the options cannot be used (an empty path, no tensorboard package), or None."""
        for box, path in ((self.metrics, self.metrics_path),
                          (self.tensorboard, self.tensorboard_path)):
            if box.isChecked() and not path.text().strip():
                return f"Give a path for the {box.text()} log."
        if self.metrics.isChecked() and Path(self.metrics_path.text().strip()).is_dir():
            return f"The JSONL metrics path {self.metrics_path.text()} is a folder; give a file."
        if self.tensorboard.isChecked():
            try:
                check_available(Path(self.tensorboard_path.text().strip()))
            except ConfigError as exc:
                return str(exc)
        return None

    def set_editable(self, editable: bool) -> None:
        self.setEnabled(editable)

    def _browse_metrics(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Metrics log", self.metrics_path.text(),
                                              "JSON lines (*.jsonl)")
        if path:
            self.metrics_path.setText(path)

    def _browse_tensorboard(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "TensorBoard log folder",
                                                self.tensorboard_path.text())
        if path:
            self.tensorboard_path.setText(path)
