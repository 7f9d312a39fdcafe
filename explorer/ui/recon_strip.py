"""A few validation shapes next to their reconstructions, as depth images (see snapshot.py)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from explorer.ui.snapshot import RECONSTRUCTIONS, Reconstructions

TILE_PX = 64
COLUMNS = 2  # pairs per row


def _pixmap(image: np.ndarray) -> QPixmap:
    image = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = image.shape
    qimage = QImage(image.data, width, height, width, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(qimage).scaled(TILE_PX, TILE_PX, Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.FastTransformation)


class ReconStrip(QWidget):
    """Pairs of (input, decoded) tiles, refreshed each epoch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        for column in range(2 * COLUMNS):
            header = QLabel("input" if column % 2 == 0 else "decoded")
            header.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(header, 0, column)
        self.tiles: list[tuple[QLabel, QLabel]] = []
        for i in range(RECONSTRUCTIONS):
            pair = (self._tile(), self._tile())
            row, column = 1 + i // COLUMNS, 2 * (i % COLUMNS)
            layout.addWidget(pair[0], row, column)
            layout.addWidget(pair[1], row, column + 1)
            self.tiles.append(pair)

    @staticmethod
    def _tile() -> QLabel:
        tile = QLabel()
        tile.setFixedSize(TILE_PX, TILE_PX)
        tile.setAlignment(Qt.AlignmentFlag.AlignCenter)
        tile.setStyleSheet("background: black;")
        return tile

    def set_reconstructions(self, recon: Reconstructions | None) -> None:
        """Show the images, or blank tiles for None."""
        for i, (given, decoded) in enumerate(self.tiles):
            if recon is None or i >= len(recon.inputs):
                given.clear()
                decoded.clear()
            else:
                given.setPixmap(_pixmap(recon.inputs[i]))
                decoded.setPixmap(_pixmap(recon.outputs[i]))
