"""The Explore view: browse a trained model's latent space (skeleton)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from explorer.session import ExplorerSession

NO_MODEL_HINT = "Train a model or open a checkpoint (File > Open checkpoint...)"


class ExploreView(QWidget):
    """Prior samples, latent sliders, interpolation and a live 3D mesh of the decoded shape."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session: ExplorerSession | None = None
        self._hint = QLabel(NO_MODEL_HINT, alignment=Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addWidget(self._hint)

    @property
    def session(self) -> ExplorerSession | None:
        return self._session

    def set_session(self, session: ExplorerSession | None) -> None:
        """Show ``session`` (a snapshot model), or the hint to load one when None."""
        self._session = session
        self._hint.setVisible(session is None)
