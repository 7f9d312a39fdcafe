"""Compare runs: open checkpoints, overlay their histories on the training plots, export them.

Each opened run gets one colour; the list is the legend, naming each run with the settings in
which the opened runs differ (trainer.run_comparison). Checkpoints are read, and PNG and CSV
files written, on a background thread; the GUI thread only draws the plots and the legend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, Signal, Slot
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QWidget,
)

from explorer.export import export_bytes
from explorer.ui.actions import command
from explorer.ui.background import BackgroundJob, error_message
from explorer.ui.training_plots import RUN_COLORS, OverlaidRun, TrainingPlots
from trainer.checkpoint import load_checkpoint
from trainer.config import TrainConfig
from trainer.report import EpochReport
from trainer.run_comparison import differing_settings, run_label, write_histories_csv

CURRENT_RUN = "current run"
"""The name of the Training view's own run in the CSV export."""
LEGEND_ROW = 20
SWATCH = 14


@dataclass(frozen=True)
class OpenedRun:
    """A checkpoint opened for comparison: its name, settings and history."""

    name: str
    config: TrainConfig
    history: tuple[EpochReport, ...]


def read_runs(paths: Sequence[Path]) -> tuple[list[OpenedRun], list[str]]:
    """The runs in ``paths`` and a message per file that could not be read (off the GUI
    thread)."""
    runs, errors = [], []
    for path in paths:
        try:
            ckpt = load_checkpoint(path)
        except Exception as exc:  # one unreadable file must not lose the others
            errors.append(error_message(exc))
            continue
        runs.append(OpenedRun(path.stem, ckpt.config, tuple(ckpt.history)))
    return runs, errors


class RunComparison(QGroupBox):
    """The runs overlaid on ``plots``: a legend list and Compare / Remove / export commands.

    ``current`` gives the Training view's own history (exported to CSV beside the opened
    runs). ``changed`` fires after runs were added or removed; ``error(message)`` when a file
    could not be read or written.
    """

    changed = Signal()
    error = Signal(str)
    exported = Signal(str)  # the path written

    def __init__(self, plots: TrainingPlots, current: Callable[[], Sequence[EpochReport]],
                 parent: QWidget | None = None) -> None:
        super().__init__("Compare runs", parent)
        self.plots, self._current = plots, current
        self.runs: list[OpenedRun] = []
        self.legend = QListWidget()
        self.legend.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.legend.setMaximumHeight(110)
        self.legend.setToolTip("Opened runs, each in its colour, with the settings in which "
                               "they differ")
        self.hint = QLabel("Open checkpoints to overlay their histories on the plots "
                           "(train solid, validation dashed).", wordWrap=True)
        self.hint.setStyleSheet("color: #555;")
        buttons = [QPushButton() for _ in range(4)]
        self.compare_action = command("Compare runs...", self, buttons[0])
        self.remove_action = command("Remove", self, buttons[1])
        self.export_png_action = command("Plots as PNG...", self, buttons[2])
        self.export_csv_action = command("Histories as CSV...", self, buttons[3])
        self.compare_action.setToolTip("Open checkpoints and overlay their histories")
        self.folder = ""
        """Where the file dialogs start."""
        layout = QGridLayout(self)
        layout.addWidget(self.hint, 0, 0, 1, 2)
        layout.addWidget(self.legend, 1, 0, 1, 2)
        for i, button in enumerate(buttons):
            layout.addWidget(button, 2 + i // 2, i % 2)
        self.compare_action.triggered.connect(self._ask_runs)
        self.remove_action.triggered.connect(self.remove_selected)
        self.export_png_action.triggered.connect(self._ask_png)
        self.export_csv_action.triggered.connect(self._ask_csv)
        self.legend.itemSelectionChanged.connect(self.update_actions)
        self._job: BackgroundJob | None = None
        self._show()

    # --- runs -----------------------------------------------------------------------------------
    def open_runs(self, paths: Sequence[str | Path]) -> None:
        """Read these checkpoints in the background and overlay them when read."""
        self._start(lambda: read_runs([Path(p) for p in paths]), self._on_read)

    def add_runs(self, runs: Sequence[OpenedRun]) -> None:
        taken = {run.name for run in self.runs}
        for run in runs:
            name, n = run.name, 2
            while name in taken:
                name, n = f"{run.name} ({n})", n + 1
            taken.add(name)
            self.runs.append(OpenedRun(name, run.config, run.history))
        self._show()

    @Slot()
    def remove_selected(self) -> None:
        rows = {self.legend.row(item) for item in self.legend.selectedItems()}
        self.runs = [run for i, run in enumerate(self.runs) if i not in rows]
        self._show()

    def labels(self) -> list[str]:
        """Each run's name with the settings in which the opened runs differ."""
        diffs = differing_settings([run.config for run in self.runs])
        return [run_label(run.name, d) for run, d in zip(self.runs, diffs, strict=True)]

    def refresh(self) -> None:
        """Draw the overlays again (after the plots showed another history)."""
        self.plots.show_runs(self._overlaid())

    def _overlaid(self) -> list[OverlaidRun]:
        return [OverlaidRun(label, RUN_COLORS[i % len(RUN_COLORS)], run.history)
                for i, (label, run) in enumerate(zip(self.labels(), self.runs, strict=True))]

    def _show(self) -> None:
        overlaid = self._overlaid()
        self.legend.clear()
        for run in overlaid:
            item = QListWidgetItem(_swatch(run.color), run.label)
            item.setToolTip(run.label)
            self.legend.addItem(item)
        self.legend.setVisible(bool(overlaid))
        self.hint.setVisible(not overlaid)
        self.plots.show_runs(overlaid)
        self.update_actions()
        self.changed.emit()

    @Slot()
    def update_actions(self) -> None:
        self.remove_action.setEnabled(bool(self.legend.selectedItems()))
        has_data = bool(self.runs) or bool(self._current())
        self.export_png_action.setEnabled(has_data)
        self.export_csv_action.setEnabled(has_data)

    # --- exports --------------------------------------------------------------------------------
    def plots_image(self) -> QImage:
        """The plots with a legend of the overlaid runs below them."""
        picture = self.plots.grab()
        overlaid = self._overlaid()
        image = QImage(picture.width(), picture.height() + LEGEND_ROW * len(overlaid) + 6,
                       QImage.Format.Format_RGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        painter.drawPixmap(0, 0, picture)
        painter.setFont(QFont(painter.font().family(), 9))
        for i, run in enumerate(overlaid):
            y = picture.height() + 3 + i * LEGEND_ROW + LEGEND_ROW // 2
            painter.setPen(QPen(QColor(run.color), 3))
            painter.drawLine(QPoint(8, y), QPoint(8 + 2 * SWATCH, y))
            painter.setPen(QColor("#202020"))
            painter.drawText(QPoint(16 + 2 * SWATCH, y + 5), run.label)
        painter.end()
        return image

    def export_png(self, path: str | Path) -> None:
        image = self.plots_image()
        self._start(lambda: export_bytes(_png_bytes(image), path), self._on_written)

    def export_csv(self, path: str | Path) -> None:
        runs = [(label, run.history) for label, run in zip(self.labels(), self.runs, strict=True)]
        current = tuple(self._current())
        if current:
            runs.insert(0, (CURRENT_RUN, current))
        self._start(lambda: write_histories_csv(path, runs), self._on_written)

    def _ask_runs(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open runs to compare", self.folder,
                                                "Checkpoints (*.pt *.safetensors)")
        if paths:
            self.folder = str(Path(paths[0]).parent)
            self.open_runs(paths)

    def _ask_png(self) -> None:
        path = self._ask_save("Save the plots", "training_plots.png", "PNG image (*.png)", "png")
        if path:
            self.export_png(path)

    def _ask_csv(self) -> None:
        path = self._ask_save("Save the histories", "histories.csv", "CSV table (*.csv)", "csv")
        if path:
            self.export_csv(path)

    def _ask_save(self, title: str, name: str, filters: str, suffix: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(self.folder) / name),
                                              filters)
        if path and not Path(path).suffix:
            path = f"{path}.{suffix}"
        if path:
            self.folder = str(Path(path).parent)
        return path

    # --- background jobs ------------------------------------------------------------------------
    def _start(self, fn: Callable[[], object], done: Callable[[object], None]) -> None:
        job = BackgroundJob(fn, self)
        job.succeeded.connect(done)
        job.failed.connect(self.error)
        self._job = job.start()

    @Slot(object)
    def _on_read(self, result: tuple[list[OpenedRun], list[str]]) -> None:
        runs, errors = result
        self.add_runs(runs)
        if errors:
            self.error.emit("\n".join(errors))

    @Slot(object)
    def _on_written(self, path: Path) -> None:
        self.exported.emit(str(path))


def _swatch(color: str) -> QPixmap:
    pixmap = QPixmap(SWATCH, SWATCH)
    pixmap.fill(QColor(color))
    return pixmap


def _png_bytes(image: QImage) -> bytes:
    """``image`` encoded as PNG (QImage is safe to use off the GUI thread)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())
