"""The Complete view: scan a shape partially from the 3D view's camera, complete the scan with
AML, ML (live), Naive or Mean, score it against the truth, explore from the completed code,
export it, and train a completion encoder for the open model.

What is shown lives in ``state`` (explorer.complete_state.CompleteState); scanning, decoding,
meshing and writing run on the view's background worker (``ExploreWorker``), latent search and
encoder training on their own threads (``LongTask``); this widget only turns actions into work
and shows the results.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from explorer import completion_tasks as tasks
from explorer.complete_state import CompleteState
from explorer.export import MESH_FORMATS, export_mesh
from explorer.meshing import mesh_from_grid
from explorer.session import ExplorerSession
from explorer.ui.complete_scene import CompleteScene
from explorer.ui.complete_training import EncoderPanel
from explorer.ui.explore_tasks import Shape
from explorer.ui.explore_worker import ExploreWorker
from explorer.ui.splitter import GripSplitter
from explorer.ui.task_thread import LongTask
from trainer.budgets import ERROR_CHARS
from trainer.completion.amortised import completion_path
from trainer.completion.latent_search import SearchSettings
from trainer.completion.observation import OBSERVATION_KINDS
from trainer.error_line import printable
from trainer.errors import ShapeExplorerError

DATASET, EXPLORE, FILE = "Data set shape", "Explore shape", "Shape file"
NO_MODEL_HINT = "Open or train a model to complete partial scans of its shapes."
DEFAULT_ML_STEPS = 100
CAMERA_POLL_MS = 200
"""While "Follow the camera" is on, the camera is checked this often and a moved one rescans."""
SHAPE_FILTER = ("Shapes (*.off *.obj *.stl *.ply *.glb *.gltf *.binvox *.npy *.npz);;"
                "All files (*)")
LOSS_PEN = "#4c78a8"
STOP_WAIT_S = 5.0
SPLITTER_SIZES = (300, 800, 330)
"""Initial widths of the controls, the 3D view and the plots."""


class CompleteView(QWidget):
    """Scan, complete, score, explore from, export (module docstring).

    ``exploreRequested(code, label)`` asks the window to explore from a completed code;
    ``scanned`` fires when an observation is shown, ``completed`` when a completion is final,
    ``searchStepped`` when a live search shows a step, ``exported(paths)`` after an export.
    ``explore_shape`` (set by the window) returns the Explore view's shape (None: none).
    """

    exploreRequested = Signal(object, str)
    scanned = Signal()
    completed = Signal()
    searchStepped = Signal()
    exported = Signal(list)
    encoderChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = CompleteState()
        self.session: ExplorerSession | None = None
        self.checkpoint: Path | None = None
        self.encoder = None
        self.explore_shape: Callable[[], Shape | None] = lambda: None
        self._search: LongTask | None = None
        self._searched = None   # the observation the running search completes
        self._training: LongTask | None = None
        self._trained_for: ExplorerSession | None = None
        self._truth_mesh = None
        self._last_camera: tuple[float, float] | None = None
        self.service = ExploreWorker(self)
        self.service.error.connect(self._on_error)

        self.scene = CompleteScene()
        self.source = QComboBox()
        self.source.addItems([DATASET, EXPLORE, FILE])
        self.class_name = QComboBox()
        self.index = QSpinBox(minimum=1, maximum=1, prefix="#")
        self.open_file = QPushButton("Open shape file...")
        self.use_shape = QPushButton("Use this shape")
        self.use_shape.setToolTip("Observe the picked data set shape, or the shape the "
                                  "Explore view shows")
        self.shape_label = QLabel(wordWrap=True)
        self.kind = QComboBox()
        self.kind.addItems(list(OBSERVATION_KINDS))
        self.kind.setToolTip("single-view: a depth scan from the camera; noisy: with depth "
                             "noise and lost rays; multi-view: three scans around; cut: the "
                             "half facing the camera; box: all but a removed box")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.seed.setToolTip("Draws the noise of a noisy scan and the removed box")
        self.scan_button = QPushButton("Scan from this view")
        self.scan_button.setToolTip("Scan the shape from where the 3D view's camera looks")
        self.follow = QCheckBox("Follow the camera")
        self.follow.setToolTip("Scan again whenever the camera moves")
        self.scan_label = QLabel(wordWrap=True)
        self.method = QComboBox()
        for method in tasks.METHODS:
            self.method.addItem(tasks.METHOD_NAMES[method], method)
        self.steps = QSpinBox(minimum=1, maximum=5000, value=DEFAULT_ML_STEPS)
        self.steps.setToolTip("Steps of the latent search (ML)")
        self.complete_button = QPushButton("Complete")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.result = QLabel(wordWrap=True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.encoder_label = QLabel(wordWrap=True)
        self.explore_button = QPushButton("Explore from here")
        self.explore_button.setToolTip("Load the completed code into the Explore view's "
                                       "sliders")
        self.format = QComboBox()
        self.format.addItems(list(MESH_FORMATS))
        self.export_button = QPushButton("Export...")
        self.export_button.setToolTip("Write the completion's mesh and the observed voxels' "
                                      "mesh (<name>_observation)")
        self.show_truth = QCheckBox("Truth", checked=True)
        self.show_occupied = QCheckBox("Observed", checked=True)
        self.show_free = QCheckBox("Free space", checked=True)
        self.show_completion = QCheckBox("Completion", checked=True)
        self.loss_plot = pg.PlotWidget(background="w")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setLabel("left", "ML loss")
        self.loss_plot.setMinimumWidth(220)
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen(LOSS_PEN, width=2))
        self.encoder_panel = EncoderPanel()
        self._camera_timer = QTimer(self, interval=CAMERA_POLL_MS)

        self.hint = QLabel(NO_MODEL_HINT, alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.hint.setStyleSheet("font-size: 15pt; color: #6b7280;")
        self._stack = QStackedLayout(self)
        self._stack.addWidget(self.hint)
        self._stack.addWidget(self._build_content())
        self._connect()
        self._update_source()
        self._update_buttons()

    # --- layout --------------------------------------------------------------------------------
    def _build_content(self) -> QWidget:
        shape_box = QGroupBox("Shape")
        shape_form = QFormLayout(shape_box)
        shape_form.addRow("Source", self.source)
        pick = QHBoxLayout()
        pick.addWidget(self.class_name, 1)
        pick.addWidget(self.index)
        shape_form.addRow(pick)
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_shape)
        buttons.addWidget(self.open_file)
        shape_form.addRow(buttons)
        shape_form.addRow(self.shape_label)

        scan_box = QGroupBox("Observation")
        scan_form = QFormLayout(scan_box)
        scan_form.addRow("Kind", self.kind)
        scan_form.addRow("Seed", self.seed)
        scan_row = QHBoxLayout()
        scan_row.addWidget(self.scan_button)
        scan_row.addWidget(self.follow)
        scan_form.addRow(scan_row)
        scan_form.addRow(self.scan_label)

        method_box = QGroupBox("Completion")
        method_form = QFormLayout(method_box)
        method_form.addRow("Method", self.method)
        method_form.addRow("ML steps", self.steps)
        run_row = QHBoxLayout()
        run_row.addWidget(self.complete_button)
        run_row.addWidget(self.stop_button)
        method_form.addRow(run_row)
        method_form.addRow(self.result)
        method_form.addRow(self.encoder_label)
        out_row = QHBoxLayout()
        out_row.addWidget(self.explore_button)
        out_row.addWidget(self.format)
        out_row.addWidget(self.export_button)
        method_form.addRow(out_row)

        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        for box in (shape_box, scan_box, method_box):
            left_column.addWidget(box)
        left_column.addStretch(1)

        toggles = QHBoxLayout()
        toggles.addWidget(QLabel("Show"))
        for box in (self.show_truth, self.show_occupied, self.show_free, self.show_completion):
            toggles.addWidget(box)
        toggles.addStretch(1)
        centre = QWidget()
        centre_column = QVBoxLayout(centre)
        centre_column.setContentsMargins(0, 0, 0, 0)
        centre_column.addLayout(toggles)
        centre_column.addWidget(self.scene, 1)

        right = QWidget()
        right_column = QVBoxLayout(right)
        right_column.setContentsMargins(0, 0, 0, 0)
        right_column.addWidget(self.loss_plot, 1)
        right_column.addWidget(self.encoder_panel)

        self.splitter = GripSplitter(Qt.Orientation.Horizontal)
        for widget, stretch in ((left, 0), (centre, 1), (right, 0)):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(self.splitter.count() - 1, stretch)
        self.splitter.setSizes(list(SPLITTER_SIZES))
        return self.splitter

    def _connect(self) -> None:
        self.source.currentTextChanged.connect(self._update_source)
        self.class_name.currentIndexChanged.connect(self._update_source)
        self.class_name.currentIndexChanged.connect(self._use_picked_shape)
        self.index.valueChanged.connect(self._use_picked_shape)
        self.use_shape.clicked.connect(self._use_picked_shape)
        self.open_file.clicked.connect(self._ask_shape_file)
        self.scan_button.clicked.connect(self.scan)
        self.kind.currentTextChanged.connect(self._rescan_if_shown)
        self.seed.valueChanged.connect(self._rescan_if_shown)
        self.follow.toggled.connect(self._on_follow)
        self._camera_timer.timeout.connect(self._poll_camera)
        self.method.currentIndexChanged.connect(self._update_buttons)
        self.complete_button.clicked.connect(self.complete)
        self.stop_button.clicked.connect(self._stop_search)
        self.explore_button.clicked.connect(self._explore_from_here)
        self.export_button.clicked.connect(self._ask_export)
        for box in (self.show_truth, self.show_occupied, self.show_free, self.show_completion):
            box.toggled.connect(self._redraw)
        self.encoder_panel.trainRequested.connect(self.train_encoder)
        self.encoder_panel.stopRequested.connect(self._stop_training)

    # --- the model -----------------------------------------------------------------------------
    def set_session(self, session: ExplorerSession | None,
                    checkpoint: Path | None = None) -> None:
        """Complete shapes of ``session``'s model; its completion encoder is looked for beside
        ``checkpoint`` (None: the model has no file)."""
        if session is self.session and checkpoint == self.checkpoint:
            return
        self._stop_search()
        self.service.cancel(None)
        self.session, self.checkpoint, self.encoder = session, checkpoint, None
        self.state.clear()
        self._redraw()
        self.loss_curve.setData([], [])
        self.result.clear()
        if session is None:
            self.hint.setText(NO_MODEL_HINT)
            self._stack.setCurrentWidget(self.hint)
            return
        try:
            tasks.check_session(session)
        except ShapeExplorerError as exc:
            self.hint.setText(f"This model cannot complete shapes: {exc}.")
            self._stack.setCurrentWidget(self.hint)
            return
        self._stack.setCurrentIndex(1)
        self.encoder_label.setText("Looking for a completion encoder ...")
        self.service.submit("encoder", functools.partial(tasks.encoder_beside, checkpoint,
                                                         session),
                            functools.partial(self._on_encoder, session),
                            on_error=self._on_encoder_error)
        self.show_data()

    def show_data(self) -> None:
        """The model's data set arrived (or not yet): offer its shapes, and observe the first
        one while nothing is observed."""
        session = self.session
        has_data = session is not None and session.shapes is not None
        self.source.model().item(0).setEnabled(has_data)
        self.class_name.blockSignals(True)
        self.class_name.clear()
        if has_data:
            self.class_name.addItems(list(session.shapes.class_names))
        self.class_name.blockSignals(False)
        if has_data and self.state.truth is None:
            self.source.setCurrentText(DATASET)
            self._use_picked_shape()
        elif not has_data and self.source.currentText() == DATASET:
            self.source.setCurrentText(EXPLORE)
        self._update_source()

    def _on_encoder(self, session: ExplorerSession, found: tuple) -> None:
        if session is not self.session:
            return
        self.encoder, text = found
        self.encoder_label.setText(text)
        self.encoder_panel.status.setText(text)
        self.encoderChanged.emit()

    def _on_encoder_error(self, message: str) -> None:
        self.encoder = None
        text = f"The completion encoder could not be used: {message}"
        self.encoder_label.setText(printable(text, ERROR_CHARS))
        self.encoder_panel.status.setText(self.encoder_label.text())
        self.encoderChanged.emit()

    # --- the shape -----------------------------------------------------------------------------
    def _update_source(self) -> None:
        source = self.source.currentText()
        dataset = source == DATASET
        self.class_name.setVisible(dataset)
        self.index.setVisible(dataset)
        self.open_file.setVisible(source == FILE)
        self.use_shape.setVisible(source != FILE)
        if dataset and self.session is not None and self.session.shapes is not None:
            count = len(self.session.class_members(self.class_name.currentIndex()))
            self.index.setSuffix(f" of {count}")
            self.index.setMaximum(max(count, 1))

    def _use_picked_shape(self) -> None:
        """Observe the picked data set shape or the Explore view's shape."""
        session = self.session
        if session is None:
            return
        if self.source.currentText() == EXPLORE:
            shape = self.explore_shape()
            if shape is None or shape.mesh is None:
                self._on_error("shape", "The Explore view shows no shape with a surface yet.")
                return
            inside = shape.grid < shape.threshold if shape.inside_low else \
                shape.grid > shape.threshold
            self.set_shape(inside, "the Explore view's shape")
            return
        if session.shapes is None:
            self._on_error("shape", "The model's data set has not loaded yet.")
            return
        members = session.class_members(self.class_name.currentIndex())
        k = self.index.value() - 1
        if k >= len(members):
            return
        position = int(members[k])
        self.set_shape(session.shapes.grids[position, 0] > 0.5, session.shape_name(position))

    def _ask_shape_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a shape to scan", "", SHAPE_FILTER)
        if path:
            self.open_shape_file(Path(path))

    def open_shape_file(self, path: Path) -> None:
        """Voxelise a mesh or grid file at the model's resolution (as File > Open does) and
        observe it."""
        if self.session is None:
            return
        from trainer.data.folder import load_file

        resolution = self.session.resolution
        self.shape_label.setText(f"Reading {path.name} ...")
        self.service.submit("shape", lambda: load_file(path, resolution) > 0.5,
                            lambda grid: self.set_shape(grid, path.name),
                            on_error=functools.partial(self._on_error, "shape"))

    def set_shape(self, truth: np.ndarray, label: str) -> None:
        """Observe the boolean grid ``truth`` from now on: mesh it and scan it."""
        if self.session is None:
            return
        if truth.shape != (self.session.resolution,) * 3:
            self._on_error("shape", f"The shape is a {truth.shape} grid; this model needs "
                                    f"{self.session.resolution}^3.")
            return
        self._stop_search()
        self.state.set_shape(truth, label)
        self.shape_label.setText(f"Observing {label} ({int(truth.sum()):,} voxels inside).")
        self._truth_mesh = None
        self.service.submit("truth", lambda: mesh_from_grid(truth.astype(np.float32), 0.5),
                            self._on_truth_mesh)
        self.scan()

    def _on_truth_mesh(self, mesh) -> None:
        self._truth_mesh = mesh
        self._redraw()

    # --- the observation ------------------------------------------------------------------------
    def scan(self) -> None:
        """Scan the shape from the camera's viewpoint with the chosen kind and seed."""
        if self.state.truth is None:
            return
        self._last_camera = self.scene.viewpoint()
        self.state.set_scan(self.kind.currentText(), self._last_camera, self.seed.value())
        state = self.state
        task = functools.partial(tasks.observe, state.truth, state.kind, state.viewpoint,
                                 state.seed)
        self.service.submit("scan", task, functools.partial(self._on_scanned, state.truth),
                            live=self.follow.isChecked(),
                            on_error=functools.partial(self._on_error, "scan"))

    def _rescan_if_shown(self) -> None:
        if self.state.observation is not None:
            self.scan()

    def _on_scanned(self, truth: np.ndarray, observation) -> None:
        if truth is not self.state.truth:
            return
        self._stop_search()
        self.state.set_observation(observation)
        azimuth, elevation = observation.viewpoint or (None, None)
        where = "" if azimuth is None else f" from azimuth {azimuth:.0f}°, elevation " \
                                           f"{elevation:.0f}°"
        self.scan_label.setText(
            f"{observation.kind}{where}: {100 * observation.observed_fraction:.1f} % of the "
            f"voxels observed ({int(observation.occupied.sum()):,} occupied, "
            f"{int(observation.free.sum()):,} free).")
        self.result.clear()
        self._redraw()
        self._update_buttons()
        self.scanned.emit()

    def _on_follow(self, on: bool) -> None:
        if on:
            self._camera_timer.start()
            self.scan()
        else:
            self._camera_timer.stop()

    def _poll_camera(self) -> None:
        if self.scene.viewpoint() != self._last_camera:
            self.scan()

    # --- completing ----------------------------------------------------------------------------
    def complete(self) -> None:
        """Complete the observation with the chosen method (ML live, the others at once)."""
        observation, session = self.state.observation, self.session
        if observation is None or session is None or self._search is not None:
            return
        method = self.method.currentData()
        self.state.set_method(method)
        if method == "aml" and self.encoder is None and not self._offer_without_encoder():
            return
        method = self.state.method
        truth = self.state.truth
        if method == "ml":
            self._start_search(session, observation, truth)
            return
        self.result.setText(f"Completing with {tasks.METHOD_NAMES[method]} ...")
        task = functools.partial(tasks.complete_at_once, session, method, observation, truth,
                                 encoder=self.encoder)
        self.service.submit("complete", task,
                            functools.partial(self._on_completed, observation),
                            on_error=functools.partial(self._on_error, "complete"))

    def _offer_without_encoder(self) -> bool:
        """No completion encoder: offer to train one (Yes) or to use ML (No); True when the
        completion should go on (with ML)."""
        Button = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self, "Complete", f"{self.encoder_label.text()}\n\nTrain a completion encoder now "
            "(Yes), or complete with ML, the latent search (No)?",
            Button.Yes | Button.No | Button.Cancel, Button.Yes)
        if answer == Button.Yes:
            self.train_encoder(self.encoder_panel.config())
            return False
        if answer == Button.No:
            self.method.setCurrentIndex(tasks.METHODS.index("ml"))
            self.state.set_method("ml")
            return True
        return False

    def _start_search(self, session: ExplorerSession, observation, truth) -> None:
        settings = SearchSettings(steps=self.steps.value(), seed=self.state.seed)
        self.loss_curve.setData([], [])
        self.result.setText("Searching the latent space ...")
        self._searched = observation
        self._search = LongTask(functools.partial(tasks.search_live, session, observation,
                                                  truth, settings), self)
        # methods, not partials: a partial would run on the task's thread
        self._search.progressed.connect(self._on_search_step)
        self._search.succeeded.connect(self._on_search_done)
        self._search.failed.connect(self._on_search_failed)
        self._search.ended.connect(self._on_search_ended)
        self._search.start()
        self._update_buttons()

    @Slot(object)
    def _on_search_step(self, step: tasks.SearchStep) -> None:
        if self._searched is not self.state.observation:
            return
        self.loss_curve.setData(np.arange(1, len(step.losses) + 1), np.asarray(step.losses))
        self.state.set_completion(step.best)
        self.result.setText(f"ML step {len(step.losses)} of {self.steps.value()}: loss "
                            f"{step.losses[-1]:.1f}" + _scores(step.best))
        self._redraw()
        self.searchStepped.emit()

    @Slot(object)
    def _on_search_done(self, completion: tasks.Completion) -> None:
        self._on_completed(self._searched, completion)

    @Slot(str)
    def _on_search_failed(self, message: str) -> None:
        self._on_error("complete", message)

    @Slot()
    def _on_search_ended(self) -> None:
        self._search = self._searched = None
        self._update_buttons()

    def _stop_search(self) -> None:
        if self._search is not None:
            self._search.stop()

    def _on_completed(self, observation, completion: tasks.Completion) -> None:
        if observation is not self.state.observation:
            return
        self.state.set_completion(completion)
        text = f"{tasks.METHOD_NAMES[completion.method]}" + _scores(completion)
        if completion.mesh is None:
            text += "; the completion has no surface"
        self.result.setText(text)
        self._redraw()
        self._update_buttons()
        self.completed.emit()

    def _update_buttons(self) -> None:
        searching = self._search is not None
        completion = self.state.completion
        self.complete_button.setEnabled(self.state.observation is not None and not searching)
        self.stop_button.setEnabled(searching)
        self.explore_button.setEnabled(not searching and completion is not None
                                       and completion.code is not None)
        self.export_button.setEnabled(not searching and completion is not None
                                      and completion.mesh is not None)
        self.steps.setEnabled(self.method.currentData() == "ml")

    # --- showing ---------------------------------------------------------------------------------
    def _redraw(self) -> None:
        """The scene from the state and the toggles."""
        observation, completion = self.state.observation, self.state.completion
        truth_mesh = self._truth_mesh if self.state.truth is not None else None
        self.scene.show_truth(truth_mesh if self.show_truth.isChecked() else None)
        self.scene.show_observation(
            observation.occupied if observation is not None and self.show_occupied.isChecked()
            else None,
            observation.free if observation is not None and self.show_free.isChecked()
            else None)
        if completion is not None and self.show_completion.isChecked():
            self.scene.show_mesh(completion.mesh, "The completion has no surface.")
        elif self.state.truth is None:
            self.scene.hide_completion("Pick a shape to observe.")
        else:
            self.scene.hide_completion("Press Complete to complete the observed voxels."
                                       if completion is None else "")

    # --- explore, export -----------------------------------------------------------------------
    def _explore_from_here(self) -> None:
        completion = self.state.completion
        if completion is None or completion.code is None:
            return
        label = f"{completion.method.upper()} completion of {self.state.label}"
        self.exploreRequested.emit(completion.code.copy(), label)

    def _ask_export(self) -> None:
        fmt = self.format.currentText()
        path, _ = QFileDialog.getSaveFileName(self, "Export the completion",
                                              f"completion.{fmt}", f"{fmt.upper()} mesh "
                                                                   f"(*.{fmt})")
        if path:
            self.export_to(Path(path if Path(path).suffix else f"{path}.{fmt}"), fmt)

    def export_to(self, path: Path, fmt: str) -> None:
        """Write the completion's mesh to ``path`` and the observed voxels' mesh beside it
        (``<stem>_observation``), on the worker."""
        completion, observation = self.state.completion, self.state.observation
        if completion is None or completion.mesh is None or observation is None:
            return
        mesh, occupied = completion.mesh, observation.occupied

        def write() -> list[Path]:
            written = [export_mesh(mesh, path, fmt)]
            observed = mesh_from_grid(occupied.astype(np.float32), 0.5)
            if observed is not None:
                written.append(export_mesh(observed, path.with_name(
                    f"{path.stem}_observation{path.suffix}"), fmt))
            return written

        self.service.submit("export", write, self._on_exported,
                            on_error=functools.partial(self._on_error, "export"))

    def _on_exported(self, paths: list[Path]) -> None:
        self.result.setText(self.result.text().split("\n")[0] + "\nWrote " +
                            ", ".join(p.name for p in paths))
        self.exported.emit(paths)

    # --- training an encoder ---------------------------------------------------------------------
    def train_encoder(self, config) -> None:
        """Train a completion encoder for the model on its own thread (written beside the
        checkpoint after every epoch)."""
        session = self.session
        if session is None or self._training is not None:
            return
        if session.shapes is None:
            self._on_error("train", "The model's data set has not loaded yet; try again in a "
                                    "moment.")
            return
        target = completion_path(self.checkpoint) if self.checkpoint is not None else None
        Button = QMessageBox.StandardButton
        if target is not None and target.exists() and QMessageBox.question(
                self, "Complete", f"Replace the completion encoder {target}?",
                Button.Yes | Button.Cancel, Button.Cancel) != Button.Yes:
            return
        self.encoder_panel.set_running(True)
        self.encoder_panel.status.setText("Training a completion encoder ...")
        self._trained_for = session
        self._training = LongTask(functools.partial(tasks.train_encoder, session, config,
                                                    self.checkpoint), self, low_priority=True)
        self._training.progressed.connect(self.encoder_panel.show_progress)
        self._training.succeeded.connect(self._on_trained)
        self._training.failed.connect(self._on_training_failed)
        self._training.ended.connect(self._on_training_ended)
        self._training.start()

    @Slot(object)
    def _on_trained(self, result: tuple) -> None:
        encoder, text = result
        self.encoder_panel.status.setText(text)
        if encoder is not None and self._trained_for is self.session:
            self.encoder = encoder
            self.encoder_label.setText(f"Completion encoder: {text}")
            self.encoderChanged.emit()

    @Slot(str)
    def _on_training_failed(self, message: str) -> None:
        self.encoder_panel.status.setText("Training failed.")
        self._on_error("train", message)

    @Slot()
    def _on_training_ended(self) -> None:
        self._training = None
        self.encoder_panel.set_running(False)

    def _stop_training(self) -> None:
        if self._training is not None:
            self._training.stop()

    def is_training(self) -> bool:
        return self._training is not None

    # --- errors, closing -----------------------------------------------------------------------
    def _on_error(self, channel: str, message: str) -> None:
        if channel == "complete":
            self.result.setText("Completion failed.")
        QMessageBox.warning(self, "Complete", printable(message, ERROR_CHARS))

    def shutdown(self) -> None:
        """Stop the search, the training and the worker (the window calls this on close)."""
        self._camera_timer.stop()
        for task in (self._search, self._training):
            if task is not None:
                task.stop()
                task.wait(STOP_WAIT_S)
        self.service.shutdown()


def _scores(completion: tasks.Completion) -> str:
    """": IoU ... · Hamming ..." against the truth, or nothing when it is unknown."""
    if completion.iou is None:
        return ""
    return f": IoU {completion.iou:.3f} · Hamming {completion.hamming:.4f} against the truth"
