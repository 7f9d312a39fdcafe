"""The 3D view draws solid surfaces: what is nearer the camera hides what is behind it,
whatever order the triangles are drawn in (the GL window has a depth buffer)."""

from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl
from pyqtgraph import Vector

from explorer.meshing import mesh_from_grid
from explorer.ui.mesh_view import HeadlightShader, MeshView

RED = (1.0, 0.0, 0.0, 1.0)
BLUE = (0.0, 0.0, 1.0, 1.0)


def _shown_view(qtbot) -> MeshView:
    view = MeshView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    qtbot.waitUntil(view.gl_view.isExposed)
    view.mesh_item.setVisible(False)
    # Looking down the x axis from +x: nearer means larger x.
    view.gl_view.setCameraPosition(pos=Vector(0.5, 0.5, 0.5), distance=3.0, elevation=0.0,
                                   azimuth=0.0)
    return view


def _square(x: float, colour: tuple[float, ...]) -> gl.GLMeshItem:
    """A flat square facing the camera at depth ``x``, filling the centre of the view."""
    vertices = np.array([[x, 0.0, 0.0], [x, 1.0, 0.0], [x, 1.0, 1.0], [x, 0.0, 1.0]], np.float32)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    return gl.GLMeshItem(vertexes=vertices, faces=faces, color=colour, shader=HeadlightShader(),
                         glOptions="opaque")


def _centre_rgb(view: MeshView) -> tuple[int, int, int]:
    image = view.grab_image()
    assert not image.isNull()
    colour = image.pixelColor(image.width() // 2, image.height() // 2)
    return colour.red(), colour.green(), colour.blue()


def test_the_nearer_of_two_meshes_wins_whatever_the_drawing_order(qtbot) -> None:
    view = _shown_view(qtbot)
    near, far = _square(0.8, RED), _square(0.2, BLUE)
    view.gl_view.addItem(near)      # drawn first: without depth testing the far one paints over
    view.gl_view.addItem(far)
    red, _green, blue = _centre_rgb(view)
    assert red > 200 and blue < 100, (red, blue)


def test_a_closed_mesh_seen_from_either_side_shows_only_its_near_half(qtbot) -> None:
    """A sphere with its +x half red and its -x half blue, the far half's faces drawn last:
    seen from +x only red shows, seen from behind (-x) only blue."""
    view = _shown_view(qtbot)
    axis = (np.arange(16) + 0.5) / 16
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    sphere = mesh_from_grid((np.sqrt((x - 0.5) ** 2 + (y - 0.5) ** 2 + (z - 0.5) ** 2)
                             < 0.4).astype(np.float32))
    centres = np.asarray(sphere.triangles_center)
    for azimuth, side in ((0.0, 1.0), (180.0, -1.0)):
        order = np.argsort(-side * centres[:, 0])     # near faces first, far ones last
        near_red = (centres[order, 0] > 0.5)[:, None]
        item = gl.GLMeshItem(vertexes=np.asarray(sphere.vertices, np.float32),
                             faces=np.asarray(sphere.faces)[order],
                             faceColors=np.where(near_red, RED, BLUE).astype(np.float32),
                             shader=HeadlightShader(), smooth=False, glOptions="opaque")
        view.gl_view.addItem(item)
        view.gl_view.setCameraPosition(azimuth=azimuth)
        red, _green, blue = _centre_rgb(view)
        view.gl_view.removeItem(item)
        expected_red = side > 0
        assert (red > 200 and blue < 100) if expected_red else (blue > 200 and red < 100), \
            (azimuth, red, blue)


def _sphere(resolution: int = 16) -> np.ndarray:
    axis = (np.arange(resolution) + 0.5) / resolution
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    return (np.sqrt((x - 0.5) ** 2 + (y - 0.5) ** 2 + (z - 0.5) ** 2) < 0.4).astype(np.float32)


def _share(view: MeshView, test) -> float:
    """The share of the centre square's pixels whose (r, g, b) pass ``test``."""
    image = view.grab_image()
    w, h = image.width(), image.height()
    hits = total = 0
    for px in range(w * 3 // 8, w * 5 // 8, 2):
        for py in range(h * 3 // 8, h * 5 // 8, 2):
            colour = image.pixelColor(px, py)
            total += 1
            hits += bool(test(colour.red(), colour.green(), colour.blue()))
    return hits / total


def _dark_share(view: MeshView) -> float:
    """Pixels darker than the shaded mesh ever is: its edges."""
    return _share(view, lambda r, g, b: r + g + b < 120)


def test_the_wireframe_draws_edges_over_the_faces(qtbot) -> None:
    view = _shown_view(qtbot)
    view.show_mesh(mesh_from_grid(_sphere()))
    solid = _dark_share(view)
    view.set_wireframe(True)
    with_edges = _dark_share(view)
    view.set_wireframe(False)
    assert solid < 0.02 and with_edges > 0.1, (solid, with_edges)
    assert _dark_share(view) < 0.02


def test_voxel_dots_mark_the_inside_voxels_of_the_grid(qtbot) -> None:
    view = _shown_view(qtbot)
    grid = _sphere()
    view.show_voxels(grid, 0.5)
    assert view.voxel_count() == int((grid > 0.5).sum())
    orange = _share(view, lambda r, g, b: r > 200 and 100 < g < 200 and b < 120)
    assert orange > 0.05, orange
    view.show_voxels(None)
    assert view.voxel_count() == 0
    assert _share(view, lambda r, g, b: r > 200 and 100 < g < 200 and b < 120) == 0


def test_a_wireframe_draws_in_every_new_view(qtbot) -> None:
    """pyqtgraph links its edge shader once; each new GL context must link it again."""
    shares = []
    for _ in range(2):
        view = _shown_view(qtbot)
        view.show_mesh(mesh_from_grid(_sphere()))
        view.set_wireframe(True)
        shares.append(_dark_share(view))
        view.close()
        view.deleteLater()
        qtbot.wait(20)
    assert all(share > 0.1 for share in shares), shares
