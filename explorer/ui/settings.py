"""What the app remembers between sessions (QSettings): window geometry, last folders, recent
checkpoints; and the File > Open Recent menu built from them.

Settings live in an INI file of the user scope (on Linux ``~/.config/ShapeLatentExplorer/Shape
Latent Explorer.ini``); tests point ``QSettings.setPath`` at a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Signal
from PySide6.QtWidgets import QMainWindow, QMenu, QSplitter, QWidget

ORGANIZATION = "ShapeLatentExplorer"
APPLICATION = "Shape Latent Explorer"
MAX_RECENT = 8
CHECKPOINTS, EXPORTS, DATA = "checkpoints", "exports", "data"
"""Kinds of remembered folders."""


class AppSettings:
    """Typed access to the app's QSettings; every write is flushed to disk at once."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store or QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                                        ORGANIZATION, APPLICATION)

    # --- recent checkpoints, newest first -------------------------------------------------------
    def recent_checkpoints(self) -> list[str]:
        value = self.store.value("recent/checkpoints", [])
        paths = [value] if isinstance(value, str) else list(value or [])
        return [str(p) for p in paths if p][:MAX_RECENT]

    def add_recent(self, path: str | Path) -> None:
        """Put ``path`` (made absolute) first, dropping an older entry for it."""
        path = os.path.abspath(path)
        self._set_recent([path, *(p for p in self.recent_checkpoints() if p != path)])

    def remove_recent(self, path: str | Path) -> None:
        path = os.path.abspath(path)
        self._set_recent([p for p in self.recent_checkpoints() if p != path])

    def clear_recent(self) -> None:
        self._set_recent([])

    def _set_recent(self, paths: list[str]) -> None:
        self.store.setValue("recent/checkpoints", paths[:MAX_RECENT])
        self.store.sync()

    # --- folders --------------------------------------------------------------------------------
    def last_folder(self, kind: str) -> str:
        """The folder last used for ``kind`` (CHECKPOINTS, EXPORTS, DATA) if it still exists,
        else an empty string (dialogs then start in the working directory)."""
        folder = str(self.store.value(f"folders/{kind}", "") or "")
        return folder if folder and os.path.isdir(folder) else ""

    def remember_folder(self, kind: str, path: str | Path) -> None:
        """Remember ``path``'s folder (``path`` itself when it is a folder) for ``kind``."""
        folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
        self.store.setValue(f"folders/{kind}", os.path.abspath(folder))
        self.store.sync()

    # --- window ---------------------------------------------------------------------------------
    def restore_window(self, window: QMainWindow) -> bool:
        """Give ``window`` its saved geometry and tool-bar state; False when none was saved."""
        geometry = self.store.value("window/geometry")
        if not isinstance(geometry, QByteArray) or not window.restoreGeometry(geometry):
            return False
        state = self.store.value("window/state")
        if isinstance(state, QByteArray):
            window.restoreState(state)
        return True

    def save_window(self, window: QMainWindow, splitters: dict[str, QSplitter] | None = None,
                    ) -> None:
        """Remember ``window``'s geometry and the panel sizes of the named ``splitters``."""
        self.store.setValue("window/geometry", window.saveGeometry())
        self.store.setValue("window/state", window.saveState())
        for name, splitter in (splitters or {}).items():
            self.store.setValue(f"splitters/{name}", splitter.saveState())
        self.store.sync()

    def restore_splitter(self, name: str, splitter: QSplitter) -> bool:
        """Give ``splitter`` the panel sizes saved under ``name``; False when none were."""
        state = self.store.value(f"splitters/{name}")
        return isinstance(state, QByteArray) and splitter.restoreState(state)


class RecentMenu(QMenu):
    """File > Open Recent: one entry per recent checkpoint (newest first, numbered), files that
    no longer exist greyed out, and "Clear list". ``chosen(path)`` fires when an entry is
    clicked. ``refresh()`` rebuilds it; it also rebuilds itself whenever it is shown."""

    chosen = Signal(str)

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__("Open &Recent", parent)
        self.settings = settings
        self.aboutToShow.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.clear()
        paths = self.settings.recent_checkpoints()
        for number, path in enumerate(paths, 1):
            exists = os.path.isfile(path)
            label = f"&{number} {Path(path).name}  ({_short(Path(path).parent)})"
            action = self.addAction(label if exists else f"{label}, not found")
            action.setData(path)
            action.setEnabled(exists)
            action.setToolTip(path if exists else f"{path} no longer exists")
            action.triggered.connect(lambda _=False, p=path: self.chosen.emit(p))
        if not paths:
            self.addAction("No recent checkpoints").setEnabled(False)
        self.addSeparator()
        clear = self.addAction("&Clear list")
        clear.setEnabled(bool(paths))
        clear.triggered.connect(self._clear)
        self.setToolTipsVisible(True)

    def path_actions(self) -> list:
        """The entries for checkpoints (QActions whose data is the path)."""
        return [a for a in self.actions() if a.data()]

    def _clear(self) -> None:
        self.settings.clear_recent()
        self.refresh()


def _short(folder: Path) -> str:
    """A folder for a menu: ``~`` for the home folder, at most the last three parts."""
    text = str(folder)
    home = str(Path.home())
    if text == home or text.startswith(home + os.sep):
        text = "~" + text[len(home):]
    parts = Path(text).parts
    return text if len(parts) <= 3 else os.path.join("...", *parts[-3:])
