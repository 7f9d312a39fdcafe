"""Per-class reconstruction scores: the table the Evaluate dialog and the Training view share,
and the Training view's panel that scores the validation set off the GUI thread.

The panel scores the validation set at the end of a run (finished or stopped) and when an
opened run's data set arrives, and again when its button is pressed; never during a run, whose
threads have the cores.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.actions import command
from explorer.ui.compute_job import ComputeJob, Progress
from explorer.ui.snapshot import RunSnapshot
from trainer.evaluation import ClassScores, Evaluation, evaluate

HEADERS = ("Class", "Shapes", "IoU", "Hamming")
VISIBLE_ROWS = 10
"""The table scrolls beyond this many classes (the Training view's beyond PANEL_ROWS)."""
PANEL_ROWS = 7
VALUE_ROLE = Qt.ItemDataRole.UserRole
"""Each cell also holds its unrounded value under this role."""


class ScoresTable(QTableWidget):
    """A read-only table of class, shapes, IoU and Hamming distance, one row per class."""

    def __init__(self, visible_rows: int = VISIBLE_ROWS, parent: QWidget | None = None) -> None:
        super().__init__(0, len(HEADERS), parent)
        self.setHorizontalHeaderLabels(HEADERS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(HEADERS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.setFixedHeight(visible_rows * self.verticalHeader().defaultSectionSize()
                            + header.sizeHint().height() + 2 * self.frameWidth() + 2)

    def set_scores(self, classes: Sequence[ClassScores]) -> None:
        self.setRowCount(len(classes))
        for row, c in enumerate(classes):
            cells = ((c.name, c.name), (str(c.shapes), c.shapes), (f"{c.iou:.3f}", c.iou),
                     (f"{c.hamming:.4f}", c.hamming))
            for column, (text, value) in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(VALUE_ROLE, value)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                else:
                    item.setToolTip(text)
                self.setItem(row, column, item)

    def rows(self) -> list[tuple[str, ...]]:
        """The cells as shown, row by row."""
        return [tuple(self.item(r, c).text() for c in range(self.columnCount()))
                for r in range(self.rowCount())]


def overall_text(report: Evaluation) -> str:
    refined = f" (codes refined by {report.refine_steps} steps)" if report.refine_steps else ""
    return (f"IoU {report.iou:.3f}, Hamming {report.hamming:.4f} over {report.shapes} "
            f"shapes{refined}")


class ValidationScores(QWidget):
    """The latest run's validation IoU and Hamming distance per class, scored on a background
    thread (see the module docstring for when)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.note = QLabel("Scored at the end of a run.", wordWrap=True)
        self.table = ScoresTable(PANEL_ROWS)
        self.button = QPushButton()
        self.score_action = command("Score validation set", self, self.button)
        self.score_action.setToolTip("Decode every validation shape and score it per class")
        self.score_action.triggered.connect(self.score)
        self._snapshot: RunSnapshot | None = None
        self.job: ComputeJob | None = None
        self._shut_down = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.note)
        layout.addWidget(self.table)
        layout.addWidget(self.button)
        self._update()

    def show_run(self, snapshot: RunSnapshot | None) -> None:
        """Score ``snapshot``'s validation set now (once its data set is there)."""
        self._snapshot = snapshot
        self.table.set_scores(())
        if snapshot is None or snapshot.session.shapes is None:
            self._cancel()
            self.note.setText("Scored at the end of a run." if snapshot is None else
                              "Scored once the run's data set is loaded.")
            self._update()
            return
        self.score()

    def clear(self, note: str = "Scored at the end of a run.") -> None:
        """No scores (a run started): the last job stops, ``note`` says when they come."""
        self.show_run(None)
        self.note.setText(note)

    @Slot()
    def score(self) -> None:
        snapshot = self._snapshot
        if snapshot is None or snapshot.session.shapes is None or self._shut_down:
            return
        self._cancel()
        ckpt, shapes = snapshot.checkpoint, snapshot.session.shapes
        epoch = ckpt.epoch

        def task(progress: Progress, cancelled) -> Evaluation:
            _, val = shapes.split(ckpt.config.val_fraction, ckpt.config.seed)
            return evaluate(ckpt, val, samples=0, cancel=cancelled,
                            progress=lambda done, total: progress("", done, total))

        self.job = ComputeJob(task, self)
        self.job.progressed.connect(self._on_progress)
        self.job.succeeded.connect(self._on_scored)
        self.job.failed.connect(self._on_failed)
        self.job.cancelled.connect(self._on_cancelled)
        self.note.setText(f"Scoring the validation set of epoch {epoch} ...")
        self.job.start()
        self._update()

    def shutdown(self, timeout_s: float = 2.0) -> None:
        """Stop scoring and wait up to ``timeout_s`` for the thread; start no more (the window
        closes, and a run's last signals may still arrive)."""
        self._shut_down = True
        job = self.job
        self._cancel()
        if job is not None:
            job.wait(timeout_s)

    def _cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()   # its late signals are ignored: they come from another sender
            self.job = None

    def _update(self) -> None:
        available = self._snapshot is not None and self._snapshot.session.shapes is not None
        self.score_action.setEnabled(available and self.job is None)

    @Slot(str, int, int)
    def _on_progress(self, _what: str, done: int, total: int) -> None:
        if self.sender() is not self.job:
            return
        self.note.setText(f"Scoring the validation set ... {done}/{total} batches")

    @Slot(object)
    def _on_scored(self, report: Evaluation) -> None:
        if self.sender() is not self.job or self._snapshot is None:
            return
        self.job = None
        self.table.set_scores(report.classes)
        self.note.setText(f"Epoch {self._snapshot.checkpoint.epoch}: {overall_text(report)}.")
        self._update()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self.sender() is not self.job:
            return
        self.job = None
        self.note.setText(f"Scoring failed: {message}")
        self._update()

    @Slot()
    def _on_cancelled(self) -> None:
        if self.sender() is not self.job:
            return
        self.job = None
        self.note.setText("Scoring was stopped.")
        self._update()
