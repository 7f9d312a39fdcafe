"""The Explore view as a person drives it: an empty view says why and what to try, start-up
shows a sample without a flash of "No surface", a typed seed is the one sampled, the gallery
answers the keyboard and its highlight follows the shape in view."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from explorer.explore_state import GALLERY_SIZE, ExploreState
from explorer.meshing import mesh_from_grid
from explorer.session import ExplorerSession
from explorer.ui import explore_export
from explorer.ui.explore_gallery import GalleryPanel
from explorer.ui.explore_view import ExploreView
from explorer.ui.mesh_view import MeshView

WAIT_MS = 30_000


@pytest.fixture
def view(qtbot, explore_view: ExploreView, tiny_model) -> ExploreView:
    explore_view.set_session(ExplorerSession.from_checkpoint(tiny_model), first_sample=True)
    qtbot.waitUntil(lambda: explore_view.current_shape is not None
                    and len(explore_view.gallery_shapes) == GALLERY_SIZE, timeout=WAIT_MS)
    return explore_view


def _selected(gallery: GalleryPanel) -> list[int]:
    return [gallery.tiles.row(item) for item in gallery.tiles.selectedItems()]


def test_an_empty_view_says_why_and_what_to_try(qtbot, explore_view: ExploreView, tiny_model,
                                                monkeypatch) -> None:
    session = ExplorerSession.from_checkpoint(tiny_model)
    size = session.resolution
    monkeypatch.setattr(session, "decode", lambda z: np.full(
        (*np.shape(z)[:-1], size, size, size), 0.2, np.float32))
    explore_view.set_session(session)
    status = explore_view.mesh_view.status
    qtbot.waitUntil(lambda: explore_view.current_shape is not None, timeout=WAIT_MS)
    assert explore_view.mesh_view.vertices() is None
    assert status.text() == ("No surface at this threshold (0.50): every voxel is outside (the "
                             "highest value is 0.20). Lower the threshold past 0.20, pick "
                             "another sample or move a slider.")
    assert status.isVisible() and status.styleSheet()           # stands out
    explore_view.threshold.setFocus()
    qtbot.keyClick(explore_view.threshold, Qt.Key.Key_Home)     # the lowest threshold, 0.01
    qtbot.waitUntil(lambda: "every voxel is inside" in status.text(), timeout=WAIT_MS)
    assert "Raise the threshold past 0.20" in status.text()


def test_start_up_shows_a_sample_without_a_flash_of_no_surface(qtbot, explore_view, tiny_model,
                                                               monkeypatch) -> None:
    shown: list[bool] = []
    original = MeshView.show_mesh
    monkeypatch.setattr(MeshView, "show_mesh", lambda self, mesh, *a, **k: (
        shown.append(mesh is not None), original(self, mesh, *a, **k)))
    explore_view.set_session(ExplorerSession.from_checkpoint(tiny_model), first_sample=True)
    assert explore_view.mesh_view.status.text() == "Drawing the first samples ..."
    qtbot.waitUntil(lambda: bool(shown), timeout=WAIT_MS)
    assert shown[0], "the first shape shown had no surface"
    first = next(i for i, s in enumerate(explore_view.gallery_shapes) if s.mesh is not None)
    np.testing.assert_array_equal(explore_view.current_shape.code,
                                  explore_view.gallery_shapes[first].code)
    assert _selected(explore_view.gallery) == [first]


def test_new_samples_uses_a_typed_seed_then_moves_on(qtbot) -> None:
    state = ExploreState()
    gallery = GalleryPanel(state)
    qtbot.addWidget(gallery)
    gallery.show()
    qtbot.waitExposed(gallery)
    requested: list[int] = []
    state.subscribe("gallery", lambda s: requested.append(s.gallery.seed))
    gallery.seed.setFocus()
    gallery.seed.lineEdit().selectAll()
    qtbot.keyClicks(gallery.seed.lineEdit(), "42")
    qtbot.mouseClick(gallery.new_samples, Qt.MouseButton.LeftButton)
    assert requested[-1] == 42 and gallery.seed.value() == 42
    qtbot.mouseClick(gallery.new_samples, Qt.MouseButton.LeftButton)
    assert requested[-1] == 43
    gallery.seed.setFocus()
    gallery.seed.lineEdit().selectAll()
    qtbot.keyClicks(gallery.seed.lineEdit(), "7")
    qtbot.keyClick(gallery.seed.lineEdit(), Qt.Key.Key_Return)
    assert requested[-1] == 7
    qtbot.mouseClick(gallery.new_samples, Qt.MouseButton.LeftButton)
    assert requested[-1] == 8


def test_gallery_keys_load_shapes_and_the_highlight_follows_the_view(qtbot,
                                                                    view: ExploreView) -> None:
    gallery, tiles = view.gallery, view.gallery.tiles
    start = _selected(gallery)[0]
    tiles.setFocus()
    target = 1 if start == 0 else start - 1
    key = Qt.Key.Key_Right if start == 0 else Qt.Key.Key_Left
    qtbot.keyClick(tiles, key)
    qtbot.waitUntil(lambda: np.array_equal(view.current_shape.code,
                                           view.gallery_shapes[target].code), timeout=WAIT_MS)
    assert _selected(gallery) == [target]

    view.sliders.sliders[0].setFocus()
    qtbot.keyClick(view.sliders.sliders[0], Qt.Key.Key_End)   # the shape is now edited
    assert _selected(gallery) == []

    tiles.setFocus()
    tiles.setCurrentRow(start)
    qtbot.keyClick(tiles, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: np.array_equal(view.current_shape.code,
                                           view.gallery_shapes[start].code), timeout=WAIT_MS)
    assert _selected(gallery) == [start]

    qtbot.mouseClick(view.sequence.interpolate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(view.frames) == view.sequence.steps.value(), timeout=WAIT_MS)
    view.sequence.scrub.setValue(3)                          # a frame of the interpolation
    assert _selected(gallery) == []


def test_gallery_export_numbers_files_as_the_tiles_and_names_the_empty_ones(
        qtbot, explore_view: ExploreView, tiny_model, monkeypatch, tmp_path) -> None:
    session = ExplorerSession.from_checkpoint(tiny_model)
    size = session.resolution
    axis = (np.arange(size) + 0.5) / size
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    ball = (np.sqrt((x - 0.5) ** 2 + (y - 0.5) ** 2 + (z - 0.5) ** 2) < 0.3).astype(np.float32)

    def decode(codes: np.ndarray) -> np.ndarray:   # a ball where the first value is positive
        codes = np.atleast_2d(codes)
        grids = np.stack([ball if c[0] > 0 else np.zeros_like(ball) for c in codes])
        return grids if np.ndim(codes) == 2 and len(codes) > 1 else grids[0]

    monkeypatch.setattr(session, "decode", decode)
    explore_view.set_session(session)
    qtbot.waitUntil(lambda: len(explore_view.gallery_shapes) == GALLERY_SIZE, timeout=WAIT_MS)
    shapes = explore_view.gallery_shapes
    empty = [n for n, s in enumerate(shapes, 1) if s.mesh is None]
    assert 0 < len(empty) < GALLERY_SIZE
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(tmp_path / "gallery")))
    with qtbot.waitSignal(explore_view.exported, timeout=WAIT_MS) as signal:
        explore_view.export_panel.buttons[explore_export.GALLERY].click()
    fmt = explore_view.export_panel.format.currentText()
    names = [p.name for p in signal.args[0]]
    assert names == [f"gallery_{n:03d}.{fmt}" for n in range(1, GALLERY_SIZE + 1)
                     if n not in empty]
    status = explore_view.export_panel.status.text()
    assert status.endswith(f"not {', '.join(f'#{n}' for n in empty)}: no surface at this "
                           "threshold.")


def test_smooth_surface_switches_between_smoothed_and_raw_meshes(qtbot, view: ExploreView,
                                                                  tmp_path) -> None:
    assert view.smooth.isChecked()
    shape = view.current_shape
    raw = mesh_from_grid(shape.grid, shape.threshold)
    assert shape.smooth and not np.allclose(view.mesh_view.vertices(), raw.vertices)
    view.smooth.click()
    qtbot.waitUntil(lambda: not view.current_shape.smooth, timeout=WAIT_MS)
    np.testing.assert_allclose(view.mesh_view.vertices(), raw.vertices)
    qtbot.waitUntil(lambda: not any(s.smooth for s in view.gallery_shapes), timeout=WAIT_MS)
