"""Export buttons: ask where to write (file dialogs) and hand the destination to the view."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QWidget,
)

from explorer.export import GRID_FORMATS, MESH_FORMATS
from explorer.ui.actions import command

MESH, GRID, SEQUENCE, GALLERY, SCREENSHOT = "mesh", "grid", "sequence", "gallery", "screenshot"
ANIMATION = "animation"


class ExportPanel(QGroupBox):
    """``exportRequested(kind, path, fmt)``: ``kind`` is one of MESH, GRID, SEQUENCE, GALLERY,
    SCREENSHOT or ANIMATION; ``path`` is a file, or a folder for sequences and the gallery."""

    exportRequested = Signal(str, str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Export", parent)
        self.format = QComboBox()
        self.format.addItems(list(MESH_FORMATS))
        self.format.setToolTip("Mesh file format for the shape, the sequence and the gallery")
        self.buttons = {
            MESH: QPushButton("Shape..."),
            GRID: QPushButton("Voxel grid..."),
            SEQUENCE: QPushButton("Sequence..."),
            GALLERY: QPushButton("Gallery..."),
            SCREENSHOT: QPushButton("Screenshot..."),
            ANIMATION: QPushButton("Animation..."),
        }
        self.buttons[MESH].setToolTip("The mesh in the 3D view")
        self.buttons[GRID].setToolTip("The decoded probability grid (.npy) or voxels (.binvox)")
        self.buttons[SEQUENCE].setToolTip("Every frame of the interpolation or traversal, "
                                          "numbered, into a folder")
        self.buttons[GALLERY].setToolTip("Every prior sample, numbered, into a folder")
        self.buttons[SCREENSHOT].setToolTip("A PNG picture of the 3D view")
        self.buttons[ANIMATION].setToolTip("The interpolation or traversal as a looping GIF")
        self.status = QLabel(wordWrap=True)
        self.folder = ""
        """Where the file dialogs start: the folder of the last export (set by the window)."""
        layout = QGridLayout(self)
        layout.addWidget(QLabel("Format"), 0, 0)
        layout.addWidget(self.format, 0, 1)
        for i, button in enumerate(self.buttons.values()):
            layout.addWidget(button, 1 + i // 2, i % 2)
        layout.addWidget(self.status, 4, 0, 1, 2)
        self.actions = {kind: command(button.text(), self, button) for kind, button in
                        self.buttons.items()}
        """The panel's commands; its buttons and the window's menus trigger them."""
        for kind, action in self.actions.items():
            action.triggered.connect(lambda _=False, k=kind: self._ask(k))

    def _ask(self, kind: str) -> None:
        fmt = self.format.currentText()
        start = Path(self.folder)
        if kind in (SEQUENCE, GALLERY):
            path = QFileDialog.getExistingDirectory(self, f"Export the {kind} into a folder",
                                                    self.folder)
        elif kind == MESH:
            path, _ = QFileDialog.getSaveFileName(self, "Export the shape",
                                                  str(start / f"shape.{fmt}"),
                                                  f"{fmt.upper()} mesh (*.{fmt})")
            path = _with_suffix(path, fmt)
        elif kind == GRID:
            filters = ";;".join(f"{f} grid (*.{f})" for f in GRID_FORMATS)
            path, chosen = QFileDialog.getSaveFileName(self, "Export the voxel grid",
                                                       str(start / "shape.npy"), filters)
            fmt = next((f for f in GRID_FORMATS if f"*.{f}" in chosen), GRID_FORMATS[0])
            path = _with_suffix(path, fmt)
            fmt = Path(path).suffix.lstrip(".").lower() if path else fmt
        elif kind == ANIMATION:
            path, _ = QFileDialog.getSaveFileName(self, "Save the sequence as an animation",
                                                  str(start / "animation.gif"),
                                                  "GIF animation (*.gif)")
            path, fmt = _with_suffix(path, "gif"), "gif"
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Save a screenshot",
                                                  str(start / "explore.png"),
                                                  "PNG image (*.png)")
            path, fmt = _with_suffix(path, "png"), "png"
        if path:
            self.folder = path if kind in (SEQUENCE, GALLERY) else str(Path(path).parent)
            self.exportRequested.emit(kind, path, fmt)


def _with_suffix(path: str, fmt: str) -> str:
    """``path`` with ``.fmt`` appended when it has no suffix (empty stays empty)."""
    return f"{path}.{fmt}" if path and not Path(path).suffix else path
