"""Model > Evaluate model: choose the shapes, the number of samples and the sampler, score the
model off the GUI thread (progress, Cancel), show the report, save it as text or JSON.

The report is the `evaluate` command's, and it is saved by the same code
(trainer.evaluation_run): the JSON file equals the command's ``--json`` for the same inputs.
A failed or cancelled evaluation keeps the settings and the last report.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.background import BackgroundJob
from explorer.ui.class_scores import ScoresTable, overall_text
from explorer.ui.compute_job import ComputeJob, Progress
from explorer.ui.settings import DATA, EXPORTS, AppSettings
from trainer import budgets
from trainer.checkpoint import Checkpoint
from trainer.code_refinement import MAX_REFINE_STEPS, refusal
from trainer.config import BUILTIN_DATA, TrainConfig
from trainer.data.folder import ImportReport
from trainer.data.shapeset import ShapeSet
from trainer.data.sources import load_run_data
from trainer.evaluation import SPECK_SHARE, Evaluation, evaluate
from trainer.evaluation_run import (
    check_request,
    evaluation_shapes,
    report_json,
    report_text,
    write_report,
)
from trainer.families import family_of

TITLE = "Evaluate model"
DEFAULT_SAMPLES = 500
PROGRESS_STEPS = 1000
OTHER_FOLDER = ""
"""The data choice "a folder of shapes" (its path is typed or browsed)."""
SAVE_FILTERS = {"text": "Text (*.txt);;All files (*)", "JSON": "JSON (*.json);;All files (*)"}


class EvaluateDialog(QDialog):
    """Settings on top, Evaluate / Cancel with a progress bar, then the report and its Save
    buttons. ``job`` is the evaluation under way (None when idle); ``report`` the last one."""

    def __init__(self, ckpt: Checkpoint, settings: AppSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.ckpt, self.settings = ckpt, settings
        self.job: ComputeJob | None = None
        self.report: Evaluation | None = None
        self._save_job: BackgroundJob | None = None
        self._imports: list[ImportReport] = []  # the folder imports of the evaluation under way
        config = ckpt.config

        self.data = QComboBox()
        if config.is_builtin_data:
            self.data.addItem("The run's validation shapes (built-in solids)", BUILTIN_DATA)
        else:
            self.data.addItem(f"The run's folder (all its shapes): {config.data}", config.data)
        self.data.addItem("A folder of shapes ...", OTHER_FOLDER)
        self.folder = QLineEdit(placeholderText="folder of mesh or grid files")
        self.browse_button = QPushButton("Browse...")
        self.samples = QSpinBox(minimum=0, maximum=budgets.SAMPLES, value=DEFAULT_SAMPLES)
        self.samples.setToolTip("Generated shapes scored against the shapes (0: none)")
        self.sampler = QComboBox()
        self.sampler.addItem("prior N(0, I)", "prior")
        self.sampler.addItem("Gaussians fitted to the training codes (one per class)", "fitted")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.refine = QSpinBox(minimum=0, maximum=MAX_REFINE_STEPS, value=0, suffix=" steps")
        self.refine.setSpecialValueText("off: the encoder's codes")
        self._offer_refinement(config)
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar(maximum=PROGRESS_STEPS, textVisible=True)
        self.status = QLabel(f"Scores the model of epoch {ckpt.epoch} at "
                             f"{config.resolution}³.", wordWrap=True)
        self.overall = QLabel(wordWrap=True)
        self.overall.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = ScoresTable()
        self.generation = QLabel(wordWrap=True)
        self.generation.setToolTip("MMD: mean distance of a shape to its closest sample (lower "
                                   "is better). COV: share of shapes that are some sample's "
                                   "nearest (higher is better). 1-NNA: how often a shape's or "
                                   "sample's nearest neighbour is of its own kind (0.5 is "
                                   "ideal: samples and shapes cannot be told apart).")
        self.generation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.save_text_button = QPushButton("Save text...")
        self.save_json_button = QPushButton("Save JSON...")
        self._offer_fitted(config)
        self._layout()

        self.data.currentIndexChanged.connect(self._update)
        self.samples.valueChanged.connect(self._update)
        self.browse_button.clicked.connect(self._browse)
        self.evaluate_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.save_text_button.clicked.connect(lambda: self.save("text"))
        self.save_json_button.clicked.connect(lambda: self.save("JSON"))
        self._show_progress(None)
        self._update()

    def _offer_fitted(self, config: TrainConfig) -> None:
        gaussian = family_of(config, self.ckpt.kind).editor == "slider"
        item = self.sampler.model().item(1)
        item.setEnabled(gaussian)
        item.setToolTip("Needs Gaussian codes and the run's training shapes")

    def _offer_refinement(self, config: TrainConfig) -> None:
        reason = refusal(config, self.ckpt.kind)
        self._refinable = reason is None
        if reason is not None:
            self.refine.setToolTip(f"Not for this model: {reason}")
            return
        self.refine.setToolTip("Reconstruct each shape from its most probable code: the "
                               "encoder's code refined by this many steps of latent search "
                               "(30 close most of the gap on shapes the encoder has not seen; "
                               "about 0.1 s per 32³ shape on 2 cores)")

    def _layout(self) -> None:
        folder = QHBoxLayout()
        folder.addWidget(self.folder, 1)
        folder.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow("Shapes:", self.data)
        form.addRow("Folder:", folder)
        form.addRow("Samples:", self.samples)
        form.addRow("Sample from:", self.sampler)
        form.addRow("Seed:", self.seed)
        form.addRow("Refine codes:", self.refine)
        run = QHBoxLayout()
        run.addWidget(self.evaluate_button)
        run.addWidget(self.cancel_button)
        run.addWidget(self.progress, 1)
        self.button_box = buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.save_text_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.save_json_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(run)
        layout.addWidget(self.status)
        layout.addWidget(self.overall)
        layout.addWidget(self.table)
        layout.addWidget(self.generation)
        layout.addWidget(buttons)
        self.resize(560, self.sizeHint().height())

    # --- settings -------------------------------------------------------------------------------
    def data_choice(self) -> str:
        """The `evaluate` command's --data value: 'builtin' or a folder ('' when none typed)."""
        choice = self.data.currentData()
        return self.folder.text().strip() if choice == OTHER_FOLDER else choice

    @Slot()
    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of shapes to score the model on",
                                                  self.settings.last_folder(DATA))
        if folder:
            self.folder.setText(folder)
            self.settings.remember_folder(DATA, folder)

    @Slot()
    def _update(self) -> None:
        idle = self.job is None
        other = self.data.currentData() == OTHER_FOLDER
        for widget in (self.data, self.samples, self.seed):
            widget.setEnabled(idle)
        self.refine.setEnabled(idle and self._refinable)
        self.folder.setEnabled(idle and other)
        self.browse_button.setEnabled(idle and other)
        self.sampler.setEnabled(idle and self.samples.value() > 0)
        self.evaluate_button.setEnabled(idle)
        self.cancel_button.setEnabled(not idle)
        saved = self.report is not None and self._save_job is None
        self.save_text_button.setEnabled(saved)
        self.save_json_button.setEnabled(saved)

    # --- evaluating -----------------------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        """Score the model with the settings shown, on a background thread."""
        if self.job is not None:
            return
        data, samples, seed = self.data_choice(), self.samples.value(), self.seed.value()
        refine = self.refine.value() if self._refinable else 0
        sampler = self.sampler.currentData() if samples else "prior"
        if not data:
            self._error("Choose a folder of shapes to score the model on.")
            return
        ckpt, imports = self.ckpt, self._imports
        imports.clear()

        def task(progress: Progress, cancelled) -> Evaluation:
            def load(config: TrainConfig) -> ShapeSet:
                run_data = load_run_data(config, cancel=cancelled, progress=lambda done, total,
                                         _: progress(f"Importing file {done}/{total}", done,
                                                     total))
                if run_data.report is not None:
                    imports.append(run_data.report)
                return run_data.shapes

            check_request(samples, seed, sampler)
            shapes, fit_to = evaluation_shapes(ckpt.config, data, sampler, load)
            return evaluate(ckpt, shapes, samples, seed, fit_to, refine=refine, cancel=cancelled,
                            progress=lambda done, total: progress(
                                f"Scoring {len(shapes)} shapes and {samples} samples", done,
                                total))

        self.job = ComputeJob(task, self)
        self.job.progressed.connect(self._on_progress)
        self.job.succeeded.connect(self._on_evaluated)
        self.job.failed.connect(self._on_failed)
        self.job.cancelled.connect(self._on_cancelled)
        self.status.setText("Loading the shapes ...")
        self.progress.setRange(0, 0)       # busy until the first progress report
        self.job.start()
        self._update()

    @Slot()
    def cancel(self) -> None:
        """Stop the evaluation after the current batch or file."""
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling after the current batch ...")

    def shutdown(self, timeout_s: float = 2.0) -> None:
        """Stop an evaluation under way and wait up to ``timeout_s`` for it (closing)."""
        job = self.job
        if job is not None:
            job.cancel()
            job.wait(timeout_s)

    def reject(self) -> None:
        """Close (Escape, Close, the window's X) cancels an evaluation under way."""
        self.cancel()
        super().reject()

    @Slot(str, int, int)
    def _on_progress(self, what: str, done: int, total: int) -> None:
        if self.sender() is self.job and self.cancel_button.isEnabled():
            self._show_progress((what, done, total))

    @Slot(object)
    def _on_evaluated(self, report: Evaluation) -> None:
        self._finish()
        self.report = report
        data = self.data_choice()
        if data == BUILTIN_DATA or not self._imports:
            self.status.setText("Scored on the run's validation shapes.")
            self.status.setToolTip("")
        else:
            imported = self._imports[0]
            skipped = len(imported.failed)
            self.status.setText(f"Scored on {data}: {imported.imported} shapes imported at "
                                f"{imported.resolution}³, {skipped} file"
                                f"{'s' * (skipped != 1)} skipped"
                                f"{' (the tooltip says why)' * bool(skipped)}.")
            self.status.setToolTip(imported.summary())
        self.overall.setText(f"<b>Reconstruction</b>: {html.escape(overall_text(report))}")
        self.table.set_scores(report.classes)
        self.generation.setText(_generation_html(report))
        self._update()
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._finish()
        self.status.setText("The evaluation failed; the last report is still shown."
                            if self.report is not None else "The evaluation failed.")
        self._update()
        self._error(message)

    @Slot()
    def _on_cancelled(self) -> None:
        self._finish()
        self.status.setText("Cancelled; the last report is still shown."
                            if self.report is not None else "Cancelled.")
        self._update()

    def _finish(self) -> None:
        self.job = None
        self._show_progress(None)

    def _show_progress(self, progress: tuple[str, int, int] | None) -> None:
        if progress is None:
            self.progress.setRange(0, PROGRESS_STEPS)
            self.progress.setValue(0)
            self.progress.setFormat("Not running")
            return
        what, done, total = progress
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(round(done / max(total, 1) * PROGRESS_STEPS))
        self.progress.setFormat("%p%")
        self.status.setText(f"{what} ...")

    # --- saving ---------------------------------------------------------------------------------
    def save(self, kind: str) -> None:
        """Ask for a file and write the report as ``kind`` ('text' or 'JSON'), on an I/O
        thread."""
        if self.report is None or self._save_job is not None:
            return
        suffix = ".json" if kind == "JSON" else ".txt"
        folder = self.settings.last_folder(EXPORTS)
        suggestion = str(Path(folder) / f"evaluation{suffix}") if folder else \
            f"evaluation{suffix}"
        path = QFileDialog.getSaveFileName(self, f"Save the report as {kind}", suggestion,
                                           SAVE_FILTERS[kind])[0]
        if not path:
            return
        text = report_json(self.report) if kind == "JSON" else report_text(self.report)
        self._save_job = BackgroundJob(lambda: write_report(path, text), self)
        self._save_job.succeeded.connect(self._on_saved)
        self._save_job.failed.connect(self._on_save_failed)
        self._save_job.start()
        self._update()

    @Slot(object)
    def _on_saved(self, path: Path) -> None:
        self._save_job = None
        self.settings.remember_folder(EXPORTS, path)
        self.status.setText(f"Saved {path}")
        self._update()

    @Slot(str)
    def _on_save_failed(self, message: str) -> None:
        self._save_job = None
        self._update()
        self._error(f"The report could not be saved: {message}")

    def _error(self, message: str) -> None:
        QMessageBox.critical(self, TITLE, message)


def _generation_html(report: Evaluation) -> str:
    g = report.generation
    if g is None:
        return "<b>Samples</b>: none scored."
    source = "prior" if g.sampler == "prior" else "fitted-density"
    return (f"<b>{g.samples} {source} samples</b> against {g.reference} shapes "
            f"(distance 1 − IoU):<br>MMD {g.mmd:.3f} · COV {g.cov:.3f} · 1-NNA {g.nna:.3f} · "
            f"{g.empty_samples} empty · {g.speck_samples} under {SPECK_SHARE:.1%} of the voxels")
