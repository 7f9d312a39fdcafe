"""The Complete view's 3D scene: the completed mesh, the observed occupied and free voxels as
dots in two colours, and the true shape as a translucent surface drawn last (so everything
behind and inside it still shows, depth-correct)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyqtgraph.opengl as gl
import trimesh
from PySide6.QtGui import QOpenGLContext
from PySide6.QtWidgets import QWidget

from explorer.ui.mesh_view import HeadlightShader, MeshView, _MeshData

OCCUPIED_RGBA = (1.0, 0.36, 0.22, 1.0)
FREE_RGBA = (0.45, 0.86, 0.5, 1.0)
TRUTH_RGBA = (0.85, 0.88, 0.95, 0.22)
OCCUPIED_DOT = 1.0
"""Occupied voxels are drawn this share of a voxel wide (a whole voxel: they show through a
completed surface that passes through them)."""
FREE_DOT = 0.22
TRANSLUCENT_LAST = 10
"""Depth value of the translucent truth: pyqtgraph draws higher values later."""


class ContextScatterItem(gl.GLScatterPlotItem):
    """A GLScatterPlotItem with its point shader compiled per GL context: pyqtgraph keeps one
    program for all views, linked in the first context that drew dots, and a program of another
    context draws nothing (GL_INVALID_VALUE) in this view's."""

    _programs: ClassVar[dict[QOpenGLContext, object]] = {}

    def getShaderProgram(self) -> object:  # pyqtgraph's name
        context = QOpenGLContext.currentContext()
        program = self._programs.get(context)
        if program is None:
            shared = gl.GLScatterPlotItem._shaderProgram
            gl.GLScatterPlotItem._shaderProgram = None
            program = gl.GLScatterPlotItem.getShaderProgram()
            gl.GLScatterPlotItem._shaderProgram = shared   # other views keep theirs
            self._programs[context] = program
            context.aboutToBeDestroyed.connect(lambda: self._programs.pop(context, None))
        return program


class CompleteScene(MeshView):
    """A MeshView (its mesh: the completion) with the observation and the truth over it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.truth_item = gl.GLMeshItem(smooth=True, shader=HeadlightShader(), color=TRUTH_RGBA,
                                        glOptions="translucent")
        self.truth_item.setDepthValue(TRANSLUCENT_LAST)
        self.truth_item.setVisible(False)
        self.occupied_item = ContextScatterItem(pos=np.zeros((0, 3)), color=OCCUPIED_RGBA,
                                                pxMode=False, glOptions="opaque")
        self.free_item = ContextScatterItem(pos=np.zeros((0, 3)), color=FREE_RGBA,
                                            pxMode=False, glOptions="opaque")
        for item in (self.occupied_item, self.free_item, self.truth_item):
            item.setVisible(False)
            self.gl_view.addItem(item)

    def viewpoint(self) -> tuple[float, float]:
        """The camera's (azimuth, elevation) in degrees around the grid's centre: the same
        angles trainer.completion.observation takes (meshes and grids share their axes)."""
        opts = self.gl_view.opts
        return float(opts["azimuth"]) % 360.0, float(opts["elevation"])

    def show_truth(self, mesh: trimesh.Trimesh | None) -> None:
        """The true shape's surface, translucent (None: hide it)."""
        if mesh is None or len(mesh.faces) == 0:
            self.truth_item.setVisible(False)
            return
        self.truth_item.setMeshData(meshdata=_MeshData(mesh))
        self.truth_item.setVisible(True)

    def show_observation(self, occupied: np.ndarray | None, free: np.ndarray | None) -> None:
        """Dots at the centres of the occupied and free voxels (None: hide them)."""
        for item, voxels, dot in ((self.occupied_item, occupied, OCCUPIED_DOT),
                                  (self.free_item, free, FREE_DOT)):
            if voxels is None:
                item.setVisible(False)
                continue
            centres = (np.argwhere(voxels) + 0.5) / np.asarray(voxels.shape, dtype=np.float64)
            item.setData(pos=centres, size=dot / max(voxels.shape))
            item.setVisible(True)

    def dot_counts(self) -> tuple[int, int]:
        """How many occupied and free voxels are drawn."""
        return tuple(0 if not item.visible() or item.pos is None else len(item.pos)
                     for item in (self.occupied_item, self.free_item))  # type: ignore[return-value]

    def hide_completion(self, message: str = "") -> None:
        self.mesh_item.setVisible(False)
        self.show_message(message)
