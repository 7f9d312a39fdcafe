"""Opening a path the desktop way: dropped on the main window, or named on the command line.

A checkpoint (.pt, .safetensors) opens in the Explore view; a mesh or grid file is encoded with
the model in the Explore view (its code refined where the model allows) and shown next to its
reconstruction (``EncodedDialog``), its code in the sliders; a folder becomes the Training
view's data source. Anything else gets a message saying why it cannot be opened. A path given
while the window is still starting or opening a model is opened once that is done.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QUrl, Slot
from PySide6.QtGui import QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QMessageBox

from explorer.open_path import what_to_open
from trainer.errors import ShapeExplorerError

if TYPE_CHECKING:
    from explorer.encode import Encoded
    from explorer.ui.encoded_dialog import EncodedDialog
    from explorer.ui.main_window import MainWindow

ENCODE_CHANNEL = "encode"
ENCODE_REFINE_STEPS = 30
"""A dropped file's code is refined by this many steps where the model allows
(trainer.code_refinement): a fraction of a second for one shape, a closer reconstruction."""
TITLE = "Open"


class FileOpener(QObject):
    """Accepts files and folders dropped on ``window`` and opens them (module docstring)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.encoded_dialog: EncodedDialog | None = None
        self._pending: Path | None = None
        window.setAcceptDrops(True)
        window.installEventFilter(self)
        window.viewsReady.connect(self._open_pending)
        window.loadFinished.connect(self._open_pending)

    @property
    def window(self) -> MainWindow:
        """The window it opens files for: its Qt parent (kept only there, so that no Python
        reference cycle keeps a closed window alive until some later garbage collection)."""
        return self.parent()  # type: ignore[return-value]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.window:
            return False
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            assert isinstance(event, QDragMoveEvent)  # DragEnter derives from DragMove
            if _local_paths(event.mimeData().urls()):
                event.acceptProposedAction()
                return True
        elif event.type() == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            paths = _local_paths(event.mimeData().urls())
            if paths:
                event.acceptProposedAction()
                if len(paths) > 1:
                    self._tell(f"{len(paths)} items were dropped: drop one checkpoint, shape "
                               "file or folder at a time.")
                else:
                    self.open(paths[0])
                return True
        return False

    def open(self, path: str | Path) -> None:
        """Open ``path`` as the module docstring says, or say why it cannot be opened."""
        path = Path(path)
        try:
            kind = what_to_open(path)
        except ShapeExplorerError as exc:
            self._tell(str(exc))
            return
        window = self.window
        if not window.views_ready or window.is_loading:
            self._pending = path
            return
        if kind == "shape":
            self._encode(path)
        elif window.training.is_running():
            self._tell(f"Training is running: stop it (Shift+F5) before opening {path.name}.")
        elif kind == "checkpoint":
            window.tabs.setCurrentWidget(window.explore)
            window.open_path(path)
        else:
            window.training.use_folder(str(path))
            window.tabs.setCurrentWidget(window.training)
            window.statusBar().showMessage(
                f"Data source: the folder {path}. Press Start (F5) to train on it.")

    @Slot()
    def _open_pending(self) -> None:
        if self._pending is not None and self.window.views_ready and not self.window.is_loading:
            path, self._pending = self._pending, None
            self.open(path)

    def _encode(self, path: Path) -> None:
        """Encode the shape file with the explored model on the decode worker."""
        from explorer.encode import encode_file

        explore = self.window.explore
        session = explore.session
        if session is None:
            self._tell(f"No model to encode {path.name} with: open a checkpoint first "
                       "(File > Open checkpoint..., or drop one here).")
            return
        self.window.statusBar().showMessage(f"Encoding {path.name} ...")
        refine = ENCODE_REFINE_STEPS if session.can_refine else 0
        explore.service.submit(ENCODE_CHANNEL, functools.partial(encode_file, session, path,
                                                                 refine),
                               self._show_encoded, on_error=self._encode_failed)

    def _show_encoded(self, encoded: Encoded) -> None:
        from explorer.ui.encoded_dialog import EncodedDialog

        window = self.window
        window.tabs.setCurrentWidget(window.explore)
        window.explore.show_code(encoded.code)
        if self.encoded_dialog is None:
            self.encoded_dialog = EncodedDialog(window)
        self.encoded_dialog.show_encoded(encoded)
        self.encoded_dialog.show()
        window.statusBar().showMessage(
            f"Encoded {encoded.path.name}: its code is in the sliders, its reconstruction in "
            "the 3D view.")

    def _encode_failed(self, message: str) -> None:
        self.window.statusBar().showMessage("Encoding failed.")
        self._tell(message)

    def _tell(self, message: str) -> None:
        QMessageBox.warning(self.window, TITLE, message)


def _local_paths(urls: list[QUrl]) -> list[Path]:
    """The local files and folders among dropped URLs (none if any URL is not local)."""
    if not urls or not all(url.isLocalFile() for url in urls):
        return []
    return [Path(url.toLocalFile()) for url in urls]
