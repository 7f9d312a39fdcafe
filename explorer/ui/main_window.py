"""The main window: Training and Explore tabs, the File and Help menus, checkpoint I/O."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox, QTabWidget, QWidget

from explorer.ui.background import BackgroundJob, error_message, wait_for
from explorer.ui.explore_view import ExploreView
from explorer.ui.snapshot import RunSnapshot, load_snapshot
from explorer.ui.training_view import TrainingView
from trainer.checkpoint import save_checkpoint
from trainer.cli import DEFAULT_CHECKPOINT

APP_NAME = "Shape Latent Explorer"
CLOSE_WAIT_MS = 2000
CHECKPOINT_FILTER = "Checkpoints (*.pt);;All files (*)"
ABOUT = (f"<b>{APP_NAME}</b><p>Train a variational auto-encoder on 3D voxel shapes, watch its "
         "losses and latent statistics live, then explore the latent space: prior samples, "
         "dimension traversals and interpolations, decoded to meshes.</p>")


class MainWindow(QMainWindow):
    """Holds the latest model (a RunSnapshot): what Save writes and the Explore view shows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_NAME)
        self.resize(1500, 950)
        self.training = TrainingView()
        self.explore = ExploreView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.training, "Training")
        self.tabs.addTab(self.explore, "Explore")
        self.setCentralWidget(self.tabs)
        self.snapshot: RunSnapshot | None = None
        self._unsaved = False  # the snapshot comes from a run and has not been saved
        self._explored: RunSnapshot | None = None
        self._load_job: BackgroundJob | None = None
        self._save_job: BackgroundJob | None = None
        self._close_when_idle = False
        self._make_menus()

        self.training.snapshot_taken.connect(self._on_snapshot)
        self.training.run_ended.connect(self._on_run_ended)
        self.training.error.connect(self._show_error)
        self.training.running_changed.connect(self._on_running_changed)
        self._update_actions()
        self.statusBar().showMessage("Set up a run and press Start, or open a checkpoint.")

    def _make_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.new_action = self._action(file_menu, "&New run", QKeySequence.StandardKey.New,
                                       self.new_run)
        self.open_action = self._action(file_menu, "&Open checkpoint...",
                                        QKeySequence.StandardKey.Open, self.open_checkpoint)
        self.save_action = self._action(file_menu, "&Save checkpoint as...",
                                        QKeySequence.StandardKey.SaveAs, self.save_checkpoint_as)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&About", None, self._about)

    def _action(self, menu: QMenu, text: str, shortcut: QKeySequence.StandardKey | None,
                slot: Callable[[], object]) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    @Slot()
    def _update_actions(self) -> None:
        idle = not self.training.is_running() and self._load_job is None
        self.new_action.setEnabled(idle)
        self.open_action.setEnabled(idle)
        self.save_action.setEnabled(self.snapshot is not None and self._save_job is None)
        self.training.setEnabled(self._load_job is None)

    @Slot(bool)
    def _on_running_changed(self, running: bool) -> None:
        if running:
            self.statusBar().clearMessage()  # the Training view shows the run's status
        self._update_actions()

    # --- File menu ------------------------------------------------------------------------------
    @Slot()
    def new_run(self) -> None:
        """Default settings and empty plots; the current model stays in the Explore view."""
        if not self.training.is_running():
            self.training.reset()

    @Slot()
    def open_checkpoint(self) -> None:
        path = QFileDialog.getOpenFileName(self, "Open checkpoint", "", CHECKPOINT_FILTER)[0]
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> None:
        """Load a checkpoint (and regenerate its validation shapes) on a background thread."""
        if self.training.is_running() or self._load_job is not None:
            return
        self._load_job = BackgroundJob(lambda: load_snapshot(path), self)
        self._load_job.succeeded.connect(self._on_loaded)
        self._load_job.failed.connect(self._on_load_failed)
        self._load_job.start()
        self.statusBar().showMessage(f"Opening {path} ...")
        self._update_actions()

    @Slot()
    def save_checkpoint_as(self) -> None:
        path = QFileDialog.getSaveFileName(self, "Save checkpoint as", DEFAULT_CHECKPOINT,
                                           CHECKPOINT_FILTER)[0]
        if path:
            self.save_to(path)

    def save_to(self, path: str | Path) -> None:
        """Write the latest model's checkpoint (atomically) on a background thread."""
        if self.snapshot is None or self._save_job is not None:
            return
        snapshot = self.snapshot
        self._save_job = BackgroundJob(lambda: (save_checkpoint(path, snapshot.checkpoint),
                                                snapshot), self)
        self._save_job.succeeded.connect(self._on_saved)
        self._save_job.failed.connect(self._on_save_failed)
        self._save_job.start()
        self.statusBar().showMessage(f"Saving {path} ...")
        self._update_actions()

    # --- results (GUI thread) -------------------------------------------------------------------
    @Slot(object)
    def _on_snapshot(self, snapshot: RunSnapshot) -> None:
        self.snapshot, self._unsaved = snapshot, True
        self._update_actions()

    @Slot(bool)
    def _on_run_ended(self, _finished: bool) -> None:
        if self.snapshot is not None and self.snapshot is not self._explored:
            self._explore(self.snapshot)
        if self._close_when_idle:
            self.close()

    @Slot(object)
    def _on_loaded(self, snapshot: RunSnapshot) -> None:
        self._load_job = None
        self.snapshot, self._unsaved = snapshot, False
        self.training.show_snapshot(snapshot)
        self._explore(snapshot)
        ckpt = snapshot.checkpoint
        note = "" if snapshot.session.shapes is not None else \
            " (its validation shapes are not available: the data could not be loaded)"
        self.statusBar().showMessage(f"Opened a model trained for {ckpt.epoch} epoch(s){note}.")
        self._update_actions()

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        self._load_job = None
        self.statusBar().showMessage("Opening failed.")
        self._update_actions()
        self._show_error(message)

    @Slot(object)
    def _on_saved(self, result: tuple[Path, RunSnapshot]) -> None:
        path, saved = result
        self._save_job = None
        if saved is self.snapshot:
            self._unsaved = False
        self.statusBar().showMessage(f"Saved {path}")
        self._update_actions()

    @Slot(str)
    def _on_save_failed(self, message: str) -> None:
        self._save_job = None
        self.statusBar().showMessage("Saving failed.")
        self._update_actions()
        self._show_error(message)

    def _explore(self, snapshot: RunSnapshot) -> None:
        self._explored = snapshot
        self.explore.set_session(snapshot.session)

    @Slot(str)
    def _show_error(self, message: str) -> None:
        QMessageBox.critical(self, APP_NAME, message)

    @Slot()
    def _about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", ABOUT)

    # --- closing --------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Offer to save an unsaved model, stop training and join its thread within 2 s."""
        if not self._close_when_idle:
            save_to = self._ask_save_path()
            if save_to is False or (save_to and not self._save_now(save_to)):
                event.ignore()
                return
            self.training.stop()
        if not self.training.wait(CLOSE_WAIT_MS):  # only data preparation runs this long
            self._close_when_idle = True
            self.statusBar().showMessage("Closing once data preparation has stopped ...")
            event.ignore()
            return
        self._finish_save_in_flight()
        self.explore.shutdown()
        event.accept()

    def _ask_save_path(self) -> str | bool | None:
        """A path to save to, None for no saving, False to cancel closing."""
        if self.snapshot is None or not self._unsaved:
            return None
        answer = QMessageBox.question(
            self, APP_NAME, "Save the model of the last completed epoch before quitting?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.No:
            return None
        path = QFileDialog.getSaveFileName(self, "Save checkpoint as", DEFAULT_CHECKPOINT,
                                           CHECKPOINT_FILTER)[0]
        return path or False

    def _save_now(self, path: str) -> bool:
        """Save on an I/O thread and wait for it (the window is closing); False on failure."""
        assert self.snapshot is not None
        checkpoint = self.snapshot.checkpoint
        self._finish_save_in_flight()
        try:
            wait_for(lambda: save_checkpoint(path, checkpoint))
        except Exception as exc:
            self._show_error(error_message(exc))
            return False
        self._unsaved = False
        return True

    def _finish_save_in_flight(self) -> None:
        if self._save_job is not None and self._save_job.future is not None:
            self._save_job.future.exception()  # waits; the outcome still arrives as a signal
