"""The main window: Training, Explore and Complete tabs, menus with shortcuts, checkpoint I/O,
start-up.

At start-up (``import_in_background=True``, as ``run_app`` does) the window paints first with its
menus; the heavy modules (torch, trimesh, scikit-image, PyOpenGL) are then imported on a
background thread, the views are built, and the start-up model opens in the background into the
Explore view. Without it (tests, scripts) the views are built at once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox, QTabWidget

from explorer import __version__
from explorer.ui.background import BackgroundJob, error_message, wait_for
from explorer.ui.file_drop import FileOpener
from explorer.ui.settings import CHECKPOINTS, DATA, EXPORTS, AppSettings, RecentMenu
from explorer.ui.shortcuts import MOUSE_HELP, ShortcutsDialog
from trainer.budgets import ERROR_CHARS
from trainer.error_line import printable

if TYPE_CHECKING:
    import numpy as np

    from explorer.ui.complete_view import CompleteView
    from explorer.ui.evaluate_dialog import EvaluateDialog
    from explorer.ui.explore_view import ExploreView
    from explorer.ui.snapshot import RunSnapshot
    from explorer.ui.training_view import TrainingView

APP_NAME = "Shape Latent Explorer"
CLOSE_WAIT_MS = 2000
EXPLORE_SPLITTER = "explore"
FAILURE_NOTE_MS = 10_000
"""How long the status bar notes a failure (its dialog gave the details)."""
DEFAULT_SIZE = (1500, 950)
"""The window's first size, on a screen that has room for it (else most of the screen)."""
CHECKPOINT_FILTER = "Checkpoints (*.pt);;All files (*)"
OPEN_FILTER = "Checkpoints (*.pt *.safetensors);;All files (*)"
HEAVY_MODULES = ("torch", "trimesh", "skimage.measure", "scipy.ndimage", "OpenGL.GL",
                 "explorer.session", "explorer.export", "explorer.meshing", "trainer.loop")
"""Qt-free modules the views need, imported off the GUI thread before the views are built.

TorchDynamo and Inductor are not among them: only the decoder's compilation needs them, and it
starts after a model's first gallery, so the first window and gallery do not wait for their
import. Eager decoding never imports them, so they are imported on one thread only."""
ABOUT = (f"<b>{APP_NAME}</b> {__version__}<p>Train a variational auto-encoder on 3D voxel "
         "shapes, watch its losses and latent statistics live, then explore the latent space: "
         "prior samples, dimension traversals and interpolations, decoded to meshes.</p>"
         f"<p>{MOUSE_HELP}</p>"
         "<p>Help &gt; Keyboard shortcuts (F1) lists the shortcuts.</p>")
Shortcut = QKeySequence.StandardKey | str | None


class MainWindow(QMainWindow):
    """Holds the latest model (a RunSnapshot): what Save writes and the Explore view shows.

    ``settings`` is where geometry, folders and recent checkpoints are kept (the user's
    QSettings by default). ``startup_model``, when given, is opened once the views exist: a
    success shows it in the Explore view, a failure or a missing file leaves a hint in the
    status bar and shows the Training view (no dialog).

    ``viewsReady`` fires once the views exist, ``loadFinished`` after every checkpoint load,
    successful or not. Files and folders dropped on the window open through ``file_opener``.
    """

    viewsReady = Signal()
    loadFinished = Signal()
    dataLoaded = Signal()
    """An opened run's data set arrived (after its model: see `_load_data`)."""

    def __init__(self, parent: QMainWindow | None = None, *, settings: AppSettings | None = None,
                 startup_model: str | Path | None = None,
                 import_in_background: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_NAME)
        available = self.screen().availableGeometry()
        self.resize(min(DEFAULT_SIZE[0], available.width() * 19 // 20),
                    min(DEFAULT_SIZE[1], available.height() * 9 // 10))
        self.settings = settings or AppSettings()
        self.settings.restore_window(self)
        self.training: TrainingView
        self.explore: ExploreView
        self.complete: CompleteView
        self._checkpoint_path: Path | None = None   # the file of the model explored, if any
        self.tabs = QTabWidget()
        self.views_ready = False
        self.snapshot: RunSnapshot | None = None
        self._unsaved = False  # the snapshot comes from a run and has not been saved
        self._explored: RunSnapshot | None = None
        self._load_job: BackgroundJob | None = None
        self._data_job: BackgroundJob | None = None
        self._data_for: RunSnapshot | None = None
        self._loading: tuple[Path, bool] | None = None  # path being opened, is it start-up's
        self._save_job: BackgroundJob | None = None
        self._import_job: BackgroundJob | None = None
        self._close_when_idle = False
        self._startup_model = Path(startup_model) if startup_model is not None else None
        self._no_model_hint = ""
        self.shortcuts_dialog: ShortcutsDialog | None = None
        self.evaluate_dialog: EvaluateDialog | None = None
        self._make_menus()
        self._update_actions()
        self.file_opener = FileOpener(self)
        if import_in_background:
            self.setCentralWidget(QLabel(f"Starting {APP_NAME} ...\n\nLoading PyTorch and "
                                         "the 3D view; the start-up model opens next.",
                                         alignment=Qt.AlignmentFlag.AlignCenter))
            self.statusBar().showMessage("Loading ...")
            self._import_job = BackgroundJob(_import_heavy_modules, self)
            self._import_job.succeeded.connect(self._build_views)
            self._import_job.failed.connect(self._show_error)
            self._import_job.start()
        else:
            self._build_views()

    # --- construction ---------------------------------------------------------------------------
    def _make_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.new_action = self._action(file_menu, "&New run", QKeySequence.StandardKey.New,
                                       self.new_run)
        self.open_action = self._action(file_menu, "&Open checkpoint...",
                                        QKeySequence.StandardKey.Open, self.open_checkpoint)
        self.recent_menu = RecentMenu(self.settings, self)
        self.recent_menu.chosen.connect(self.open_path)
        file_menu.addMenu(self.recent_menu)
        self.save_action = self._action(file_menu, "&Save checkpoint as...", None,
                                        self.save_checkpoint_as)
        self.save_action.setShortcuts([QKeySequence("Ctrl+S"),
                                       QKeySequence(QKeySequence.StandardKey.SaveAs)])
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)

        view_menu = bar.addMenu("&View")
        self.training_tab_action = self._action(view_menu, "&Training view", "Ctrl+1",
                                                lambda: self._show_tab(self.training))
        self.explore_tab_action = self._action(view_menu, "&Explore view", "Ctrl+2",
                                               lambda: self._show_tab(self.explore))
        self.complete_tab_action = self._action(view_menu, "&Complete view", "Ctrl+3",
                                                lambda: self._show_tab(self.complete))

        self.train_menu = train_menu = bar.addMenu("&Training")
        self.start_action = self._action(train_menu, "&Start training", "F5", self._start)
        self.pause_action = self._action(train_menu, "&Pause / resume training", "F6",
                                         lambda: self.training.pause_action.trigger())
        self.stop_action = self._action(train_menu, "S&top training", "Shift+F5",
                                        lambda: self.training.stop_action.trigger())

        self.explore_menu = explore_menu = bar.addMenu("&Explore")
        self.samples_action = self._action(explore_menu, "&New samples", "Ctrl+G",
                                           lambda: self._trigger_explore("new_samples_action"))
        self.export_action = self._action(explore_menu, "&Export shape...", "Ctrl+E",
                                          lambda: self._trigger_explore("export_mesh_action"))
        self.screenshot_action = self._action(explore_menu, "Save &screenshot...", "F12",
                                              lambda: self._trigger_explore("screenshot_action"))
        self.camera_action = self._action(explore_menu, "&Reset camera", "Ctrl+0",
                                          lambda: self._trigger_explore("reset_camera_action"))

        model_menu = bar.addMenu("&Model")
        self.evaluate_action = self._action(model_menu, "E&valuate model...", None,
                                            self.evaluate_model)

        help_menu = bar.addMenu("&Help")
        self.shortcuts_action = self._action(help_menu, "&Keyboard shortcuts",
                                             QKeySequence.StandardKey.HelpContents,
                                             self.show_shortcuts)
        self._action(help_menu, "&About", None, self._about)

    def _action(self, menu: QMenu, text: str, shortcut: Shortcut,
                slot: Callable[[], object]) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    @Slot(object)
    def _build_views(self, _imported: object = None) -> None:
        """Create the Training and Explore views (their modules import fast once
        HEAVY_MODULES are loaded), then open the start-up model."""
        from explorer.ui.complete_view import CompleteView
        from explorer.ui.explore_view import ExploreView
        from explorer.ui.training_view import TrainingView

        self._import_job = None
        self.training = TrainingView()
        self.explore = ExploreView()
        self.complete = CompleteView()
        self.tabs.addTab(self.training, "Training")
        self.tabs.addTab(self.explore, "Explore")
        self.tabs.addTab(self.complete, "Complete")
        self.complete.explore_shape = lambda: self.explore.current_shape
        self.complete.exploreRequested.connect(self._explore_completion)
        self.explore_menu.addSeparator()
        for action in (self.explore.wireframe_action, self.explore.voxels_action):
            self.explore_menu.addAction(action)   # the view's own toggles
        self.train_menu.addSeparator()
        self.train_menu.addAction(self.training.comparison.compare_action)
        self.setCentralWidget(self.tabs)
        self._no_model_hint = self.explore.hint.text()
        self.training.set_data_folder(self.settings.last_folder(DATA))
        self.explore.export_folder = self.settings.last_folder(EXPORTS)
        self.settings.restore_splitter(EXPLORE_SPLITTER, self.explore.splitter)

        self.training.snapshot_taken.connect(self._on_snapshot)
        self.training.run_ended.connect(self._on_run_ended)
        self.training.error.connect(self._show_error)
        self.training.running_changed.connect(self._on_running_changed)
        self.explore.exportRequested.connect(self._on_export_requested)
        self.views_ready = True
        self._update_actions()
        self.statusBar().showMessage("Set up a run and press Start, or open a checkpoint.")
        if self._startup_model is not None:
            self._open_startup_model(self._startup_model)
        self.viewsReady.emit()

    @property
    def is_loading(self) -> bool:
        """Whether a checkpoint is being opened."""
        return self._load_job is not None

    @Slot()
    def _update_actions(self) -> None:
        ready = self.views_ready
        running = ready and self.training.is_running()
        idle = ready and not running and self._load_job is None
        self.new_action.setEnabled(idle)
        self.open_action.setEnabled(idle)
        self.recent_menu.setEnabled(idle)
        self.start_action.setEnabled(idle)
        self.pause_action.setEnabled(running)
        self.stop_action.setEnabled(running)
        self.save_action.setEnabled(self.snapshot is not None and self._save_job is None)
        self.evaluate_action.setEnabled(idle and self.snapshot is not None)
        exploring = ready and self.explore.session is not None
        for action in (self.samples_action, self.export_action, self.screenshot_action,
                       self.camera_action):
            action.setEnabled(exploring)
        for action in (self.training_tab_action, self.explore_tab_action,
                       self.complete_tab_action):
            action.setEnabled(ready)
        if ready:
            self.training.setEnabled(self._load_job is None)

    @Slot(bool)
    def _on_running_changed(self, running: bool) -> None:
        if running:
            self.statusBar().clearMessage()  # the Training view shows the run's status
            config = self.training.config()
            if not config.is_builtin_data:
                self.settings.remember_folder(DATA, config.data)
                self.training.set_data_folder(self.settings.last_folder(DATA))
        self._update_actions()

    # --- shortcuts ------------------------------------------------------------------------------
    def _show_tab(self, view: TrainingView | ExploreView | CompleteView) -> None:
        self.tabs.setCurrentWidget(view)

    @Slot()
    def _start(self) -> None:
        self._show_tab(self.training)
        self.training.start_action.trigger()

    def _trigger_explore(self, action: str) -> None:
        """Show the Explore view and trigger one of its actions (its buttons trigger them
        too)."""
        self._show_tab(self.explore)
        getattr(self.explore, action).trigger()

    @Slot(object, str)
    def _explore_completion(self, code: np.ndarray, label: str) -> None:
        """Explore from a completed code: it becomes the Explore view's code and origin."""
        from explorer.explore_state import CodeOrigin

        self._show_tab(self.explore)
        self.explore.state.set_code(code, CodeOrigin("completion", label))

    @Slot()
    def show_shortcuts(self) -> None:
        """Help > Keyboard shortcuts: a table built from the menus' actions."""
        if self.shortcuts_dialog is not None:
            self.shortcuts_dialog.close()
            self.shortcuts_dialog.deleteLater()
        self.shortcuts_dialog = ShortcutsDialog(self.menuBar(), self)
        self.shortcuts_dialog.show()

    @Slot()
    def evaluate_model(self) -> None:
        """Model > Evaluate model: the dialog for the latest model (raised again with its report
        while the model is the same; a new one, stopping the old one's evaluation, otherwise)."""
        from explorer.ui.evaluate_dialog import EvaluateDialog

        if self.snapshot is None:
            return
        dialog = self.evaluate_dialog
        if dialog is None or dialog.ckpt is not self.snapshot.checkpoint:
            if dialog is not None:
                dialog.reject()
                dialog.deleteLater()
            dialog = self.evaluate_dialog = EvaluateDialog(self.snapshot.checkpoint,
                                                           self.settings, self)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    # --- File menu ------------------------------------------------------------------------------
    @Slot()
    def new_run(self) -> None:
        """Default settings and empty plots; the current model stays in the Explore view.
        An unsaved model is offered for saving first."""
        if self.training.is_running():
            return
        save_to = self._ask_save_path("starting a new run")
        if save_to is False:
            return
        if save_to:
            self.save_to(save_to)
        self.training.reset()

    @Slot()
    def open_checkpoint(self) -> None:
        path = QFileDialog.getOpenFileName(self, "Open checkpoint",
                                           self.settings.last_folder(CHECKPOINTS),
                                           OPEN_FILTER)[0]
        if path:
            self.open_path(path)

    @Slot(str)
    def open_path(self, path: str | Path) -> None:
        """Load a checkpoint (and regenerate its validation shapes) on a background thread."""
        self._open(Path(path), startup=False)

    def _open_startup_model(self, path: Path) -> None:
        if not path.is_file():
            self._startup_failed(f"No bundled model at {path} (regenerate it with "
                                 "`python main.py bundle`).")
            return
        self._show_tab(self.explore)
        self.explore.hint.setText("Opening the bundled model ...")
        self._open(path, startup=True)

    def _open(self, path: Path, startup: bool) -> None:
        if not self.views_ready or self.training.is_running() or self._load_job is not None:
            return
        from explorer.ui.snapshot import load_snapshot

        self._loading = (path, startup)
        self._load_job = BackgroundJob(lambda: load_snapshot(path), self)
        self._load_job.succeeded.connect(self._on_loaded)
        self._load_job.failed.connect(self._on_load_failed)
        self._load_job.start()
        self.statusBar().showMessage(f"Opening {path} ...")
        self._update_actions()

    @Slot()
    def save_checkpoint_as(self) -> None:
        path = self._ask_checkpoint_path()
        if path:
            self.save_to(path)

    def _ask_checkpoint_path(self) -> str:
        """The save dialog, in the folder of the last checkpoint; an empty string if cancelled."""
        from trainer.cli import DEFAULT_CHECKPOINT

        folder = self.settings.last_folder(CHECKPOINTS)
        suggestion = str(Path(folder) / Path(DEFAULT_CHECKPOINT).name) if folder else \
            DEFAULT_CHECKPOINT
        return QFileDialog.getSaveFileName(self, "Save checkpoint as", suggestion,
                                           CHECKPOINT_FILTER)[0]

    def save_to(self, path: str | Path, snapshot: RunSnapshot | None = None) -> None:
        """Write ``snapshot`` (the latest model by default) atomically on a background thread."""
        snapshot = snapshot or self.snapshot
        if snapshot is None or self._save_job is not None:
            return
        from trainer.checkpoint import save_checkpoint

        self._save_job = BackgroundJob(lambda: (save_checkpoint(path, snapshot.checkpoint),
                                                snapshot), self)
        self._save_job.succeeded.connect(self._on_saved)
        self._save_job.failed.connect(self._on_save_failed)
        self._save_job.start()
        self.statusBar().showMessage(f"Saving {path} ...")
        self._update_actions()

    def _remember_checkpoint(self, path: str | Path) -> None:
        self.settings.add_recent(path)
        self.settings.remember_folder(CHECKPOINTS, path)
        self.recent_menu.refresh()

    @Slot(str, str, str)
    def _on_export_requested(self, _kind: str, _path: str, _fmt: str) -> None:
        if self.explore.export_folder:
            self.settings.remember_folder(EXPORTS, self.explore.export_folder)

    # --- results (GUI thread) -------------------------------------------------------------------
    @Slot(object)
    def _on_snapshot(self, snapshot: RunSnapshot) -> None:
        self.snapshot, self._unsaved = snapshot, True
        self._checkpoint_path = None
        self._update_actions()

    @Slot(bool)
    def _on_run_ended(self, _finished: bool) -> None:
        if self.snapshot is not None and self.snapshot is not self._explored:
            self._explore(self.snapshot)
        if self._close_when_idle:
            self.close()

    @Slot(object)
    def _on_loaded(self, snapshot: RunSnapshot) -> None:
        assert self._loading is not None
        path, startup = self._loading
        self._load_job = self._loading = None
        self.snapshot, self._unsaved = snapshot, False
        self._checkpoint_path = path
        self.training.show_snapshot(snapshot)
        self._explore(snapshot, first_sample=startup)
        self._load_data(snapshot)
        ckpt = snapshot.checkpoint
        if startup:
            self._show_tab(self.explore)
            data = "the built-in solids" if ckpt.config.is_builtin_data else ckpt.config.data
            self.statusBar().showMessage(
                f"Exploring {path.name}, a model trained for {ckpt.epoch} epochs on {data}. "
                "Train your own in the Training view (Ctrl+1) or open a checkpoint (Ctrl+O); "
                "F1 lists the shortcuts.")
        else:
            self._remember_checkpoint(path)
            self.statusBar().showMessage(f"Opened a model trained for {ckpt.epoch} epoch(s); "
                                         "its data set loads in the background.")
        self._update_actions()
        self.loadFinished.emit()

    def _load_data(self, snapshot: RunSnapshot) -> None:
        """Regenerate (or import again) an opened run's data on a background thread, after
        its model: the gallery does not wait for it."""
        from explorer.ui.snapshot import with_data

        self._data_for = snapshot
        self._data_job = BackgroundJob(lambda: with_data(snapshot), self)
        self._data_job.succeeded.connect(self._on_data_loaded)
        self._data_job.start()

    @Slot(object)
    def _on_data_loaded(self, full: RunSnapshot | None) -> None:
        """Give the opened run its data set and reconstructions, if it is still the one shown
        (a note in the status bar when the data could not be loaded)."""
        if self._data_for is not self.snapshot:
            return
        if full is None:
            self.statusBar().showMessage("The run's data set could not be loaded: the data set "
                                         "shapes are not available for interpolation.",
                                         FAILURE_NOTE_MS)
            return
        from explorer.ui.snapshot import RunSnapshot

        session = self.snapshot.session    # the one explored: it gains the data set
        session.shapes, session.shape_names = full.session.shapes, full.session.shape_names
        self.snapshot = self._explored = RunSnapshot(full.checkpoint, session,
                                                     full.reconstructions)
        self.training.show_snapshot(self.snapshot)
        self.explore.show_data()
        self.complete.show_data()
        self.dataLoaded.emit()

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        assert self._loading is not None
        path, startup = self._loading
        self._load_job = self._loading = None
        if startup:
            self._startup_failed(f"The bundled model could not be opened: {message}")
            self._update_actions()
            self.loadFinished.emit()
            return
        if not path.exists():
            self.settings.remove_recent(path)
            self.recent_menu.refresh()
        self.statusBar().showMessage(f"Opening {path.name} failed.", FAILURE_NOTE_MS)
        self._update_actions()
        self._show_error(message)
        self.loadFinished.emit()

    def _startup_failed(self, why: str) -> None:
        """No model to explore at start-up: say so in the status bar, show the Training view."""
        self.explore.hint.setText(self._no_model_hint)
        self._show_tab(self.training)
        self.statusBar().showMessage(f"{why.rstrip('.')}. Train a model here (press Start or "
                                     "F5), or open a checkpoint (Ctrl+O).")

    @Slot(object)
    def _on_saved(self, result: tuple[Path, RunSnapshot]) -> None:
        path, saved = result
        self._save_job = None
        if saved is self.snapshot:
            self._unsaved = False
            self._checkpoint_path = Path(path)
            self.complete.checkpoint = Path(path)
        self._remember_checkpoint(path)
        self.statusBar().showMessage(f"Saved {path}")
        self._update_actions()

    @Slot(str)
    def _on_save_failed(self, message: str) -> None:
        self._save_job = None
        self.statusBar().showMessage("Saving failed.", FAILURE_NOTE_MS)
        self._update_actions()
        self._show_error(message)

    def _explore(self, snapshot: RunSnapshot, first_sample: bool = False) -> None:
        self._explored = snapshot
        self.explore.set_session(snapshot.session, first_sample=first_sample)
        self.complete.set_session(snapshot.session, self._checkpoint_path)
        self._update_actions()

    @Slot(str)
    def _show_error(self, message: str) -> None:
        QMessageBox.critical(self, APP_NAME, printable(message, ERROR_CHARS))

    @Slot()
    def _about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", ABOUT)

    # --- closing --------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Offer to save an unsaved model (training pauses while asked), stop training and join
        its thread within 2 s."""
        if not self.views_ready:  # closed while starting: build nothing afterwards
            if self._import_job is not None:
                self._import_job.succeeded.disconnect(self._build_views)
            self.settings.save_window(self)
            event.accept()
            return
        if not self._close_when_idle:
            pausing = self.training.is_running() and not self.training.is_paused()
            if pausing:
                self.training.set_paused(True)
            snapshot = self.snapshot
            save_to = self._ask_save_path("quitting")
            if save_to is False or (save_to and not self._save_now(save_to, snapshot)):
                if pausing:
                    self.training.set_paused(False)
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
        self.training.shutdown()
        if self.evaluate_dialog is not None:
            self.evaluate_dialog.shutdown()
        self.complete.shutdown()
        self.settings.save_window(self, {EXPLORE_SPLITTER: self.explore.splitter})
        if self.shortcuts_dialog is not None:
            self.shortcuts_dialog.close()
        event.accept()

    def _ask_save_path(self, before: str) -> str | bool | None:
        """Before ``before`` ("quitting", "starting a new run") with a model that is not saved
        or a run still in its first epoch: a path to save to, None for no saving, False to
        cancel."""
        Button = QMessageBox.StandardButton
        if self.snapshot is None or not self._unsaved:
            if not self.training.is_running():
                return None
            answer = QMessageBox.question(
                self, APP_NAME, f"Training has not finished its first epoch, so there is no "
                f"model to save yet. Stop it before {before}?", Button.Yes | Button.Cancel,
                Button.Cancel)
            return False if answer == Button.Cancel else None
        epoch = self.snapshot.checkpoint.epoch
        answer = QMessageBox.question(
            self, APP_NAME, f"The model of epoch {epoch} is not saved. Save it before {before}?",
            Button.Yes | Button.No | Button.Cancel, Button.Cancel)
        if answer == Button.Cancel:
            return False
        if answer == Button.No:
            return None
        return self._ask_checkpoint_path() or False

    def _save_now(self, path: str, snapshot: RunSnapshot | None) -> bool:
        """Save ``snapshot`` on an I/O thread and wait for it (the window is closing); False on
        failure."""
        from trainer.checkpoint import save_checkpoint

        assert snapshot is not None
        checkpoint = snapshot.checkpoint
        self._finish_save_in_flight()
        try:
            wait_for(lambda: save_checkpoint(path, checkpoint))
        except Exception as exc:
            self._show_error(error_message(exc))
            return False
        if snapshot is self.snapshot:
            self._unsaved = False
        self._remember_checkpoint(path)
        return True

    def _finish_save_in_flight(self) -> None:
        if self._save_job is not None and self._save_job.future is not None:
            self._save_job.future.exception()  # waits; the outcome still arrives as a signal


def _import_heavy_modules() -> tuple[str, ...]:
    """Import HEAVY_MODULES (on a background thread); returns their names."""
    for name in HEAVY_MODULES:
        importlib.import_module(name)
    return HEAVY_MODULES
