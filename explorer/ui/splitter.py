"""A splitter whose handles show a grip, so that a person sees that the panes can be resized."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSplitter, QSplitterHandle, QWidget

HANDLE_WIDTH = 9
_GRIP_DOTS = 5
_DOT_SPACING = 6.0


class GripHandle(QSplitterHandle):
    """A splitter handle drawn as a light bar with a column of dots, darker under the mouse."""

    def __init__(self, orientation: Qt.Orientation, parent: QSplitter) -> None:
        super().__init__(orientation, parent)
        self.setAttribute(Qt.WidgetAttribute.WA_Hover)
        self.setToolTip("Drag to resize the panels")

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        hovered = self.underMouse()
        painter.fillRect(self.rect(), QColor("#d5d9df" if hovered else "#e4e7eb"))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#4b5563" if hovered else "#8a8f98"))
        centre = QPointF(self.rect().center())
        horizontal = self.orientation() == Qt.Orientation.Horizontal
        for i in range(_GRIP_DOTS):
            offset = (i - (_GRIP_DOTS - 1) / 2) * _DOT_SPACING
            dot = centre + (QPointF(0, offset) if horizontal else QPointF(offset, 0))
            painter.drawEllipse(dot, 1.6, 1.6)


class GripSplitter(QSplitter):
    """QSplitter with `GripHandle` handles, HANDLE_WIDTH wide; panes never collapse."""

    def __init__(self, orientation: Qt.Orientation, parent: QWidget | None = None) -> None:
        super().__init__(orientation, parent)
        self.setHandleWidth(HANDLE_WIDTH)
        self.setChildrenCollapsible(False)

    def createHandle(self) -> QSplitterHandle:
        return GripHandle(self.orientation(), self)
