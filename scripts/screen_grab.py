"""Screenshots as the screen shows them: `QWidget.grab` leaves out native child windows such as
the 3D view, so the scripts read the pixels back from the (X) screen instead."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QWidget


def save_on_screen(widget: QWidget, path: Path, with_frame: bool = False) -> None:
    """Save what the screen shows of `widget` (and of anything above it) as a PNG."""
    if with_frame:
        rect = widget.frameGeometry()
        x, y, width, height = rect.x(), rect.y(), rect.width(), rect.height()
    else:
        corner = widget.mapToGlobal(QPoint(0, 0))
        x, y, width, height = corner.x(), corner.y(), widget.width(), widget.height()
    widget.screen().grabWindow(0, x, y, width, height).save(str(path))
