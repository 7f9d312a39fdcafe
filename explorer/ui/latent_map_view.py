"""The Explore view's latent map: the data set's codes in 2D, coloured by class.

Hovering a point shows the shape's thumbnail and name; clicking loads its code into the state
(the 3D view and sliders follow), Ctrl/Shift+click adds it to the picked shapes, which make a
path ("Interpolate along path") or a group for an attribute direction. The current code, the
gallery's samples and the sequence's path are drawn on the map; the current code's nearest data
shapes in latent space are shown as thumbnails. Maps are computed on the panel's own worker
thread (t-SNE takes seconds and must not hold up decoding), thumbnails on the view's.
"""

from __future__ import annotations

import functools

import numpy as np
from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from explorer import latent_map as lm
from explorer.explore_state import CodeOrigin, ExploreState
from explorer.map_store import MapStore
from explorer.session import ExplorerSession
from explorer.thumbnails import render_thumbnail
from explorer.ui.explore_tiles import TileList, pixmap_from_rgba
from explorer.ui.explore_worker import ExploreWorker
from explorer.ui.latent_map_attribute import AttributeDirection
from explorer.ui.latent_map_plot import MapPlot
from trainer.budgets import ERROR_CHARS
from trainer.error_line import printable

NEIGHBOURS = 6
THUMBNAIL = 72
"""Pixels of a hover or neighbour thumbnail (one size: each is drawn once)."""
PROGRESS_MS = 100
SCOPE_LABELS = {lm.VALIDATION: "validation shapes", lm.ALL: "all shapes"}


class LatentMapPanel(QWidget):
    """The map, its controls, the nearest neighbours and the attribute direction slider.

    ``pathRequested(codes)`` fires with the picked shapes' codes when "Interpolate along path"
    is pressed (the view makes the sequence). ``mapShown`` fires when a map is drawn,
    ``hoverShown`` when a hover thumbnail is, ``neighboursShown`` when the neighbours are.
    """

    pathRequested = Signal(list)
    mapShown = Signal()
    hoverShown = Signal()
    neighboursShown = Signal()

    def __init__(self, state: ExploreState, thumbnails: ExploreWorker,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._thumbnailer = thumbnails
        self._computer = ExploreWorker(self)
        self.cache = lm.MapCache(MapStore())
        """The maps computed, per model (and on disk)."""
        self._map: lm.LatentMap | None = None
        self._task: lm.TaskState | None = None
        self._thumbnails: dict[int, np.ndarray] = {}
        self._samples: np.ndarray | None = None
        self._path: np.ndarray | None = None
        self._neighbours: np.ndarray = np.zeros(0, dtype=np.int64)
        self.picked: list[int] = []
        """Indices of map points picked (clicked, then Ctrl/Shift-clicked), in order."""
        self._shown = (lm.VALIDATION, lm.PCA)
        """The scope and method of the map shown."""

        self.scope = QComboBox()
        for scope, label in SCOPE_LABELS.items():
            self.scope.addItem(label, scope)
        self.scope.setToolTip("Which of the model's data set shapes the map shows (their "
                              "posterior means)")
        self.method = QComboBox()
        self.method.addItems(list(lm.METHODS))
        self.method.setToolTip("PCA: the plane of largest variance, exact and instant. t-SNE: "
                               "keeps neighbours together; takes seconds (needs openTSNE)")
        self.progress = QProgressBar(maximum=100, textVisible=False)
        self.progress.setMaximumHeight(10)
        self.cancel_button = QPushButton("Cancel")
        self.status = QLabel()
        self.status.setStyleSheet("color: #4b5563;")
        self.plot = MapPlot()
        self.hover = QFrame(self.plot)
        self.hover.setStyleSheet("QFrame { background: rgba(20, 22, 28, 225); "
                                 "border-radius: 3px; } QLabel { color: #d8dde6; }")
        self.hover_image = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.hover_image.setFixedSize(THUMBNAIL, THUMBNAIL)
        self.hover_name = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        card = QVBoxLayout(self.hover)
        card.setContentsMargins(4, 4, 4, 4)
        card.setSpacing(2)
        card.addWidget(self.hover_image)
        card.addWidget(self.hover_name)
        self.hover.hide()
        self.picked_label = QLabel()
        for label in (self.status, self.picked_label):     # long texts are cut, not widening
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.path_button = QPushButton("Interpolate along path")
        self.path_button.setToolTip("An interpolation through the picked shapes in the order "
                                    "they were picked (steps per leg and method: the sequence "
                                    "panel's)")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Forget the picked shapes")
        self.attribute = AttributeDirection(state, lambda: list(self.picked))
        self.neighbours = TileList(THUMBNAIL, single_row=True)
        self._progress_timer = QTimer(self, interval=PROGRESS_MS)
        self._build()
        self._connect()
        self._enable()

    # --- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        controls = QHBoxLayout()
        controls.addWidget(self.scope)
        controls.addWidget(self.method)
        controls.addWidget(self.progress, 1)
        controls.addWidget(self.cancel_button)
        picks = QHBoxLayout()
        picks.addWidget(self.picked_label, 1)
        picks.addWidget(self.path_button)
        picks.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)
        layout.addLayout(picks)
        layout.addWidget(self.attribute)
        layout.addWidget(QLabel("Nearest data shapes to the current code"))
        layout.addWidget(self.neighbours)
        self._show_picked()

    def _connect(self) -> None:
        self._state.subscribe("session", self._on_session)
        self._state.subscribe("code", self._on_code)
        self.scope.currentIndexChanged.connect(self.request_map)
        self.method.currentIndexChanged.connect(self.request_map)
        self.cancel_button.clicked.connect(self.cancel)
        self._progress_timer.timeout.connect(self._show_progress)
        self.plot.pointClicked.connect(self._on_point_clicked)
        self.plot.pointHovered.connect(self._on_hovered)
        self.path_button.clicked.connect(self._request_path)
        self.clear_button.clicked.connect(self.clear_picked)
        self.neighbours.picked.connect(self._on_neighbour_picked)

    @property
    def latent_map(self) -> lm.LatentMap | None:
        """The map shown (None: none yet)."""
        return self._map

    @property
    def neighbour_indices(self) -> np.ndarray:
        """Map indices of the current code's nearest data shapes, nearest first."""
        return self._neighbours

    # --- the map ---------------------------------------------------------------------------
    def _on_session(self, state: ExploreState) -> None:
        self._stop()
        self._map, self._thumbnails, self.picked = None, {}, []
        self.attribute.set_codes(None)
        self._samples = self._path = None
        self._show_picked()
        if self.isVisible():
            self.request_map()
        else:
            self.plot.clear_points("")
        self._enable()

    def data_changed(self) -> None:
        """The explored session's data set arrived: draw the map if it is shown."""
        if self.isVisible():
            self.request_map()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._map is None and self._task is None:
            self.request_map()

    def request_map(self) -> None:
        """Draw the map of the chosen shapes and projection: from the cache, else computed
        on the panel's worker (an older computation is cancelled)."""
        self._stop()
        session = self._state.session
        if session is None:
            self.plot.clear_points("No model")
            return
        if session.shapes is None:
            self.plot.clear_points("The map needs the model's data set\n(loading...)")
            self.status.setText("")
            return
        scope, method = self.scope.currentData(), self.method.currentText()
        if (cached := self.cache.get(session, scope, method)) is not None:
            self._show_map(session, cached)
            return
        task = self._task = lm.TaskState()
        self.status.setText(f"Computing the {method} map...")
        self._progress_timer.start()
        self._enable()
        self._computer.submit("map", functools.partial(self.cache.compute, session, scope,
                                                      method, task),
                              functools.partial(self._show_map, session),
                              on_error=self._on_map_error)

    def cancel(self) -> None:
        """Stop a map computation in flight: the map shown stays, and so do its choices."""
        if self._task is None:
            return
        self._stop()
        self._finish_task("Cancelled.")
        for box, value in ((self.scope, self._shown[0]), (self.method, self._shown[1])):
            box.blockSignals(True)
            box.setCurrentIndex(box.findData(value) if box is self.scope
                                else box.findText(value))
            box.blockSignals(False)

    def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._computer.cancel("map")
            self._finish_task("")

    def _finish_task(self, text: str) -> None:
        self._task = None
        self._progress_timer.stop()
        self.progress.setValue(0)
        self.status.setText(text)
        self._enable()

    def _show_progress(self) -> None:
        if self._task is not None:
            self.progress.setValue(round(100 * self._task.progress))
            if self._task.stage:
                self.status.setText(f"{self.method.currentText()}: {self._task.stage}...")

    def _on_map_error(self, message: str) -> None:
        if self._task is None or self._task.cancelled:
            return
        self._finish_task("")
        QMessageBox.warning(self, "Latent map", printable(message, ERROR_CHARS))

    def _show_map(self, session: ExplorerSession, latent_map: lm.LatentMap) -> None:
        if session is not self._state.session:
            return
        self._finish_task(f"{len(latent_map.data)} {self.scope.currentText()}, "
                          f"{latent_map.projection.method}. Click: load · Ctrl+click: pick")
        if self._map is None or self._map.data is not latent_map.data:
            self.picked = []
            self.attribute.set_codes(latent_map.data)
        self._map = latent_map
        self._shown = (self.scope.currentData(), self.method.currentText())
        self.plot.show_points(latent_map.points, latent_map.data.labels,
                              latent_map.data.class_names)
        self._redraw_overlays()
        self._request_neighbours()
        self._show_picked()
        self._enable()
        self.mapShown.emit()

    def _enable(self) -> None:
        running, shown = self._task is not None, self._map is not None
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        self.path_button.setEnabled(shown and len(self.picked) >= 2)
        self.clear_button.setEnabled(bool(self.picked))

    # --- overlays --------------------------------------------------------------------------
    def show_samples(self, codes: list[np.ndarray]) -> None:
        """The gallery's sample codes, drawn as crosses."""
        self._samples = np.array(codes) if codes else None
        self._redraw_overlays()

    def show_path(self, codes: list[np.ndarray]) -> None:
        """The sequence's codes, drawn as a line (none: no line)."""
        self._path = np.array(codes) if codes else None
        self._redraw_overlays()

    def _project(self, codes: np.ndarray | None) -> np.ndarray | None:
        if codes is None or self._map is None or len(codes) == 0:
            return None
        return self._map.projection.project(np.atleast_2d(codes))

    def _redraw_overlays(self) -> None:
        if self._map is None:
            return
        code = self._state.code
        current = self._project(code) if code.size else None
        picked = self._map.points[self.picked] if self.picked else None
        self.plot.show_overlays(current, self._project(self._samples),
                                self._project(self._path), picked)

    # --- hover, click, pick ----------------------------------------------------------------
    def _position(self, index: int) -> int:
        assert self._map is not None
        return int(self._map.data.positions[index])

    def _on_hovered(self, index: int) -> None:
        if index < 0 or self._map is None:
            self.hover.hide()
            return
        position = self._position(index)
        if position in self._thumbnails:
            self._show_hover(index, self._thumbnails[position])
            return
        task = functools.partial(_data_thumbnails, self._state.session, [position],
                                 THUMBNAIL)
        self._thumbnailer.submit("map-hover", task,
                                 functools.partial(self._on_hover_rendered, index, position))

    def _on_hover_rendered(self, index: int, position: int, images: list[np.ndarray]) -> None:
        self._thumbnails[position] = images[0]
        self._show_hover(index, images[0])

    def _show_hover(self, index: int, image: np.ndarray) -> None:
        if self._map is None or index >= len(self._map.data):
            return
        data = self._map.data
        self.hover_image.setPixmap(pixmap_from_rgba(image))
        name, kind = data.names[index], data.class_names[data.labels[index]]
        self.hover_name.setText(name if name.startswith(kind) else f"{name}\n{kind}")
        self.hover.adjustSize()
        spot = self.plot.widget_position(self._map.points[index]) + QPoint(14, 14)
        spot.setX(min(spot.x(), self.plot.width() - self.hover.width()))
        spot.setY(min(spot.y(), self.plot.height() - self.hover.height()))
        self.hover.move(spot)
        self.hover.show()
        self.hover.raise_()
        self.hoverShown.emit()

    def _on_point_clicked(self, index: int, add: bool) -> None:
        """Load the shape's code; with ``add`` also append it to the picked shapes, else the
        picked shapes become just this one."""
        if self._map is None:
            return
        if add:
            self.picked.append(index)
        else:
            self.picked = [index]
        self._show_picked()
        self.load(index)

    def load(self, index: int) -> None:
        """Make map point ``index``'s code (its posterior mean) the current code."""
        assert self._map is not None
        self._state.set_code(self._map.data.codes[index],
                             CodeOrigin("dataset", self._map.data.names[index]))

    def clear_picked(self) -> None:
        self.picked = []
        self._show_picked()
        self._redraw_overlays()

    def _show_picked(self) -> None:
        count = len(self.picked)
        self.picked_label.setText("Ctrl+click shapes to pick a path or a group" if not count
                                  else f"{count} picked shape{'s' if count > 1 else ''}")
        self._enable()
        self._redraw_overlays()

    def _request_path(self) -> None:
        if self._map is not None and len(self.picked) >= 2:
            self.pathRequested.emit([self._map.data.codes[i] for i in self.picked])

    # --- neighbours ------------------------------------------------------------------------
    def _on_code(self, state: ExploreState) -> None:
        self._redraw_overlays()
        self._request_neighbours()

    def _request_neighbours(self) -> None:
        session, latent_map = self._state.session, self._map
        if session is None or latent_map is None or self._state.code.size == 0:
            return
        task = functools.partial(_neighbours, session, latent_map, self._state.code.copy(),
                                 dict(self._thumbnails))
        self._thumbnailer.submit("map-neighbours", task, self._show_neighbours)

    def _show_neighbours(self, found: tuple[np.ndarray, list[np.ndarray]]) -> None:
        indices, images = found
        if self._map is None:
            return
        self._neighbours = indices
        for index, image in zip(indices, images, strict=True):
            self._thumbnails[self._position(int(index))] = image
        self.neighbours.set_tiles(images, [self._map.data.names[i] for i in indices])
        self.neighboursShown.emit()

    def _on_neighbour_picked(self, row: int) -> None:
        if self._map is not None and 0 <= row < len(self._neighbours):
            self.load(int(self._neighbours[row]))

    def shutdown(self) -> None:
        """Stop a computation in flight and the panel's worker thread."""
        self._stop()
        self._computer.shutdown()


def _data_thumbnails(session: ExplorerSession, positions: list[int],
                     size: int) -> list[np.ndarray]:
    """Thumbnails of data set shapes as they were trained on (worker thread)."""
    assert session.shapes is not None
    return [render_thumbnail(session.shapes.grids[p, 0].astype(np.float32), session.iso_level,
                             size, inside_low=session.inside_low) for p in positions]


def _neighbours(session: ExplorerSession, latent_map: lm.LatentMap, code: np.ndarray,
                known: dict[int, np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The ``NEIGHBOURS`` map points nearest ``code`` in latent space and their thumbnails
    (worker thread; ``known`` thumbnails are not drawn again)."""
    indices = lm.nearest_neighbours(latent_map.data.codes, code, NEIGHBOURS)
    positions = [int(latent_map.data.positions[i]) for i in indices]
    images = [known[p] if p in known else _data_thumbnails(session, [p], THUMBNAIL)[0]
              for p in positions]
    return indices, images

