"""The latent map's plot: data set codes as points coloured by class with a legend, and the
current code, the gallery's samples, the sequence's path and the picked shapes drawn over them.

Only paints and finds the point under the mouse; what a click or a hover does is the panel's.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from explorer.ui.mesh_view import BACKGROUND

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac")
PICK_RADIUS_PX = 8.0
"""A point counts as under the mouse within this many pixels."""
POINT_SIZE = 7


def class_colour(label: int) -> QColor:
    """The colour of class ``label`` (a fixed palette, then hues)."""
    if label < len(PALETTE):
        return QColor(PALETTE[label])
    return pg.intColor(label, hues=max(label + 1, 12))


class MapPlot(pg.PlotWidget):
    """Points by class with a legend, and overlays. ``pointClicked(index, add)`` fires when a
    point is clicked (``add``: with Ctrl or Shift), ``pointHovered(index)`` when the mouse
    moves onto another point (-1: off every point)."""

    pointClicked = Signal(int, bool)
    pointHovered = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=QColor(*BACKGROUND))
        self.setMinimumSize(200, 150)
        self.plotItem.hideButtons()
        self.plotItem.setMenuEnabled(False)
        self.plotItem.getAxis("bottom").setStyle(showValues=False)
        self.plotItem.getAxis("left").setStyle(showValues=False)
        self.legend = self.plotItem.addLegend(offset=(6, 6), labelTextColor="#d8dde6",
                                              brush=QColor(20, 22, 28, 170), colCount=2,
                                              verSpacing=-6)
        self._points = np.zeros((0, 2))
        self._classes: list[pg.ScatterPlotItem] = []
        self._hovered = -1
        self.path = pg.PlotDataItem(pen=pg.mkPen("#f5f5f5", width=2), symbol="o",
                                    symbolSize=5, symbolBrush="#f5f5f5", symbolPen=None)
        self.samples = pg.ScatterPlotItem(symbol="x", size=11, pen=pg.mkPen("#ffffff", width=2),
                                          brush=None)
        self.picked = pg.ScatterPlotItem(symbol="o", size=16, brush=None,
                                         pen=pg.mkPen("#ffd400", width=2))
        self.current = pg.ScatterPlotItem(symbol="star", size=20, brush="#ffd400",
                                          pen=pg.mkPen("#202020", width=1))
        self.message = pg.TextItem(color="#d8dde6", anchor=(0.5, 0.5))
        self.scene().sigMouseMoved.connect(self._on_moved)
        self.scene().sigMouseClicked.connect(self._on_clicked)
        self._add_overlays()

    def _add_overlays(self) -> None:
        for item in (self.path, self.samples, self.picked, self.current):
            self.plotItem.addItem(item)
            item.setZValue(10)
        self.legend.addItem(self.samples, "prior samples")
        self.legend.addItem(self.current, "current code")
        self.plotItem.addItem(self.message, ignoreBounds=True)

    @property
    def points(self) -> np.ndarray:
        """The map positions of the data points (N, 2)."""
        return self._points

    def show_points(self, points: np.ndarray, labels: np.ndarray,
                    class_names: tuple[str, ...]) -> None:
        """Replace the data points: one scatter (and legend entry) per class present."""
        for item in self._classes:
            self.plotItem.removeItem(item)
            self.legend.removeItem(item)
        self._classes = []
        self._points = np.asarray(points, dtype=np.float64)
        for label in np.unique(labels):
            members = np.flatnonzero(labels == label)
            colour = class_colour(int(label))
            item = pg.ScatterPlotItem(self._points[members, 0], self._points[members, 1],
                                      size=POINT_SIZE, pen=None, brush=colour)
            self.plotItem.addItem(item)
            self.legend.addItem(item, class_names[int(label)])
            self._classes.append(item)
        self.set_message("")
        self.plotItem.enableAutoRange()
        self.plotItem.autoRange()

    def clear_points(self, message: str) -> None:
        """No map: remove the points and overlays and say why."""
        self.show_points(np.zeros((0, 2)), np.zeros(0, dtype=np.int64), ())
        self.show_overlays(None, None, None, None)
        self.set_message(message)

    def set_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setPos(0, 0)

    def show_overlays(self, current: np.ndarray | None, samples: np.ndarray | None,
                      path: np.ndarray | None, picked: np.ndarray | None) -> None:
        """Draw the current code, the gallery's samples, the sequence's path and the picked
        points (map coordinates; None or empty: not drawn)."""
        for item, xy in ((self.current, current), (self.samples, samples),
                         (self.picked, picked)):
            xy = np.zeros((0, 2)) if xy is None else np.atleast_2d(xy)
            item.setData(xy[:, 0], xy[:, 1])
        path = np.zeros((0, 2)) if path is None else np.atleast_2d(path)
        self.path.setData(path[:, 0], path[:, 1])

    def widget_position(self, xy: np.ndarray) -> QPoint:
        """Where map coordinates ``xy`` are in the viewport (for clicking in tests)."""
        scene = self.plotItem.vb.mapViewToScene(QPointF(float(xy[0]), float(xy[1])))
        return self.mapFromScene(scene)

    def point_at(self, scene_pos: QPointF) -> int:
        """The data point within PICK_RADIUS_PX of ``scene_pos``, nearest first; -1: none."""
        vb = self.plotItem.vb
        if len(self._points) == 0 or not vb.sceneBoundingRect().contains(scene_pos):
            return -1
        view = vb.mapSceneToView(scene_pos)
        width, height = vb.viewPixelSize()
        if width <= 0 or height <= 0:
            return -1
        d2 = ((self._points[:, 0] - view.x()) / width) ** 2 \
            + ((self._points[:, 1] - view.y()) / height) ** 2
        nearest = int(np.argmin(d2))
        return nearest if d2[nearest] <= PICK_RADIUS_PX ** 2 else -1

    def _on_moved(self, scene_pos: QPointF) -> None:
        index = self.point_at(scene_pos)
        if index != self._hovered:
            self._hovered = index
            self.pointHovered.emit(index)

    def _on_clicked(self, event) -> None:
        if event.button() != pg.QtCore.Qt.MouseButton.LeftButton:
            return
        index = self.point_at(event.scenePos())
        if index >= 0:
            modifiers = event.modifiers()
            add = bool(modifiers & (pg.QtCore.Qt.KeyboardModifier.ControlModifier
                                    | pg.QtCore.Qt.KeyboardModifier.ShiftModifier))
            event.accept()
            self.pointClicked.emit(index, add)
