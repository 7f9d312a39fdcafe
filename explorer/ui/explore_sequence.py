"""Interpolation and traversal: choose two shapes, method and steps; play, scrub, filmstrip."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
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

from explorer.session import INTERPOLATIONS
from explorer.ui.explore_gallery import GALLERY_SIZE
from explorer.ui.explore_tiles import TileList
from trainer.data.shapeset import ShapeSet

CURRENT, GALLERY, VALIDATION = "Current shape", "Gallery sample", "Validation shape"
FRAME_MS = 150
TILE = 80


@dataclass(frozen=True)
class EndpointChoice:
    """What the user picked for one end: a source and, for the gallery or the validation set,
    which shape (``index`` within the gallery, or within class ``class_index``)."""

    source: str
    index: int = 0
    class_index: int = 0


class EndpointPicker(QWidget):
    """Source combo + class combo (validation only) + 1-based index spin box."""

    showRequested = Signal()

    def __init__(self, source: str, index: int = 1, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = QComboBox()
        self.source.addItems([CURRENT, GALLERY, VALIDATION])
        self.class_name = QComboBox()
        self.index = QSpinBox(minimum=1, maximum=GALLERY_SIZE, value=index, prefix="#")
        self.show_button = QPushButton("Show")
        self.show_button.setToolTip("Load this shape into the 3D view and the sliders")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.source, self.class_name, self.index, self.show_button):
            layout.addWidget(widget)
        layout.addStretch(1)
        self._shapes: ShapeSet | None = None
        self.source.setCurrentText(source)
        self.source.currentTextChanged.connect(self._update)
        self.class_name.currentIndexChanged.connect(self._update)
        self.show_button.clicked.connect(self.showRequested)
        self._update()

    def set_sources(self, shapes: ShapeSet | None) -> None:
        """Offer the validation ``shapes`` (None: not available)."""
        self._shapes = shapes
        self.class_name.blockSignals(True)
        self.class_name.clear()
        if shapes is not None:
            self.class_name.addItems(list(shapes.class_names))
        self.class_name.blockSignals(False)
        self.source.model().item(2).setEnabled(shapes is not None)
        if shapes is None and self.source.currentText() == VALIDATION:
            self.source.setCurrentText(CURRENT)
        self._update()

    def choice(self) -> EndpointChoice:
        return EndpointChoice(self.source.currentText(), self.index.value() - 1,
                              self.class_name.currentIndex())

    def _update(self) -> None:
        source = self.source.currentText()
        self.class_name.setVisible(source == VALIDATION)
        self.index.setVisible(source != CURRENT)
        self.show_button.setVisible(source == VALIDATION)
        if source == GALLERY:
            self.index.setMaximum(GALLERY_SIZE)
        elif source == VALIDATION and self._shapes is not None:
            count = int(np.sum(self._shapes.labels == self.class_name.currentIndex()))
            self.index.setMaximum(max(count, 1))


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
                       self.interpolate_button, QLabel("Range"), self.extent,
                       self.traverse_button):
            options.addWidget(widget)
        options.addStretch(1)
        player = QHBoxLayout()
        player.addWidget(self.play_button)
        player.addWidget(self.scrub, 1)
        player.addWidget(self.frame_label)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addLayout(options)
        layout.addLayout(player)
        layout.addWidget(self.filmstrip)

        self.interpolate_button.clicked.connect(self.interpolateRequested)
        self.traverse_button.clicked.connect(self.traverseRequested)
        self.play_button.toggled.connect(self._play)
        self.scrub.valueChanged.connect(self._on_scrub)
        self.filmstrip.picked.connect(self.scrub.setValue)
        self._timer.timeout.connect(self._advance)
        self.set_frames([], "")

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
