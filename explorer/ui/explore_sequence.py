"""Interpolation and traversal: choose two shapes, method and steps; play, scrub, filmstrip.

Either end can be the current shape, a gallery sample, or a shape of the run's data set (the
imported files or the built-in solids) picked by class and index, with a thumbnail of the
shape as it was trained on and its file name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.explore_state import GALLERY_SIZE
from explorer.session import INTERPOLATIONS, ExplorerSession
from explorer.ui.explore_tiles import TileList, pixmap_from_rgba
from explorer.ui.mesh_view import BACKGROUND
from trainer.families import LatentFamily

CURRENT, GALLERY, DATASET = "Current shape", "Gallery sample", "Data set shape"
FRAME_MS = 150
TILE = 80
PREVIEW = 56
"""Size in pixels of the thumbnail of a picked data set shape."""
NAME_WIDTH = 200


@dataclass(frozen=True)
class EndpointChoice:
    """What the user picked for one end: a source and, for the gallery, which sample
    (``index``); for the data set, the shape's ``position`` in it (None: no such shape)."""

    source: str
    index: int = 0
    position: int | None = None


class EndpointPicker(QWidget):
    """Source combo; for the gallery a 1-based index; for the data set a class combo, a 1-based
    index within the class, a thumbnail and the shape's name.

    ``shapePicked(position)`` fires when another data set shape is picked (its thumbnail is then
    due through ``set_preview``); ``showRequested`` when "Show" is clicked.
    """

    showRequested = Signal()
    shapePicked = Signal(int)

    def __init__(self, source: str, index: int = 1, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = QComboBox()
        self.source.addItems([CURRENT, GALLERY, DATASET])
        self.source.setToolTip("Data set shape: one of the shapes the model was trained on "
                               "(imported files or built-in solids), encoded to its mean code")
        self.class_name = QComboBox()
        self.index = QSpinBox(minimum=1, maximum=GALLERY_SIZE, value=index, prefix="#")
        self.preview = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.preview.setFixedSize(PREVIEW, PREVIEW)
        self.preview.setStyleSheet(f"background: {QColor(*BACKGROUND).name()};")
        self.preview.setToolTip("The shape as it was trained on")
        self.name = QLabel()
        self.name.setMaximumWidth(NAME_WIDTH)
        self.show_button = QPushButton("Show")
        self.show_button.setToolTip("Encode this shape and load its reconstruction into the "
                                    "3D view and the sliders")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.source, self.class_name, self.index, self.preview, self.name,
                       self.show_button):
            layout.addWidget(widget)
        layout.addStretch(1)
        self._session: ExplorerSession | None = None
        self._picked: int | None = None  # the data set shape last announced
        self.source.setCurrentText(source)
        self.source.currentTextChanged.connect(self._update)
        self.class_name.currentIndexChanged.connect(self._update)
        self.index.valueChanged.connect(self._announce)
        self.show_button.clicked.connect(self.showRequested)
        self._update()

    def set_data(self, session: ExplorerSession | None) -> None:
        """Offer the data set of ``session`` (not available when it has none)."""
        has_data = session is not None and session.shapes is not None
        self._session = session if has_data else None
        self._picked = None
        self.class_name.blockSignals(True)
        self.class_name.clear()
        if self._session is not None:
            self.class_name.addItems(list(self._session.shapes.class_names))
        self.class_name.blockSignals(False)
        self.source.model().item(2).setEnabled(has_data)
        if not has_data and self.source.currentText() == DATASET:
            self.source.setCurrentText(CURRENT)
        self._update()

    def position(self) -> int | None:
        """The picked data set shape's position in the data set (None: none picked)."""
        if self.source.currentText() != DATASET or self._session is None:
            return None
        members = self._session.class_members(self.class_name.currentIndex())
        k = self.index.value() - 1
        return int(members[k]) if k < len(members) else None

    def choice(self) -> EndpointChoice:
        return EndpointChoice(self.source.currentText(), self.index.value() - 1,
                              self.position())

    def set_preview(self, position: int, image: np.ndarray) -> None:
        """Show the thumbnail (H, W, 4) of data set shape ``position`` if it is still picked."""
        if position == self.position():
            self.preview.setPixmap(pixmap_from_rgba(image))

    def _update(self) -> None:
        source = self.source.currentText()
        for widget in (self.class_name, self.preview, self.name, self.show_button):
            widget.setVisible(source == DATASET)
        self.index.setVisible(source != CURRENT)
        if source == GALLERY:
            self.index.setSuffix("")
            self.index.setMaximum(GALLERY_SIZE)
        elif source == DATASET and self._session is not None:
            count = len(self._session.class_members(self.class_name.currentIndex()))
            self.index.setSuffix(f" of {count}")
            self.index.setMaximum(max(count, 1))
        self._announce()

    def _announce(self) -> None:
        """Name the picked data set shape and ask for its thumbnail when it changed."""
        position = self.position()
        if position == self._picked:
            return
        self._picked = position
        self.preview.clear()
        if position is None or self._session is None:
            self.name.clear()
            return
        name = self._session.shape_name(position)
        self.name.setText(self.name.fontMetrics().elidedText(
            name, Qt.TextElideMode.ElideMiddle, NAME_WIDTH))
        self.name.setToolTip(name)
        self.shapePicked.emit(position)


class SequencePanel(QGroupBox):
    """Asks for an interpolation or a traversal and plays the resulting frames.

    ``frameChanged(k)`` fires when the shown frame changes by playing, scrubbing or clicking the
    filmstrip.
    """

    interpolateRequested = Signal()
    traverseRequested = Signal()
    frameChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Interpolation and traversal", parent)
        self.start, self.end = EndpointPicker(GALLERY, 1), EndpointPicker(GALLERY, 2)
        self.method = QComboBox()
        self.method.addItems(list(INTERPOLATIONS))
        self.method.setCurrentText("slerp")
        self.steps = QSpinBox(minimum=2, maximum=64, value=8)
        self.extent = QDoubleSpinBox(minimum=0.5, maximum=6.0, value=3.0, singleStep=0.5,
                                     prefix="±")
        self.extent.setToolTip("A traversal sweeps the selected dimension over this range")
        self.interpolate_button = QPushButton("Interpolate")
        self.traverse_button = QPushButton("Traverse selected dim")
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.scrub = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=0)
        self.frame_label = QLabel("no sequence")
        self.filmstrip = TileList(TILE, single_row=True)
        self._timer = QTimer(self, interval=FRAME_MS)

        grid = QGridLayout()
        grid.addWidget(QLabel("From"), 0, 0)
        grid.addWidget(self.start, 0, 1)
        grid.addWidget(QLabel("To"), 1, 0)
        grid.addWidget(self.end, 1, 1)
        options = QHBoxLayout()
        for widget in (QLabel("Method"), self.method, QLabel("Steps"), self.steps,
                       self.interpolate_button):
            options.addWidget(widget)
        options.addStretch(1)
        traversal = QHBoxLayout()
        for widget in (QLabel("Range"), self.extent, self.traverse_button):
            traversal.addWidget(widget)
        traversal.addStretch(1)
        player = QHBoxLayout()
        player.addWidget(self.play_button)
        player.addWidget(self.scrub, 1)
        player.addWidget(self.frame_label)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addLayout(options)
        layout.addLayout(traversal)
        layout.addLayout(player)
        layout.addWidget(self.filmstrip)

        self.interpolate_button.clicked.connect(self.interpolateRequested)
        self.traverse_button.clicked.connect(self.traverseRequested)
        self.play_button.toggled.connect(self._play)
        self.scrub.valueChanged.connect(self._on_scrub)
        self.filmstrip.picked.connect(self.scrub.setValue)
        self._timer.timeout.connect(self._advance)
        self.set_frames([], "")

    def set_family(self, family: LatentFamily) -> None:
        """Offer only the family's interpolation methods (categorical codes: linear, through
        the relaxed simplex); a traversal of class pickers steps through the classes, not a
        range."""
        methods = family.interpolations
        current = self.method.currentText()
        self.method.clear()
        self.method.addItems(list(methods))
        self.method.setCurrentText(current if current in methods else methods[-1])
        by_class = family.editor == "class"
        self.extent.setEnabled(not by_class)
        self.traverse_button.setToolTip("Decode every class of the selected variable in turn"
                                        if by_class else
                                        "Sweep the selected dimension over the range")

    @property
    def frame_count(self) -> int:
        return self.scrub.maximum() + 1 if self.filmstrip.count() else 0

    def set_frames(self, thumbnails: list[np.ndarray | None], title: str) -> None:
        """Show a new sequence (or none) and move to its first frame."""
        self.play_button.setChecked(False)
        self.filmstrip.set_tiles(thumbnails, [str(k + 1) for k in range(len(thumbnails))])
        self._title = title
        self.scrub.blockSignals(True)
        self.scrub.setMaximum(max(len(thumbnails) - 1, 0))
        self.scrub.setValue(0)
        self.scrub.blockSignals(False)
        for widget in (self.play_button, self.scrub):
            widget.setEnabled(bool(thumbnails))
        self._on_scrub(0)

    def update_thumbnails(self, thumbnails: list[np.ndarray | None]) -> None:
        """Redraw the filmstrip of the same sequence (after a threshold change)."""
        self.filmstrip.set_tiles(thumbnails, [str(k + 1) for k in range(len(thumbnails))])
        self.filmstrip.select(self.scrub.value())

    def _play(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        if playing:
            self._timer.start()
        else:
            self._timer.stop()

    def _advance(self) -> None:
        self.scrub.setValue((self.scrub.value() + 1) % (self.scrub.maximum() + 1))

    def _on_scrub(self, frame: int) -> None:
        if not self.filmstrip.count():
            self.frame_label.setText("no sequence")
            return
        self.frame_label.setText(f"{self._title} {frame + 1} / {self.frame_count}")
        self.filmstrip.select(frame)
        self.frameChanged.emit(frame)
