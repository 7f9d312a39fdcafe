"""The 3D view: one triangle mesh lit by a headlight, orbit/zoom with the mouse, optional box.

The view is pyqtgraph's GL view in its own native window (a QOpenGLWindow in a window
container), not a QOpenGLWidget: with a QOpenGLWidget anywhere in a window Qt composes the
whole window through OpenGL, so every repaint of every widget (a slider handle, a label) costs
a full-window GL frame. As a window, a slider move repaints only the 3D view (figures in
benchmarks/README.md).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl
import trimesh
from pyqtgraph import Vector
from pyqtgraph.opengl import shaders
from pyqtgraph.opengl.GLViewWidget import GLViewMixin
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QOpenGLContext, QSurfaceFormat
from PySide6.QtOpenGL import QOpenGLWindow
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from explorer.meshing import NO_SURFACE_MESSAGE
from explorer.thumbnails import MESH_RGB

EDGE_RGBA = (0.05, 0.08, 0.15, 1.0)
VOXEL_RGBA = (1.0, 0.62, 0.2, 1.0)
VOXEL_DOT = 0.35
"""Voxel dots are this share of a voxel wide."""
BACKGROUND = (38, 42, 50)
_WARNING_STYLE = "color: #92400e; background: #fef3c7; font-weight: bold; padding: 4px;"
CAMERA = {"distance": 2.3, "elevation": 25.0, "azimuth": 45.0}
"""The default camera; the thumbnails use the same azimuth and elevation."""

_VERTEX_SHADER = """
    uniform mat4 u_mvp;
    uniform mat3 u_normal;
    attribute vec4 a_position;
    attribute vec3 a_normal;
    attribute vec4 a_color;
    varying vec4 v_color;
    varying vec3 v_normal;
    void main() {
        v_normal = u_normal * a_normal;
        v_color = a_color;
        gl_Position = u_mvp * a_position;
    }
"""
_FRAGMENT_SHADER = """
    #ifdef GL_ES
    precision mediump float;
    #endif
    varying vec4 v_color;
    varying vec3 v_normal;
    void main() {
        float facing = abs(normalize(v_normal).z);
        vec3 rgb = v_color.rgb * (0.28 + 0.72 * facing) + 0.25 * pow(facing, 24.0);
        gl_FragColor = vec4(min(rgb, 1.0), v_color.a);
    }
"""


class HeadlightShader(shaders.ShaderProgram):
    """A light at the camera: ambient + two-sided diffuse + a small specular highlight.

    pyqtgraph compiles a program once and keeps its id; this one recompiles when drawn in
    another GL context (a new view, or a view whose context Qt re-created on re-parenting).
    """

    def __init__(self) -> None:
        super().__init__("explorer-headlight", [shaders.VertexShader(_VERTEX_SHADER),
                                                shaders.FragmentShader(_FRAGMENT_SHADER)])
        self._context: QOpenGLContext | None = None

    def program(self, *, es2_compat: bool = False) -> int:
        context = QOpenGLContext.currentContext()
        if context is not self._context:
            self.prog, self._context = None, context
        return super().program(es2_compat=es2_compat)


class _MeshData(gl.MeshData):
    """MeshData with given vertex normals (pyqtgraph would recompute them in a Python loop)."""

    def __init__(self, mesh: trimesh.Trimesh) -> None:
        super().__init__(vertexes=mesh.vertices, faces=mesh.faces)
        self._given_normals = np.ascontiguousarray(mesh.vertex_normals, dtype=np.float32)

    def vertexNormals(self, indexed: str | None = None) -> np.ndarray:
        if indexed is None:
            return self._given_normals
        return self._given_normals[self.faces()]


DEPTH_BITS = 24


class GLViewWindow(GLViewMixin, QOpenGLWindow):
    """pyqtgraph's 3D view (camera, mouse orbit and zoom, items) drawn in a native GL window.

    The window asks for a depth buffer: a GL surface has none unless asked, and without one
    every triangle paints over those drawn before it, so back faces show through front ones.
    """

    def __init__(self) -> None:
        super().__init__()
        surface = QSurfaceFormat.defaultFormat()
        surface.setDepthBufferSize(max(DEPTH_BITS, surface.depthBufferSize()))
        self.setFormat(surface)

    def devicePixelRatioF(self) -> float:  # what GLViewMixin asks of a QWidget
        return self.devicePixelRatio()

    def initializeGL(self) -> None:
        """Also forget pyqtgraph's shared shader programs (the one that draws a wireframe's
        edges among them): they were linked in whatever GL context came first, and a program
        of another context draws nothing in this one."""
        for program in shaders.ShaderProgram.names.values():
            program.prog = None
        super().initializeGL()


class MeshView(QWidget):
    """Shows one mesh in unit-cube coordinates; ``meshShown`` fires once it is handed to GL."""

    meshShown = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.gl_view = GLViewWindow()
        self.gl_container = QWidget.createWindowContainer(self.gl_view, self)
        self.gl_container.setMinimumSize(320, 200)
        self.gl_container.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.gl_view.setBackgroundColor(BACKGROUND)
        self.mesh_item = gl.GLMeshItem(smooth=True, shader=HeadlightShader(),
                                       color=(*MESH_RGB, 1.0), glOptions="opaque")
        self.mesh_item.setVisible(False)
        self.box_item = gl.GLBoxItem(color=(200, 210, 225, 110))
        self.box_item.setVisible(False)
        self.voxel_item = gl.GLScatterPlotItem(pos=np.zeros((0, 3)), color=VOXEL_RGBA,
                                               pxMode=False, glOptions="opaque")
        self.voxel_item.setVisible(False)
        self.gl_view.addItem(self.mesh_item)
        self.gl_view.addItem(self.box_item)
        self.gl_view.addItem(self.voxel_item)
        self.status = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.gl_container, 1)
        layout.addWidget(self.status)
        self.reset_camera()

    def show_mesh(self, mesh: trimesh.Trimesh | None, message: str = NO_SURFACE_MESSAGE) -> None:
        """Display ``mesh``; None hides it and shows ``message`` instead."""
        if mesh is None or len(mesh.faces) == 0:
            self.mesh_item.setVisible(False)
            self.show_message(message, warning=True)
        else:
            self.mesh_item.setMeshData(meshdata=_MeshData(mesh))
            self.mesh_item.setVisible(True)
            self.show_message(f"{len(mesh.vertices):,} vertices · {len(mesh.faces):,} faces")
        self.meshShown.emit()

    def show_message(self, text: str, *, warning: bool = False) -> None:
        """The line under the view; a warning (an empty view and why) stands out."""
        self.status.setText(text)
        self.status.setStyleSheet(_WARNING_STYLE if warning else "")

    def vertices(self) -> np.ndarray | None:
        """The vertices the GL item holds (None while nothing is shown)."""
        data = self.mesh_item.opts["meshdata"]
        if not self.mesh_item.visible() or data is None:
            return None
        return data.vertexes()

    def reset_camera(self) -> None:
        self.gl_view.setCameraPosition(pos=Vector(0.5, 0.5, 0.5), **CAMERA)

    def set_wireframe(self, on: bool) -> None:
        """Draw the mesh's triangle edges over its faces (to see its resolution)."""
        self.mesh_item.opts.update(drawEdges=on, edgeColor=EDGE_RGBA)
        self.mesh_item.meshDataChanged()
        self.mesh_item.update()

    def show_voxels(self, grid: np.ndarray | None, level: float = 0.5,
                    inside_low: bool = False) -> None:
        """Mark the centre of every inside voxel of ``grid`` with a dot VOXEL_DOT of a voxel
        wide (None: hide them), to see the grid the surface is meshed from."""
        if grid is None:
            self.voxel_item.setVisible(False)
            return
        inside = grid < level if inside_low else grid > level
        centres = (np.argwhere(inside) + 0.5) / np.asarray(grid.shape, dtype=np.float64)
        self.voxel_item.setData(pos=centres, size=VOXEL_DOT / max(grid.shape))
        self.voxel_item.setVisible(True)

    def voxel_count(self) -> int:
        """How many voxel dots are shown."""
        pos = self.voxel_item.pos
        return 0 if not self.voxel_item.visible() or pos is None else len(pos)

    def set_box_visible(self, visible: bool) -> None:
        """Show or hide the outline of the voxel grid (the unit cube)."""
        self.box_item.setVisible(visible)

    def grab_image(self) -> QImage:
        """The current picture of the 3D view, drawn now (call on the GUI thread once the GL
        window is exposed; a null image before)."""
        if not self.gl_view.isExposed():
            return QImage()
        self.gl_view.makeCurrent()
        self.gl_view.paintGL()  # a window's framebuffer holds its last frame, not its state
        return self.gl_view.grabFramebuffer()
