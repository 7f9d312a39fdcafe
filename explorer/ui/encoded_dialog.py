"""A window that shows an encoded shape file next to its reconstruction, in two 3D views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDialog, QGridLayout, QLabel, QWidget

from explorer.ui.mesh_view import MeshView

if TYPE_CHECKING:
    from explorer.encode import Encoded


class EncodedDialog(QDialog):
    """Non-modal: the input as the model sees it (voxelised at its resolution) and the shape
    decoded from its code, side by side, with the reconstruction's IoU."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.input_view = MeshView()
        self.decoded_view = MeshView()
        self.input_label = QLabel()
        self.decoded_label = QLabel("Reconstruction (decoded from its code)")
        layout = QGridLayout(self)
        layout.addWidget(self.input_label, 0, 0)
        layout.addWidget(self.decoded_label, 0, 1)
        layout.addWidget(self.input_view, 1, 0)
        layout.addWidget(self.decoded_view, 1, 1)
        self.resize(900, 480)

    def show_encoded(self, encoded: Encoded) -> None:
        resolution = encoded.grid.shape[0]
        self.setWindowTitle(f"Encoded: {encoded.path.name}")
        self.input_label.setText(f"Input: {encoded.path.name} (voxelised at {resolution}³)")
        self.input_view.show_mesh(encoded.input_mesh, "The voxelised input has no surface")
        self.decoded_view.show_mesh(encoded.decoded_mesh)
        if encoded.refine_steps:
            self.decoded_label.setText(
                f"Reconstruction (its code refined by {encoded.refine_steps} steps): IoU "
                f"{encoded.iou:.3f}; the encoder's code alone: {encoded.encoder_iou:.3f}")
        else:
            self.decoded_label.setText(f"Reconstruction (decoded from its code): IoU "
                                       f"{encoded.iou:.3f}")
