"""The Explore view: prior samples, latent sliders, interpolation and a live 3D mesh.

All decoding, meshing and file writing runs on the Explore worker thread (``ExploreWorker``); this
widget only turns user actions into requests and shows the results.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QSizePolicy,
    QSlider,
    QStackedLayout,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer import export
from explorer.animation import render_frames, write_animation
from explorer.explore_state import GALLERY_SIZE, CodeOrigin, ExploreState
from explorer.meshing import NO_SURFACE_MESSAGE, no_surface_advice
from explorer.session import ExplorerSession
from explorer.ui import explore_export as ex
from explorer.ui.explore_gallery import GalleryPanel
from explorer.ui.explore_sequence import (
    DATASET,
    GALLERY,
    PREVIEW,
    EndpointChoice,
    EndpointPicker,
    SequencePanel,
)
from explorer.ui.explore_sliders import LatentSliders
from explorer.ui.explore_tasks import (
    Endpoint,
    GridCache,
    Shape,
    data_preview,
    decode_batch,
    decode_gallery,
    decode_shape,
    interpolation,
    remesh,
)
from explorer.ui.explore_worker import ExploreWorker
from explorer.ui.latent_map_view import LatentMapPanel
from explorer.ui.mesh_view import MeshView
from explorer.ui.splitter import GripSplitter
from trainer.budgets import ERROR_CHARS
from trainer.describe import describe_model
from trainer.error_line import printable
from trainer.errors import ShapeExplorerError

NO_MODEL_HINT = "Train a model or open a checkpoint (File > Open checkpoint...)"
DEFAULT_THRESHOLD = 0.5
THRESHOLD_STEPS = 100
REMESHED = ("gallery", "sequence")
"""The collections that are re-meshed (not decoded again) when the threshold moves."""
RESTYLE_DELAY_MS = 250
"""After the threshold stops moving, the gallery and filmstrip are redrawn at it."""



class ExploreView(QWidget):
    """Prior samples, latent sliders, interpolation and a live 3D mesh of the decoded shape.

    ``shapeShown`` fires whenever the 3D view shows a new shape, ``galleryShown`` whenever the
    gallery shows new samples; ``exportRequested(kind, path, format)`` when a person asks for
    an export and ``exported(paths)`` after it has been written.

    What is shown lives in ``state`` (explorer.explore_state.ExploreState): the panels edit it
    and follow its events, and so does this view, which turns them into background work.
    """

    shapeShown = Signal()
    galleryShown = Signal()
    exported = Signal(list)
    exportRequested = Signal(str, str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session: ExplorerSession | None = None
        self._cache = GridCache()
        self._current: Shape | None = None
        self._gallery: list[Shape] = []
        self._frames: list[Shape] = []
        self._sequence_kind = ""
        self._first_sample = False  # the next gallery's first sample goes to the 3D view
        self._compile_after_gallery = False
        self._preloaded: Shape | None = None   # decoded already: shown without decoding again
        self._opening = False
        self._rounds = {"gallery": 0, "sequence": 0}
        """Decodes asked for per collection: a re-meshing of an older round is not shown."""
        self._shown = {"gallery": 0, "sequence": 0}
        """The round whose shapes each collection shows."""
        self._export_ids = itertools.count(1)
        self.state = ExploreState()
        self.service = ExploreWorker(self)
        self.service.error.connect(self._on_error)

        self.mesh_view = MeshView()
        self.gallery = GalleryPanel(self.state)
        self.sliders = LatentSliders(self.state)
        self.latent_map = LatentMapPanel(self.state, self.service)
        self.sequence = SequencePanel()
        self.export_panel = ex.ExportPanel()
        self.threshold = QSlider(Qt.Orientation.Horizontal, minimum=1,
                                 maximum=THRESHOLD_STEPS - 1)
        self.threshold.setValue(round(DEFAULT_THRESHOLD * THRESHOLD_STEPS))
        self.threshold.setToolTip("Iso-level of the surface: occupancy probability above which "
                                  "a point counts as inside")
        self.threshold_label = QLabel()
        self.model_info = QLabel()
        self.model_info.setStyleSheet("color: #4b5563;")
        self.model_info.setSizePolicy(QSizePolicy.Policy.Ignored,   # cut short in a small window
                                      QSizePolicy.Policy.Preferred)
        self._value_range = (0.0, 1.0)
        self.box = QCheckBox("Grid box")
        self.box.setToolTip("Outline the voxel grid (the unit cube the shapes live in)")
        self.smooth = QCheckBox("Smooth", checked=True)
        self.smooth.setToolTip("Smooth the marching-cubes surface (Taubin's filter) in the view "
                               "and in exported meshes; off: the raw surface, voxel steps and "
                               "all")
        self.reset_camera_action = QAction("&Reset camera", self)
        self.reset_camera_action.setToolTip("Look at the shape from the start position again")
        self.reset_camera = QToolButton()
        self.reset_camera.setDefaultAction(self.reset_camera_action)
        self.reset_camera.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.wireframe_action = QAction("Show &wireframe", self, checkable=True)
        self.wireframe_action.setToolTip("Draw the mesh's triangle edges")
        self.voxels_action = QAction("Show &voxels", self, checkable=True)
        self.voxels_action.setToolTip("Mark the inside voxels of the decoded grid with dots")
        self.new_samples_action = self.gallery.new_samples_action
        self.export_mesh_action = self.export_panel.actions[ex.MESH]
        self.screenshot_action = self.export_panel.actions[ex.SCREENSHOT]
        self._restyle = QTimer(self, singleShot=True, interval=RESTYLE_DELAY_MS)

        self.hint = QLabel(NO_MODEL_HINT, alignment=Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet("font-size: 15pt; color: #6b7280;")
        self._stack = QStackedLayout(self)
        self._stack.addWidget(self.hint)
        self._stack.addWidget(self._build_content())
        self._connect()
        self._update_threshold_label()

    @property
    def session(self) -> ExplorerSession | None:
        return self._session

    @property
    def current_shape(self) -> Shape | None:
        """The shape in the 3D view (None before the first decode)."""
        return self._current

    @property
    def gallery_shapes(self) -> list[Shape]:
        return list(self._gallery)

    @property
    def frames(self) -> list[Shape]:
        """The current interpolation or traversal, one shape per frame."""
        return list(self._frames)

    def threshold_value(self) -> float:
        """The iso-level (the state's threshold)."""
        return self.state.threshold

    def _slider_threshold(self) -> float:
        """The threshold slider's position mapped onto the session's value range."""
        low, high = self._value_range
        return low + (high - low) * self.threshold.value() / THRESHOLD_STEPS

    def _threshold_reach(self) -> tuple[float, float]:
        """The lowest and highest iso-level the threshold slider can be set to."""
        low, high = self._value_range
        step = (high - low) / THRESHOLD_STEPS
        return low + step * self.threshold.minimum(), low + step * self.threshold.maximum()

    def _set_value_range(self, session: ExplorerSession) -> None:
        """Map the threshold slider onto this model's decoded values."""
        if session.value_range == self._value_range:
            return
        self._value_range = session.value_range
        self.threshold.setToolTip(
            "Iso-level of the surface: signed distance below which a point counts as inside"
            if session.inside_low else
            "Iso-level of the surface: occupancy probability above which a point counts as inside")

    def set_session(self, session: ExplorerSession | None, *, first_sample: bool = False) -> None:
        """Explore ``session`` (a snapshot model), or show the hint to load one when None.

        A new session with the same latent size keeps the code, gallery seed and sequence,
        and decodes them again with the new weights. Any other session (or with
        ``first_sample``) starts with the 3D view waiting for the gallery and showing its first
        sample that has a surface: the mean code z = 0 of a model trained on varied solids is
        often a blur with none, and on real shapes with 64 latent dimensions always (the
        prior's mass lies on a shell of radius about 8, not at its centre). Once the first
        gallery is shown (decoded eagerly, without a compiler competing for the cores), the
        session's decoder is compiled in the background for the slider and gallery batch
        sizes; decoding is eager until then.
        """
        self._first_sample = first_sample or (session is not None
                                               and not self.state.keeps_place(session))
        # exports in flight finish
        for channel in ("shape", *REMESHED, *(f"{c}-remesh" for c in REMESHED)):
            self.service.cancel(channel)
        self._cache = GridCache()
        self._session = session
        if session is None:
            self._current, self._gallery, self._frames = None, [], []
            self.state.set_session(None)
            self.sequence.set_frames([], "")
            self._stack.setCurrentWidget(self.hint)
            return
        self._stack.setCurrentIndex(1)
        self._compile_after_gallery = True
        self._set_value_range(session)
        self.model_info.setText(model_summary(session))
        self.model_info.setToolTip(model_summary(session))
        self.sequence.set_family(session.family)
        for picker in (self.sequence.start, self.sequence.end):
            picker.set_data(session)
        if self._first_sample:
            self.service.cancel("shape")
            self.mesh_view.show_message("Drawing the first samples ...")
        self._opening = True    # its events decode the code, gallery and sequence anew
        try:
            self.state.set_session(session)   # the panels and the view follow its events
        finally:
            self._opening = False

    def show_code(self, code: np.ndarray, name: str = "a file") -> None:
        """Make ``code`` the current code and its origin, and decode it into the 3D view (an
        encoded file's code, say)."""
        self.state.set_code(code, CodeOrigin("file", name))

    def show_data(self) -> None:
        """The explored session's data set arrived: offer its shapes for interpolation."""
        if self._session is not None:
            for picker in (self.sequence.start, self.sequence.end):
                picker.set_data(self._session)
            self.gallery.set_fittable(self._session.can_fit_density)
            self.latent_map.data_changed()

    @property
    def export_folder(self) -> str:
        """Where the export dialogs start: the folder of the last export."""
        return self.export_panel.folder

    @export_folder.setter
    def export_folder(self, folder: str) -> None:
        self.export_panel.folder = folder

    def shutdown(self) -> None:
        """Stop the decode worker and any decoder compilation (the main window calls this on
        close); a gallery still in flight starts none."""
        self._compile_after_gallery = False
        self.service.shutdown()
        self.latent_map.shutdown()
        if self.session is not None and self.session.compiled is not None:
            self.session.compiled.cancel()

    # --- layout --------------------------------------------------------------------------------
    def _build_content(self) -> QWidget:
        toolbar = QHBoxLayout()
        toolbar.addWidget(QLabel("Threshold"))
        toolbar.addWidget(self.threshold, 1)
        toolbar.addWidget(self.threshold_label)
        toolbar.addSpacing(12)
        toolbar.addWidget(self.smooth)
        toolbar.addWidget(self.box)
        toolbar.addWidget(self.reset_camera)
        toolbar.addSpacing(12)
        toolbar.addWidget(self.model_info, 1)
        centre = QWidget()
        column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(toolbar)
        column.addWidget(self.mesh_view, 1)
        column.addWidget(self.sequence)

        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.addWidget(self.gallery, 1)
        left_column.addWidget(self.export_panel)

        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.sliders, "Latent code")
        self.side_tabs.addTab(self.latent_map, "Latent map")
        self.splitter = GripSplitter(Qt.Orientation.Horizontal)
        for widget, stretch in ((left, 0), (centre, 1), (self.side_tabs, 0)):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(self.splitter.count() - 1, stretch)
        return self.splitter

    def _connect(self) -> None:
        state = self.state
        state.subscribe("threshold", self._on_threshold)
        state.subscribe("code", self._on_code)
        state.subscribe("gallery", self._on_gallery)
        state.subscribe("sequence", self._on_sequence)
        self.threshold.valueChanged.connect(
            lambda _position: state.set_threshold(self._slider_threshold()))
        self.reset_camera_action.triggered.connect(self.mesh_view.reset_camera)
        self.wireframe_action.toggled.connect(self.mesh_view.set_wireframe)
        self.voxels_action.toggled.connect(self._show_voxels)
        self.smooth.toggled.connect(self._on_restyle)
        self.box.toggled.connect(self.mesh_view.set_box_visible)
        self._restyle.timeout.connect(self._remesh_collections)
        self.gallery.picked.connect(self._load_gallery_sample)
        self.sequence.interpolateRequested.connect(self._request_interpolation)
        self.sequence.traverseRequested.connect(self._request_traversal)
        self.sequence.frameChanged.connect(self._show_frame)
        for picker in (self.sequence.start, self.sequence.end):
            picker.showRequested.connect(functools.partial(self._load_endpoint, picker))
            picker.shapePicked.connect(functools.partial(self._request_preview, picker))
        self.export_panel.exportRequested.connect(self._export)
        self.latent_map.pathRequested.connect(self._request_path)
        self.export_panel.exportRequested.connect(self.exportRequested)

    # --- the main shape ------------------------------------------------------------------------
    def _request_shape(self, code: np.ndarray) -> None:
        if self._session is None:
            return
        task = functools.partial(decode_shape, self._session, np.asarray(code),
                                 self.threshold_value(), self._cache,
                                 smooth=self.smooth.isChecked())
        self.service.submit("shape", task, self._show_shape, live=True)

    def _on_code(self, state: ExploreState) -> None:
        """Show the state's code: a shape decoded already as it is, else decode it (not while
        the first gallery is awaited: its first sample comes next)."""
        shape, self._preloaded = self._preloaded, None
        if self._first_sample:
            return
        if (shape is not None and np.array_equal(shape.code, state.code)
                and (shape.threshold, shape.smooth) == (state.threshold,
                                                        self.smooth.isChecked())):
            self.service.cancel("shape")   # a result still in flight must not replace it
            self._show_shape(shape)
        else:
            self._request_shape(state.code)

    def _show_voxels(self) -> None:
        """The current shape's inside voxels as dots, while "Show voxels" is on."""
        shape = self._current
        if not self.voxels_action.isChecked() or shape is None:
            self.mesh_view.show_voxels(None)
        else:
            self.mesh_view.show_voxels(shape.grid, shape.threshold, shape.inside_low)

    def _show_shape(self, shape: Shape) -> None:
        self._current = shape
        self._show_voxels()
        self.mesh_view.show_mesh(shape.mesh, no_surface_advice(
            shape.grid, shape.threshold, inside_low=shape.inside_low,
            threshold_range=self._threshold_reach()))
        self.shapeShown.emit()

    def _load(self, shape: Shape, origin: CodeOrigin) -> None:
        """Make an already decoded shape the current one (re-meshed if needed)."""
        self._preloaded = shape
        self.state.set_code(shape.code, origin)

    def _on_threshold(self, state: ExploreState) -> None:
        """Move the slider to the state's threshold, re-mesh the shape, later the tiles."""
        low, high = self._value_range
        self.threshold.blockSignals(True)
        self.threshold.setValue(round((state.threshold - low) / (high - low) * THRESHOLD_STEPS))
        self.threshold.blockSignals(False)
        self._update_threshold_label()
        if self._session is not None and not self._first_sample and not self._opening:
            self._request_shape(state.code)
            self._restyle.start()

    def _on_restyle(self) -> None:
        """Smoothing switched: the shape, gallery and filmstrip are meshed again."""
        self._request_shape(self.state.code)
        self._remesh_collections()

    def _update_threshold_label(self) -> None:
        self.threshold_label.setText(f"{self.threshold_value():.2f}")

    # --- gallery -------------------------------------------------------------------------------
    def _on_gallery(self, state: ExploreState) -> None:
        """Decode the state's gallery recipe."""
        if self._session is None:
            return
        self._rounds["gallery"] += 1
        task = functools.partial(decode_gallery, self._session, state.gallery,
                                 self.threshold_value(), smooth=self.smooth.isChecked())
        self.service.submit("gallery", task, functools.partial(
            self._show_decoded, "gallery", self._rounds["gallery"], self._show_gallery))

    def _show_gallery(self, shapes: list[Shape]) -> None:
        self._gallery = shapes
        self.gallery.show_samples([s.thumbnail for s in shapes])
        self.latent_map.show_samples([s.code for s in shapes])
        if self._compile_after_gallery and self._session is not None:
            self._compile_after_gallery = False    # the first gallery did not wait for it
            self._session.compile_decoder((1, GALLERY_SIZE))
        if self._first_sample:
            self._first_sample = False
            first = next((i for i, shape in enumerate(shapes) if shape.mesh is not None), None)
            if first is None:
                self._request_shape(self.state.code)
            else:
                self._load_gallery_sample(first)
        self.galleryShown.emit()

    def _load_gallery_sample(self, index: int) -> None:
        if 0 <= index < len(self._gallery):
            self._load(self._gallery[index], CodeOrigin("gallery", f"gallery #{index + 1}",
                                                        index))

    # --- sequences -----------------------------------------------------------------------------
    def _request_interpolation(self) -> None:
        if self._session is None:
            return
        try:
            start = self._endpoint(self.sequence.start.choice(), "From")
            end = self._endpoint(self.sequence.end.choice(), "To")
        except ShapeExplorerError as exc:
            self._on_error("sequence", str(exc))
            return
        self.state.interpolate(start, end, self.sequence.steps.value(),
                               self.sequence.method.currentText())

    def _request_path(self, codes: list[np.ndarray]) -> None:
        """An interpolation through the shapes picked on the latent map, at the sequence
        panel's steps (per leg) and method."""
        self.state.follow_path(codes, self.sequence.steps.value(),
                               self.sequence.method.currentText())

    def _request_traversal(self) -> None:
        self.state.traverse(self.sequence.extent.value(), self.sequence.steps.value())

    def _on_sequence(self, state: ExploreState) -> None:
        """Decode the state's sequence (again, when a model of the same layout arrives)."""
        recipe, session = state.sequence, self._session
        self._rounds["sequence"] += 1
        if recipe is None or session is None:
            self._shown["sequence"] = self._rounds["sequence"]
            self._frames = []
            self.sequence.set_frames([], "")
            self.latent_map.show_path([])
            return
        threshold, smooth = state.threshold, self.smooth.isChecked()
        if recipe.kind in ("traversal", "path"):
            codes = (recipe.traversal_codes(session) if recipe.kind == "traversal"
                     else recipe.path_codes(session))
            task = functools.partial(decode_batch, session, codes, threshold,
                                     common_frame=True, smooth=smooth)
        else:
            task = functools.partial(interpolation, session, threshold=threshold,
                                     smooth=smooth, start=recipe.start, end=recipe.end,
                                     steps=recipe.steps, method=recipe.method)
        self.service.submit("sequence", task, functools.partial(
            self._show_decoded, "sequence", self._rounds["sequence"],
            functools.partial(self._show_frames, recipe.title)))

    def _show_decoded(self, name: str, round_: int, show: Callable[[list[Shape]], None],
                      shapes: list[Shape]) -> None:
        """Show a collection's decoded shapes, unless it was asked for anew since."""
        if round_ == self._rounds[name]:
            self._shown[name] = round_
            show(shapes)

    def _show_frames(self, title: str, shapes: list[Shape]) -> None:
        self._frames, self._sequence_kind = shapes, title
        self.sequence.set_frames([s.thumbnail for s in shapes], title)
        self.latent_map.show_path([s.code for s in shapes])

    def _show_frame(self, index: int) -> None:
        if 0 <= index < len(self._frames):
            self._load(self._frames[index], CodeOrigin(
                "frame", f"frame {index + 1} of the {self._sequence_kind}", index))

    def _endpoint(self, choice: EndpointChoice, label: str) -> Endpoint:
        """Turn a picker's choice into a code, or a grid the worker will encode."""
        if choice.source == GALLERY:
            if choice.index >= len(self._gallery):
                raise ShapeExplorerError(f"{label}: gallery sample #{choice.index + 1} is not "
                                         "there yet; draw samples first")
            return Endpoint(label, code=self._gallery[choice.index].code)
        if choice.source == DATASET:
            if choice.position is None or self._session is None:
                raise ShapeExplorerError(f"{label}: there is no data set shape "
                                         f"#{choice.index + 1} of that class")
            return Endpoint(label, grid=self._data_grid(choice.position))
        return Endpoint(label, code=self.state.code)

    def _data_grid(self, position: int) -> np.ndarray:
        assert self._session is not None and self._session.shapes is not None
        return self._session.shapes.grids[position, 0].astype(np.float32)

    def _request_preview(self, picker: EndpointPicker, position: int) -> None:
        """Render the thumbnail of the data set shape a picker just picked."""
        assert self._session is not None
        task = functools.partial(data_preview, self._data_grid(position), PREVIEW,
                                 self._session.iso_level, self._session.inside_low)
        channel = "preview-from" if picker is self.sequence.start else "preview-to"
        self.service.submit(channel, task, functools.partial(picker.set_preview, position))

    def _load_endpoint(self, picker: EndpointPicker) -> None:
        """Encode the picked data set shape and load it into the view and the sliders."""
        if self._session is None:
            return
        try:
            endpoint = self._endpoint(picker.choice(), "Shape")
        except ShapeExplorerError as exc:
            self._on_error("shape", str(exc))
            return
        session, threshold, cache = self._session, self.threshold_value(), self._cache
        smooth = self.smooth.isChecked()
        choice = picker.choice()
        origin = CodeOrigin("dataset", session.shape_name(choice.position)
                            if choice.source == DATASET and choice.position is not None
                            else f"{choice.source} #{choice.index + 1}")
        self.service.submit("shape", lambda: decode_shape(
            session, endpoint.resolve(session), threshold, cache, smooth=smooth),
            lambda shape: self._load(shape, origin), live=True)

    def _remesh_collections(self) -> None:
        """Redraw the gallery and the filmstrip at the new threshold (no decoding)."""
        threshold, smooth = self.threshold_value(), self.smooth.isChecked()
        for name, shapes, show, common, decode in (
                ("gallery", self._gallery, self._show_gallery, False, self._on_gallery),
                ("sequence", self._frames, self._update_frames, True, self._on_sequence)):
            if self._shown[name] != self._rounds[name]:   # still decoding: at the old level
                decode(self.state)
            elif shapes:
                task = functools.partial(remesh, shapes, threshold, common_frame=common,
                                         smooth=smooth)
                self.service.submit(f"{name}-remesh", task, functools.partial(
                    self._show_remeshed, name, self._rounds[name], show))

    def _show_remeshed(self, name: str, round_: int, show: Callable[[list[Shape]], None],
                       shapes: list[Shape]) -> None:
        """Show re-meshed shapes unless the collection was decoded anew since."""
        if round_ == self._rounds[name]:
            show(shapes)

    def _update_frames(self, shapes: list[Shape]) -> None:
        self._frames = shapes
        self.sequence.update_thumbnails([s.thumbnail for s in shapes])

    # --- export --------------------------------------------------------------------------------
    def _export(self, kind: str, path: str, fmt: str) -> None:
        try:
            task = self._export_task(kind, Path(path), fmt)
        except ShapeExplorerError as exc:
            self._on_error("export", str(exc))
            return
        empty = [number for number, shape in enumerate(
            self._frames if kind == ex.SEQUENCE else self._gallery, 1) if shape.mesh is None
                 ] if kind in (ex.SEQUENCE, ex.GALLERY) else []
        self.export_panel.status.setText(f"Writing {Path(path).name}...")
        self.service.submit(f"export-{next(self._export_ids)}", task,
                            functools.partial(self._on_exported, empty),
                            on_error=functools.partial(self._on_error, "export"))

    def _export_task(self, kind: str, path: Path, fmt: str) -> Callable[[], list[Path]]:
        """A function that writes the export on the worker thread and returns the paths."""
        current = self._current
        if kind == ex.SCREENSHOT:
            image = self.mesh_view.grab_image()
            return functools.partial(_save_image, image, path)
        if kind in (ex.MESH, ex.GRID) and current is None:
            raise ShapeExplorerError("There is no shape to export yet.")
        if kind == ex.MESH:
            if current.mesh is None:
                raise ShapeExplorerError(f"{NO_SURFACE_MESSAGE}: nothing to export. "
                                         "Move the threshold or the sliders.")
            return lambda: [export.export_mesh(current.mesh, path, fmt)]
        if kind == ex.GRID:
            threshold, inside_low = self.threshold_value(), self._session.inside_low
            return lambda: [export.export_grid(current.grid, path, fmt, threshold, inside_low)]
        if kind == ex.ANIMATION:
            return self._animation_task(path)
        shapes, stem = ((self._frames, self._sequence_kind.replace(" ", "_"))
                        if kind == ex.SEQUENCE else (self._gallery, "gallery"))
        if not shapes:
            raise ShapeExplorerError(f"There is no {kind} to export yet.")
        meshes = [s.mesh for s in shapes]
        return lambda: export.export_sequence(meshes, path, stem, fmt)

    def _animation_task(self, path: Path) -> Callable[[], list[Path]]:
        """Render the sequence's frames and write the GIF, on the worker thread."""
        if not self._frames:
            raise ShapeExplorerError("There is no interpolation or traversal to animate yet.")
        grids = [shape.grid for shape in self._frames]
        threshold, inside_low = self.threshold_value(), self._session.inside_low
        return lambda: [write_animation(
            render_frames(grids, threshold, inside_low=inside_low), path)]

    def _on_exported(self, empty: list[int], paths: list[Path]) -> None:
        """Say what was written, and which numbered shapes were not (no surface)."""
        if not paths:
            text = "Nothing written: no shape has a surface at this threshold."
        elif len(paths) == 1 and not empty:
            text = f"Wrote {paths[0].name}"
        else:
            text = f"Wrote {len(paths)} files to {paths[0].parent}"
        if empty and paths:
            numbers = ", ".join(f"#{n}" for n in empty)
            text += f"; not {numbers}: no surface at this threshold."
        self.export_panel.status.setText(text)
        self.exported.emit(paths)

    def _on_error(self, channel: str, message: str) -> None:
        if channel == "export":
            self.export_panel.status.setText("Export failed.")
        QMessageBox.warning(self, "Explore", printable(message, ERROR_CHARS))


def model_summary(session: ExplorerSession) -> str:
    """What kind of model is explored (``trainer.describe``), on one line."""
    return " · ".join(describe_model(session.config, session.kind, session.ppca))


def _save_image(image: QImage, path: Path) -> list[Path]:
    """Write ``image`` as a PNG file, atomically (``explorer.export.export_bytes``)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise ShapeExplorerError(f"Cannot write the screenshot {path}")
    return [export.export_bytes(data.data(), path)]
