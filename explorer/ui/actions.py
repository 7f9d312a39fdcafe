"""Commands as QActions that a view's buttons and the main window's menus share."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractButton


class _ButtonBinding(QObject):
    """Makes a button trigger an action and show the action's text and enabled state; a child
    of the action, so it lives as long as the action."""

    def __init__(self, action: QAction, button: QAbstractButton) -> None:
        super().__init__(action)
        self.action, self.button = action, button
        button.clicked.connect(action.trigger)
        action.changed.connect(self.sync)
        self.sync()

    @Slot()
    def sync(self) -> None:
        self.button.setText(self.action.text().replace("&", ""))
        self.button.setEnabled(self.action.isEnabled())


def command(text: str, parent: QObject, button: QAbstractButton) -> QAction:
    """A new action named ``text`` that ``button`` triggers and mirrors: set the text and the
    enabled state on the action only."""
    action = QAction(text, parent)
    _ButtonBinding(action, button)
    return action
