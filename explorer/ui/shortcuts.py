"""Help > Keyboard shortcuts: a table read from the menu bar's actions, so it cannot drift."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMenu,
    QMenuBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


def shortcut_rows(menu_bar: QMenuBar) -> list[tuple[str, str, str]]:
    """(menu, command, keys) for every menu action that has a shortcut, in menu order."""
    rows: list[tuple[str, str, str]] = []
    for top in menu_bar.actions():
        if top.menu() is not None:
            _collect(top.menu(), _plain(top.text()), rows)
    return rows


def _collect(menu: QMenu, path: str, rows: list[tuple[str, str, str]]) -> None:
    for action in menu.actions():
        if action.menu() is not None:
            _collect(action.menu(), f"{path} > {_plain(action.text())}", rows)
        elif not action.isSeparator() and action.shortcuts():
            rows.append((path, _plain(action.text()), keys_text(action)))


def keys_text(action: QAction) -> str:
    """The action's shortcuts as the platform writes them, e.g. "Ctrl+S or Ctrl+Shift+S"."""
    return " or ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                       for k in action.shortcuts())


def _plain(text: str) -> str:
    """Menu text without mnemonics and trailing dots: "&Open checkpoint..." -> "Open checkpoint"."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").removesuffix("...")


MOUSE_HELP = ("<b>Mouse in the 3D view</b>: drag to orbit, wheel to zoom, middle-drag or "
              "Ctrl+drag to pan; Reset camera (Ctrl+0) goes back to the start. "
              "<b>Gallery</b>: click a sample, or move with the arrow keys; Enter loads the "
              "highlighted one.")


class ShortcutsDialog(QDialog):
    """A non-modal table of the shortcuts of ``menu_bar``'s actions, and the mouse controls."""

    def __init__(self, menu_bar: QMenuBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(menu_bar)
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Keys", "Command", "Menu"])
        for r, (menu, command, keys) in enumerate(rows):
            for c, text in enumerate((keys, command, menu)):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.table.setItem(r, c, item)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setStyleSheet("QTableView::item { padding: 2px 14px 2px 6px; }")
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        self.table.ensurePolished()  # the padding counts in the column widths
        self.table.resizeColumnsToContents()
        self.table.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        self.mouse = QLabel(MOUSE_HELP, wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.mouse)
        layout.addWidget(buttons)
        self.adjustSize()

    def rows(self) -> list[tuple[str, str, str]]:
        """(keys, command, menu) as shown."""
        return [tuple(self.table.item(r, c).text() for c in range(3))  # type: ignore[misc]
                for r in range(self.table.rowCount())]
