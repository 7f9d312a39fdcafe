"""The 3D view: a native GL window that draws the worker's marching-cubes normals (the GUI thread
never recomputes them) and repaints promptly."""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph.opengl as gl
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtOpenGL import QOpenGLWindow
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from explorer.meshing import mesh_from_grid
from explorer.ui.app import prepare_qt
from explorer.ui.mesh_view import CAMERA, MeshView


def _sphere_grid(size: int = 16) -> np.ndarray:
    axis = (np.arange(size) + 0.5) / size
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    return (np.sqrt((x - 0.5) ** 2 + (y - 0.5) ** 2 + (z - 0.5) ** 2) < 0.35).astype(np.float32)


def test_the_worker_mesh_carries_outward_unit_normals() -> None:
    mesh = mesh_from_grid(_sphere_grid())
    normals = np.asarray(mesh.vertex_normals)
    assert normals.shape == mesh.vertices.shape
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-3)
    assert (np.einsum("ij,ij->i", normals, mesh.vertices - 0.5) > 0).mean() > 0.99


def test_the_view_draws_the_given_normals_without_recomputing(qtbot, monkeypatch) -> None:
    def recompute(*_args, **_kwargs):
        raise AssertionError("normals recomputed on the GUI thread")

    monkeypatch.setattr(gl.MeshData, "faceNormals", recompute)
    view = MeshView()
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(view.gl_view.isExposed)  # the native GL window, a moment after the widget
    mesh = mesh_from_grid(_sphere_grid())
    view.show_mesh(mesh)
    image = view.grab_image()          # paints: the GL item parses the mesh data now
    assert not image.isNull()
    item = view.mesh_item
    np.testing.assert_allclose(item.normals, mesh.vertex_normals, rtol=1e-5)
    assert item.normals.dtype == np.float32
    assert view.vertices() is not None and len(view.vertices()) == len(mesh.vertices)


def test_a_grid_without_surface_hides_the_mesh(qtbot) -> None:
    view = MeshView()
    qtbot.addWidget(view)
    view.show_mesh(mesh_from_grid(np.zeros((8, 8, 8), np.float32)), "nothing here")
    assert view.vertices() is None
    assert view.status.text() == "nothing here"



def test_the_3d_view_is_a_native_gl_window_so_widgets_repaint_without_gl(qtbot) -> None:
    """A QOpenGLWidget anywhere in a window makes Qt compose the whole window through OpenGL
    (a software-GL frame for every slider move); the view must be a window in a container."""
    view = MeshView()
    qtbot.addWidget(view)
    assert isinstance(view.gl_view, QOpenGLWindow)
    assert view.gl_container.parent() is view
    assert not view.findChildren(QOpenGLWidget)


def test_windows_repaint_at_the_next_event_loop_turn_unless_configured(monkeypatch) -> None:
    monkeypatch.delenv("QT_QPA_UPDATE_IDLE_TIME", raising=False)
    prepare_qt()
    assert os.environ["QT_QPA_UPDATE_IDLE_TIME"] == "0"
    monkeypatch.setenv("QT_QPA_UPDATE_IDLE_TIME", "7")
    prepare_qt()
    assert os.environ["QT_QPA_UPDATE_IDLE_TIME"] == "7"


def test_dragging_in_the_view_orbits_the_wheel_zooms_and_reset_restores(qtbot) -> None:
    view = MeshView()
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(view.gl_view.isExposed)
    window, start = view.gl_view, dict(view.gl_view.opts)
    QTest.mousePress(window, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(100, 100))
    QTest.mouseMove(window, QPoint(160, 120))
    QTest.mouseRelease(window, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(160, 120))
    assert window.opts["azimuth"] != start["azimuth"]
    assert window.opts["elevation"] != start["elevation"]
    wheel = QWheelEvent(QPointF(100, 100), QPointF(window.mapToGlobal(QPoint(100, 100))),
                        QPoint(0, 0), QPoint(0, 120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(window, wheel)
    assert window.opts["distance"] < start["distance"]
    view.reset_camera()
    assert {k: window.opts[k] for k in CAMERA} == CAMERA
