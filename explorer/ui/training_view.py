"""The Training view: run settings, Start / Pause / Stop, progress, live plots, reconstructions.

It owns the training thread. Worker signals are connected to methods of this widget, so they
run on the GUI thread (PySide6 would run a lambda connected to them on the worker thread).

A folder is imported when Start is pressed, on the training thread, behind a progress dialog
whose Cancel stops the run before any training; the import report then opens beside the run.
Importing on Start (rather than through a separate Import button) keeps one click to train and
always reads the folder as it is now; the voxel cache makes a repeated import take seconds.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.actions import command
from explorer.ui.class_scores import ValidationScores
from explorer.ui.config_form import ConfigForm
from explorer.ui.import_dialog import ImportProgressDialog, ImportReportDialog
from explorer.ui.recon_strip import ReconStrip
from explorer.ui.run_comparison import RunComparison
from explorer.ui.run_logs_form import RunLogsForm
from explorer.ui.snapshot import RunSnapshot
from explorer.ui.training_plots import TrainingPlots
from explorer.ui.training_worker import TrainingRun
from trainer.auto_choices import Choice
from trainer.config import TrainConfig
from trainer.data.folder import ImportReport
from trainer.report import BatchProgress, EpochReport

PANEL_WIDTH = 330
PROGRESS_STEPS = 1000
PLOT_INTERVAL_MS = 1000  # epoch plots redraw at most this often (tiny runs report faster)


class TrainingView(QWidget):
    """Settings and controls on the left, plots on the right."""

    snapshot_taken = Signal(object)  # RunSnapshot after every epoch of the current run
    run_ended = Signal(bool)  # True when every epoch ran
    error = Signal(str)
    running_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = ConfigForm()
        self.logs = RunLogsForm()
        self.form_error = QLabel(wordWrap=True)
        self.form_error.setStyleSheet("color: #c0392b;")
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.progress = QProgressBar(maximum=PROGRESS_STEPS, textVisible=True)
        self.status = QLabel("Ready.", wordWrap=True)
        self.chosen = QLabel(wordWrap=True)
        """The settings the run decided from its data ('auto'), and why."""
        self.chosen.setStyleSheet("color: #555;")
        self.chosen.hide()
        self.recon = ReconStrip()
        self.class_scores = ValidationScores()
        self.plots = TrainingPlots()
        self._history: tuple[EpochReport, ...] = ()  # the reports the plots show
        self.comparison = RunComparison(self.plots, lambda: self._history)
        self.comparison.error.connect(self.error)
        self.comparison.exported.connect(self._on_exported)
        self._run: TrainingRun | None = None  # the last run, kept until the next one starts
        self._run_snapshot: RunSnapshot | None = None  # the current run's latest snapshot
        self.import_progress: ImportProgressDialog | None = None  # the last import's dialogs
        self.import_report: ImportReportDialog | None = None
        self._running = self._failed = self._importing = False
        self._epochs = 0
        self._last_progress: BatchProgress | None = None
        self._progress_note = ""   # in place of the ETA: "paused", "stopping", ...
        self._unplotted: tuple[EpochReport, ...] | None = None  # the newest history, until drawn
        self._plot_timer = QTimer(self, singleShot=True, interval=PLOT_INTERVAL_MS)
        self._plot_timer.timeout.connect(self._plot)
        self._layout()

        self.form.changed.connect(self._update_controls)
        self.start_action = command("Start", self, self.start_button)
        self.pause_action = command("Pause", self, self.pause_button)
        self.stop_action = command("Stop", self, self.stop_button)
        """The run's commands; the buttons and the window's menus trigger them."""
        self.start_action.triggered.connect(self.start)
        self.pause_action.triggered.connect(self._toggle_pause)
        self.stop_action.triggered.connect(self.stop)
        self._show_progress(None)
        self._update_controls()

    def _layout(self) -> None:
        settings = QGroupBox("Run settings")
        box = QVBoxLayout(settings)
        box.addWidget(self.form)
        box.addWidget(self.form_error)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)
        recon = QGroupBox("Validation")
        self.validation_tabs = QTabWidget()
        self.validation_tabs.addTab(self.recon, "Reconstructions")
        self.validation_tabs.addTab(self.class_scores, "Per class")
        QVBoxLayout(recon).addWidget(self.validation_tabs)

        panel = QWidget()
        panel.setFixedWidth(PANEL_WIDTH)
        left = QVBoxLayout(panel)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(settings)
        left.addWidget(self.logs)
        left.addLayout(buttons)
        left.addWidget(self.progress)
        left.addWidget(self.status)
        left.addWidget(self.chosen)
        left.addWidget(recon)
        left.addWidget(self.comparison)
        left.addStretch(1)
        scroll = QScrollArea(widgetResizable=True)   # the unfolded model family may not fit
        scroll.setWidget(panel)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setFixedWidth(PANEL_WIDTH + scroll.verticalScrollBar().sizeHint().width())
        layout = QHBoxLayout(self)
        layout.addWidget(scroll)
        layout.addWidget(self.plots, 1)

    # --- state ----------------------------------------------------------------------------------
    def config(self) -> TrainConfig:
        """The run's settings as the form holds them (raises ConfigError when invalid)."""
        return self.form.config()

    def set_data_folder(self, folder: str) -> None:
        """Where the form's folder dialog starts."""
        self.form.start_folder = folder

    def use_folder(self, folder: str) -> None:
        """Make ``folder`` the data source of the next run."""
        self.form.use_folder(folder)

    def is_running(self) -> bool:
        return self._running

    def wait(self, msecs: int) -> bool:
        """Block until the training thread has ended (True) or `msecs` passed (False)."""
        return self._run is None or self._run.wait(msecs)

    def shutdown(self) -> None:
        """Stop scoring the validation set (the window closes)."""
        self.class_scores.shutdown()

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        """Show an opened run: its settings, history and reconstructions."""
        ckpt = snapshot.checkpoint
        self.form.set_config(ckpt.config)
        self._clear()
        self._show_history(tuple(ckpt.history))
        self.comparison.refresh()
        self.recon.set_reconstructions(snapshot.reconstructions)
        self.class_scores.show_run(snapshot)
        self.status.setText(f"Opened a run of {ckpt.epoch} epoch(s).")

    def reset(self) -> None:
        """Default settings and empty plots, for a new run."""
        self.form.set_config(TrainConfig())
        self._clear()
        self.status.setText("Ready.")

    def _clear(self) -> None:
        self.plots.clear()
        self._history = ()
        self.comparison.update_actions()
        self.recon.set_reconstructions(None)
        self._on_chose(())
        self.class_scores.clear()
        self._run_snapshot = None
        self._show_progress(None)

    # --- controls -------------------------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        """Start a run with the form's settings; refused (nothing starts) when they are invalid."""
        if self.is_running():
            return
        error = self.form.error() or self.logs.error()
        if error is not None:
            self.form_error.setText(error)
            return
        config = self.form.config()
        logs = self.logs.options()
        self._epochs = config.epochs
        self._clear()
        if self._run is not None:
            self._run.wait()  # it has ended; its thread is finishing
        self._run = TrainingRun(config, logs)
        worker = self._run.worker
        worker.status.connect(self._on_status)
        worker.chose.connect(self._on_chose)
        worker.import_progressed.connect(self._on_import_progress)
        worker.imported.connect(self._on_imported)
        worker.progressed.connect(self._on_progress)
        worker.reported.connect(self._on_reported)
        worker.snapshot.connect(self._on_snapshot)
        worker.failed.connect(self._on_failed)
        worker.ended.connect(self._on_ended)
        self._running, self._failed = True, False
        self._progress_note = ""
        self._run.start()
        self.pause_action.setText("Pause")
        self._update_controls()
        self.running_changed.emit(True)
        if not config.is_builtin_data:
            self._show_import_progress(config)

    def _show_import_progress(self, config: TrainConfig) -> None:
        if self.import_progress is not None:
            self.import_progress.deleteLater()
        self.import_progress = ImportProgressDialog(config.data, config.resolution, self)
        self.import_progress.cancelRequested.connect(self.stop)
        self.import_progress.open()
        self._importing = True
        self.status.setText(f"Importing shapes from {config.data} ...")

    @Slot()
    def stop(self) -> None:
        """Ask the run to stop after the current batch; the thread then ends by itself."""
        if self._running and self._run is not None:
            self._run.worker.stop()
            self.status.setText("Cancelling the import..." if self._importing else "Stopping...")
            self._note_progress("stopping")
            self.pause_action.setEnabled(False)
            self.stop_action.setEnabled(False)

    def is_paused(self) -> bool:
        return self._running and self.pause_action.text() == "Resume"

    def set_paused(self, paused: bool) -> None:
        """Pause the run after the current batch, or resume it (as the Pause button does)."""
        if self.is_running() and paused != self.is_paused():
            self._toggle_pause()

    @Slot()
    def _toggle_pause(self) -> None:
        if not self._running or self._run is None:
            return
        if self.pause_action.text() == "Pause":
            self._run.worker.pause()
            self.pause_action.setText("Resume")
            self.status.setText("Paused (after the current batch).")
            self._note_progress("paused")
        else:
            self._run.worker.resume()
            self.pause_action.setText("Pause")
            self.status.setText("Training...")
            self._note_progress("")

    @Slot()
    def _update_controls(self) -> None:
        running = self.is_running()
        error = None if running else self.form.error()
        self.form_error.setText(error or "")
        self.form.set_editable(not running)
        self.logs.set_editable(not running)
        self.start_action.setEnabled(not running and error is None)
        self.pause_action.setEnabled(running)
        self.stop_action.setEnabled(running)

    # --- worker signals (queued onto the GUI thread) --------------------------------------------
    @Slot(str)
    def _on_status(self, text: str) -> None:
        self.status.setText(text)

    @Slot(object)
    def _on_chose(self, choices: tuple[Choice, ...]) -> None:
        self.chosen.setText("\n".join(f"Chosen from the data: {c.line()}" for c in choices))
        self.chosen.setVisible(bool(choices))

    @Slot(int, int, str)
    def _on_import_progress(self, done: int, total: int, name: str) -> None:
        if self._importing and self.import_progress is not None:
            self.import_progress.set_progress(done, total, name)
            self.progress.setValue(round(done / max(total, 1) * PROGRESS_STEPS))
            self.progress.setFormat(f"Importing · file {done}/{total}")

    @Slot(object)
    def _on_imported(self, report: ImportReport) -> None:
        self._close_import_progress()
        if self.import_report is not None:
            self.import_report.close()
            self.import_report.deleteLater()
        self.import_report = ImportReportDialog(report, self)
        self.import_report.show()

    def _close_import_progress(self) -> None:
        if self._importing and self.import_progress is not None:
            self.import_progress.finish()
        self._importing = False

    @Slot(object)
    def _on_progress(self, progress: BatchProgress) -> None:
        self._show_progress(progress)
        self.plots.add_batch_loss(progress)

    @Slot(object)
    def _on_reported(self, history: tuple[EpochReport, ...]) -> None:
        self._unplotted = history
        if not self._plot_timer.isActive():
            self._plot()
        r = history[-1]
        self.status.setText(f"Epoch {r.epoch}: val loss {r.val_loss:.1f}, IoU {r.val_iou:.3f}, "
                            f"active {r.active_units}/{r.latent_dim}, "
                            f"{r.samples_per_s:.0f} shapes/s")

    @Slot()
    def _plot(self) -> None:
        """Draw the newest history, then hold further redraws back for PLOT_INTERVAL_MS."""
        if self._unplotted is not None:
            self._show_history(self._unplotted)
            self._unplotted = None
            self._plot_timer.start()

    def _show_history(self, history: tuple[EpochReport, ...]) -> None:
        self._history = history
        self.plots.show_history(history)
        self.comparison.update_actions()

    @Slot(str)
    def _on_exported(self, path: str) -> None:
        self.status.setText(f"Wrote {path}.")

    @Slot(object)
    def _on_snapshot(self, snapshot: RunSnapshot) -> None:
        self._run_snapshot = snapshot
        self.recon.set_reconstructions(snapshot.reconstructions)
        self.snapshot_taken.emit(snapshot)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._last_progress is None:     # failed before training: the import's count goes
            self._show_progress(None)
        self._close_import_progress()
        self._failed = True
        self.status.setText(f"Failed: {message}")
        self.error.emit(message)

    @Slot(bool)
    def _on_ended(self, finished: bool) -> None:
        if self._importing and not self._failed:  # stopped before the import was done
            self.status.setText("Import cancelled: nothing was trained.")
        elif not self._failed:
            self.status.setText("Finished." if finished else "Stopped.")
        if self._importing:
            self._show_progress(None)
            self._close_import_progress()
        self._note_progress("failed" if self._failed else "finished" if finished else "stopped")
        self._running = False
        self._plot_timer.stop()
        self._plot()
        if self._run_snapshot is not None:
            self.class_scores.show_run(self._run_snapshot)
        self._update_controls()
        self.running_changed.emit(False)
        self.run_ended.emit(finished)

    def _show_progress(self, p: BatchProgress | None) -> None:
        """The bar at batch ``p`` of the run; "Not running" for None. While the run pauses or
        stops, or once it ended, the bar says so instead of an ETA."""
        self._last_progress = p
        if p is None:
            self.progress.setValue(0)
            self.progress.setFormat("Not running")
            return
        done = (p.epoch - 1 + p.batch / p.batches) / self._epochs
        eta = p.elapsed_s * (1 - done) / max(done, 1e-9)
        self.progress.setValue(round(done * PROGRESS_STEPS))
        self.progress.setFormat(f"Epoch {p.epoch}/{self._epochs} · batch {p.batch}/{p.batches}"
                                f" · {self._progress_note or 'ETA ' + _duration(eta)}")

    def _note_progress(self, note: str) -> None:
        """Say ``note`` ("paused", "stopping", "stopped", ...) in place of the ETA."""
        self._progress_note = note
        if self._last_progress is not None:
            self._show_progress(self._last_progress)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
