"""A clickable list of shape thumbnails: the gallery grid and the interpolation filmstrip."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

from explorer.ui.mesh_view import BACKGROUND

_EMPTY_TEXT = "no surface"


def pixmap_from_rgba(image: np.ndarray) -> QPixmap:
    """An (H, W, 4) uint8 RGBA array as a pixmap (GUI thread only)."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = image.shape[:2]
    qimage = QImage(image.data, width, height, 4 * width, QImage.Format.Format_RGBA8888)
    return QPixmap.fromImage(qimage.copy())


class TileList(QListWidget):
    """Thumbnails with captions in a wrapping grid or a single scrolling row.

    ``picked(index)`` fires when the user clicks a tile or moves to one with the keyboard (not
    when the selection is set in code).
    """

    picked = Signal(int)

    def __init__(self, tile: int, *, single_row: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(tile, tile))
        self.setGridSize(QSize(tile + 10, tile + 24))
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(not single_row)
        if single_row:
            self.setFixedHeight(tile + 24 + 2 * self.frameWidth()
                                + self.horizontalScrollBar().sizeHint().height())
            self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setStyleSheet(
            f"QListWidget {{ background: {QColor(*BACKGROUND).name()}; color: #d8dde6; }}")
        self.itemClicked.connect(self._on_clicked)

    def set_tiles(self, images: list[np.ndarray | None], captions: list[str]) -> None:
        """Replace all tiles; an empty or None image gets "no surface" in its caption."""
        self.clear()
        size = self.iconSize()
        for image, caption in zip(images, captions, strict=True):
            empty = image is None or not image[..., 3].any()
            item = QListWidgetItem(f"{caption} · {_EMPTY_TEXT}" if empty else caption)
            if empty:
                blank = QPixmap(size)
                blank.fill(Qt.GlobalColor.transparent)
                item.setIcon(QIcon(blank))
            else:
                item.setIcon(QIcon(pixmap_from_rgba(image)))
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.addItem(item)

    def select(self, index: int) -> None:
        """Highlight tile ``index`` and scroll to it, without emitting ``picked``."""
        self.setCurrentRow(index)
        if (item := self.item(index)) is not None:
            self.scrollToItem(item)

    def unselect(self) -> None:
        """Highlight no tile (the shape in view is none of them)."""
        self.clearSelection()
        self.setCurrentRow(-1)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Arrow keys (and Home, End, Page Up/Down) pick the tile they move to; Enter or
        Return picks the highlighted one."""
        before = self.currentRow()
        super().keyPressEvent(event)
        row = self.currentRow()
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if row >= 0 and (row != before or enter):
            self.setCurrentRow(row)    # highlighted too when it was only the current item
            self.picked.emit(row)

    def _on_clicked(self, item: QListWidgetItem) -> None:
        self.picked.emit(self.row(item))
