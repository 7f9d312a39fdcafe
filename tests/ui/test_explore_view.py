"""The Explore view with real widgets, a real decode worker and a tiny trained model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from explorer.explore_state import GALLERY_SIZE, ExploreState
from explorer.session import ExplorerSession
from explorer.ui import explore_export, explore_view
from explorer.ui.explore_sequence import DATASET
from explorer.ui.explore_sliders import LatentSliders, is_greyed
from explorer.ui.explore_view import NO_MODEL_HINT, ExploreView
from trainer.config import TrainConfig
from trainer.data.procedural import make_procedural
from trainer.families import family_of
from trainer.loop import Trainer

WAIT_MS = 10_000


@pytest.fixture(scope="module")
def session() -> ExplorerSession:
    """A 16^3 VAE trained for 1 epoch on 36 solids, its output layer rescaled so that the
    logits decoded from z = 0 spread over about ±4 with 15% of the voxels inside: every test
    shape has a clear surface."""
    config = TrainConfig(resolution=16, latent_dim=6, channels=(8, 8, 16, 16), batch_size=8,
                         epochs=1, lr=5e-3, dataset_size=48, seed=0)
    train, val = make_procedural(48, 16, 0).split(0.25, 0)
    trainer = Trainer(config, train, val)
    trainer.run()
    session = ExplorerSession.from_checkpoint(trainer.checkpoint(), shapes=val)
    with torch.no_grad():
        logits = session.model.decode(torch.zeros(2, config.latent_dim))
        scale, out = 4 / logits.std(), session.model.decoder[-1]
        out.weight *= scale
        out.bias.mul_(scale).sub_(scale * torch.quantile(logits, 0.85))
    return session


@pytest.fixture
def view(qtbot, explore_view: ExploreView, session: ExplorerSession) -> ExploreView:
    explore_view.set_session(session)
    qtbot.waitUntil(lambda: explore_view.current_shape is not None
                    and len(explore_view.gallery_shapes) == GALLERY_SIZE, timeout=WAIT_MS)
    return explore_view


def test_without_a_model_the_view_shows_the_hint(qtbot) -> None:
    view = ExploreView()
    qtbot.addWidget(view)
    view.show()
    assert view.hint.isVisible() and view.hint.text() == NO_MODEL_HINT
    assert NO_MODEL_HINT == "Train a model or open a checkpoint (File > Open checkpoint...)"
    view.set_session(None)
    assert view.hint.isVisible()
    view.shutdown()


def test_moving_a_latent_slider_changes_the_mesh(qtbot, view: ExploreView) -> None:
    before = view.mesh_view.vertices().copy()
    slider = view.sliders.sliders[0]
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_End)          # to +3, as a user would
    assert view.state.code[0] == pytest.approx(3.0)

    def changed() -> bool:
        after = view.mesh_view.vertices()
        return after is not None and (after.shape != before.shape
                                      or not np.allclose(after, before))

    qtbot.waitUntil(changed, timeout=WAIT_MS)
    assert view.current_shape.code[0] == pytest.approx(3.0)
    assert view.mesh_view.mesh_item.visible()


def test_a_new_model_opens_on_its_first_gallery_sample_with_a_surface(view) -> None:
    first = next(s for s in view.gallery_shapes if s.mesh is not None)
    np.testing.assert_allclose(view.current_shape.code, first.code)
    assert view.state.origin.kind == "gallery" and view.current_shape.mesh is not None


def test_threshold_remeshes_the_cached_grid_without_decoding(qtbot, view: ExploreView,
                                                             monkeypatch) -> None:
    view.state.reset_to_zero()                # decoded on the worker: its grid is cached
    qtbot.waitUntil(lambda: not view.current_shape.code.any(), timeout=WAIT_MS)
    decodes = []
    original = view.session.decode
    monkeypatch.setattr(view.session, "decode", lambda z: decodes.append(z) or original(z))
    faces = len(view.current_shape.mesh.faces)
    view.threshold.setValue(55)
    qtbot.waitUntil(lambda: view.current_shape.threshold == pytest.approx(0.55), timeout=WAIT_MS)
    assert decodes == []
    assert view.current_shape.mesh is not None
    assert len(view.current_shape.mesh.faces) != faces


def test_gallery_click_loads_the_sample_and_resets_return_to_it(qtbot, view: ExploreView) -> None:
    tiles = view.gallery.tiles
    assert tiles.count() == GALLERY_SIZE
    rect = tiles.visualItemRect(tiles.item(3))
    qtbot.mouseClick(tiles.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    sample = view.gallery_shapes[3]
    np.testing.assert_allclose(view.state.code, sample.code)
    np.testing.assert_allclose(view.current_shape.code, sample.code)

    view.sliders.reset_zero.click()
    assert not view.state.code.any()
    qtbot.waitUntil(lambda: not view.current_shape.code.any(), timeout=WAIT_MS)
    view.sliders.reset_origin.click()
    np.testing.assert_allclose(view.state.code, sample.code)

    seed, codes = view.gallery.seed.value(), [s.code for s in view.gallery_shapes]
    view.gallery.new_samples.click()
    qtbot.waitUntil(lambda: not np.allclose(view.gallery_shapes[0].code, codes[0]),
                    timeout=WAIT_MS)
    assert view.gallery.seed.value() == seed + 1


def test_interpolation_fills_k_frames_and_plays(qtbot, view: ExploreView) -> None:
    panel = view.sequence
    panel.steps.setValue(5)
    panel.method.setCurrentText("linear")
    panel.interpolate_button.click()
    qtbot.waitUntil(lambda: panel.filmstrip.count() == 5, timeout=WAIT_MS)
    frames = view.frames
    np.testing.assert_allclose(frames[0].code, view.gallery_shapes[0].code)
    np.testing.assert_allclose(frames[-1].code, view.gallery_shapes[1].code)
    np.testing.assert_allclose(frames[2].code, (frames[0].code + frames[-1].code) / 2)

    panel.scrub.setValue(4)
    np.testing.assert_allclose(view.current_shape.code, frames[4].code)
    np.testing.assert_allclose(view.state.code, frames[4].code)
    panel.play_button.click()
    qtbot.waitUntil(lambda: panel.scrub.value() == 1, timeout=WAIT_MS)
    panel.play_button.click()
    assert not panel._timer.isActive()


def test_interpolation_from_a_data_set_shape_encodes_it(qtbot, view: ExploreView) -> None:
    panel, picker = view.sequence, view.sequence.start
    picker.source.setCurrentText(DATASET)
    picker.class_name.setCurrentIndex(2)
    shapes = view.session.shapes
    members = np.flatnonzero(shapes.labels == 2)
    assert picker.index.suffix() == f" of {len(members)}"
    assert picker.name.text() == f"{shapes.class_names[2]} #1"
    qtbot.waitUntil(lambda: picker.preview.pixmap() is not None
                    and not picker.preview.pixmap().isNull(), timeout=WAIT_MS)
    panel.steps.setValue(3)
    panel.interpolate_button.click()
    qtbot.waitUntil(lambda: panel.filmstrip.count() == 3, timeout=WAIT_MS)
    grid = shapes.grids[members[0]].astype(np.float32)
    mu = view.session.encode(grid[None])[0]
    np.testing.assert_allclose(view.frames[0].code, mu, atol=1e-5)
    picker.show_button.click()
    qtbot.waitUntil(lambda: np.allclose(view.state.code, mu, atol=1e-5), timeout=WAIT_MS)


def test_traversal_sweeps_only_the_selected_dimension(qtbot, view: ExploreView) -> None:
    view.sliders._selection.button(2).click()
    view.sequence.steps.setValue(4)
    view.sequence.traverse_button.click()
    qtbot.waitUntil(lambda: view.sequence.filmstrip.count() == 4, timeout=WAIT_MS)
    codes = np.stack([f.code for f in view.frames])
    np.testing.assert_allclose(codes[:, 2], [-3, -1, 1, 3])
    assert np.ptp(np.delete(codes, 2, axis=1), axis=0).max() == 0


def test_exports_write_files_that_reload(qtbot, view: ExploreView, tmp_path,
                                         monkeypatch) -> None:
    dialog = explore_export.QFileDialog
    monkeypatch.setattr(dialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(tmp_path / "seq")))
    view.sequence.interpolate_button.click()
    qtbot.waitUntil(lambda: len(view.frames) == 8, timeout=WAIT_MS)
    panel = view.export_panel
    panel.format.setCurrentText("ply")

    def export(kind: str, path: str | None = None) -> list:
        if path is not None:
            monkeypatch.setattr(dialog, "getSaveFileName",
                                staticmethod(lambda *a, **k: (path, "")))
        with qtbot.waitSignal(view.exported, timeout=WAIT_MS) as signal:
            panel.buttons[kind].click()
        return signal.args[0]

    [mesh_path] = export(explore_export.MESH, str(tmp_path / "shape"))
    assert mesh_path.name == "shape.ply"
    mesh = trimesh.load(mesh_path, force="mesh")
    assert len(mesh.faces) == len(view.current_shape.mesh.faces)

    frames = export(explore_export.SEQUENCE)
    assert [p.name for p in frames] == [f"slerp_interpolation_{k:03d}.ply" for k in range(1, 9)]
    for path, frame in zip(frames, view.frames, strict=True):
        assert len(trimesh.load(path, force="mesh").vertices) == len(frame.mesh.vertices)

    assert len(export(explore_export.GALLERY)) == GALLERY_SIZE
    [grid_path] = export(explore_export.GRID, str(tmp_path / "grid.npy"))
    np.testing.assert_array_equal(np.load(grid_path), view.current_shape.grid)
    [png] = export(explore_export.SCREENSHOT, str(tmp_path / "view"))
    image = QImage(str(png))
    assert png.suffix == ".png" and not image.isNull() and image.width() > 100
    background = image.pixelColor(0, 0).getRgb()[:3]
    samples = [image.pixelColor(image.width() * i // 40, image.height() * j // 40).getRgb()[:3]
               for i in range(40) for j in range(40)]
    shaded = sum(max(abs(a - b) for a, b in zip(rgb, background, strict=True)) > 30
                 for rgb in samples)
    assert 0.01 * len(samples) < shaded < 0.9 * len(samples)  # the shape, on the background


def test_a_failed_export_shows_a_message(qtbot, view: ExploreView, monkeypatch) -> None:
    messages = []
    monkeypatch.setattr(explore_view.QMessageBox, "warning",
                        staticmethod(lambda parent, title, text: messages.append(text)))
    view._export(explore_export.MESH, "/proc/no/such/folder/shape.stl", "stl")
    qtbot.waitUntil(lambda: bool(messages), timeout=WAIT_MS)
    assert "Cannot write" in messages[0]
    view._export(explore_export.SEQUENCE, "/tmp/unused", "stl")    # no sequence yet
    assert "no sequence" in messages[1]


def test_a_new_session_keeps_the_code(qtbot, view: ExploreView, session) -> None:
    view.sliders.sliders[1].setValue(120)
    code = view.state.code
    view.set_session(session)
    qtbot.waitUntil(lambda: np.allclose(view.current_shape.code, code), timeout=WAIT_MS)
    np.testing.assert_allclose(view.state.code, code)


def test_a_new_session_compiles_its_decoder_once_its_first_gallery_shows(
        view: ExploreView, session, monkeypatch, qtbot) -> None:
    requested = []
    monkeypatch.setattr(ExplorerSession, "compile_decoder",
                        lambda self, sizes: requested.append((self, tuple(sizes))))
    with qtbot.waitSignal(view.galleryShown, timeout=WAIT_MS):
        view.set_session(session)
        assert requested == []      # the first gallery decodes without a compiler beside it
    assert requested == [(session, (1, GALLERY_SIZE))]
    view.gallery.new_samples.click()
    qtbot.waitSignal(view.galleryShown, timeout=WAIT_MS).wait()
    assert len(requested) == 1


def test_a_view_shut_down_before_its_first_gallery_compiles_nothing(
        explore_view: ExploreView, session, monkeypatch, qtbot) -> None:
    requested = []
    monkeypatch.setattr(ExplorerSession, "compile_decoder",
                        lambda self, sizes: requested.append(sizes))
    explore_view.set_session(session)
    explore_view.shutdown()         # the worker may still hand over the gallery
    qtbot.wait(300)
    explore_view._show_gallery([])  # as a late gallery would arrive
    assert requested == []


def test_inactive_dimensions_are_flagged(qtbot) -> None:
    state = ExploreState()
    sliders = LatentSliders(state)
    qtbot.addWidget(sliders)
    sliders.set_family(family_of(TrainConfig(latent_dim=3)), np.array([0.8, 0.002, np.nan]))
    texts = [sliders._variances[d].text() for d in range(3)]
    assert texts == ["Var 0.800", "Var 0.002 inactive", "Var ?"]
    assert is_greyed(sliders.sliders[1]) and not is_greyed(sliders.sliders[0])
    assert "1 inactive" in sliders.legend.text()
    config = TrainConfig(resolution=16, latent_dim=3, channels=(4, 4, 8, 8))
    state.set_session(ExplorerSession(family_of(config).build_model(), config))
    edits: list[np.ndarray] = []
    state.subscribe("code", lambda s: edits.append(s.code.copy()))
    sliders.sliders[2].setValue(-150)
    np.testing.assert_allclose(edits[-1], [0, 0, -1.5])
    assert state.origin.kind == "edit"


def test_a_pose_model_names_its_pose_sliders_and_shift_moves_the_shape(
        qtbot, explore_view: ExploreView) -> None:
    config = TrainConfig(resolution=16, latent_dim=12, channels=(8, 8, 16, 16), batch_size=8,
                         epochs=1, lr=5e-3, dataset_size=48, seed=0)
    trainer = Trainer(config, *make_procedural(48, 16, 0).split(0.25, 0))
    trainer.run()
    pose_session = ExplorerSession.from_checkpoint(trainer.checkpoint())
    assert pose_session.pose_dims == 9
    with torch.no_grad():  # a clear surface at z = 0, as in the `session` fixture
        logits = pose_session.model.decode(torch.zeros(2, config.latent_dim))
        scale, out = 4 / logits.std(), pose_session.model.decoder[-1]
        out.weight *= scale
        out.bias.mul_(scale).sub_(scale * torch.quantile(logits, 0.9))
    explore_view.set_session(pose_session)
    qtbot.waitUntil(lambda: explore_view.current_shape is not None, timeout=WAIT_MS)
    sliders = explore_view.sliders
    names = [sliders._selection.button(d).text() for d in range(12)]
    assert names[0] == "z0 axis 1 x" and names[6] == "z6 shift x" and names[9] == "z9"
    assert "z6-z8 move it" in sliders.legend.text()
    before = explore_view.mesh_view.vertices().copy()
    slider = sliders.sliders[6]
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_End)          # shift x to +3

    def shows_the_shifted_shape() -> bool:
        shape = explore_view.current_shape
        after = explore_view.mesh_view.vertices()
        if shape is None or shape.code[6] != pytest.approx(3.0) or after is None:
            return False
        expected = pose_session.decode(shape.code[None])[0]
        return bool(np.allclose(shape.grid, expected, atol=2e-3)
                    and not np.allclose(shape.grid, pose_session.decode(np.zeros((1, 12)))[0],
                                        atol=1e-2))

    qtbot.waitUntil(shows_the_shifted_shape, timeout=WAIT_MS)
    assert before.shape != explore_view.mesh_view.vertices().shape or not np.allclose(
        before, explore_view.mesh_view.vertices())


def test_wireframe_and_voxel_toggles_follow_the_shape_in_view(qtbot, view: ExploreView) -> None:
    qtbot.waitUntil(lambda: view.current_shape is not None, timeout=WAIT_MS)
    view.wireframe_action.setChecked(True)
    assert view.mesh_view.mesh_item.opts["drawEdges"]
    view.voxels_action.setChecked(True)
    shape = view.current_shape
    assert view.mesh_view.voxel_count() == int((shape.grid > shape.threshold).sum()) > 0
    tiles = view.gallery.tiles                  # another shape: its own voxels
    qtbot.mouseClick(tiles.viewport(), Qt.MouseButton.LeftButton,
                     pos=tiles.visualItemRect(tiles.item(2)).center())
    qtbot.waitUntil(lambda: view.current_shape is not shape, timeout=WAIT_MS)
    assert view.mesh_view.voxel_count() == int(
        (view.current_shape.grid > view.current_shape.threshold).sum())
    view.voxels_action.setChecked(False)
    assert view.mesh_view.voxel_count() == 0


def test_new_samples_right_after_a_threshold_move_stay_new(qtbot, view: ExploreView) -> None:
    """The threshold's delayed re-meshing of the gallery must not bring the old samples back."""
    old = view.gallery_shapes[0].code
    view.threshold.setValue(view.threshold.value() + 5)
    view.gallery.new_samples.click()
    qtbot.waitUntil(lambda: not np.allclose(view.gallery_shapes[0].code, old), timeout=WAIT_MS)
    qtbot.wait(4 * explore_view.RESTYLE_DELAY_MS)
    assert not np.allclose(view.gallery_shapes[0].code, old)
    expected = view.state.gallery.codes(view.session)
    np.testing.assert_allclose(view.gallery_shapes[0].code, expected[0])


def test_the_gallery_can_sample_a_density_fitted_to_the_data(qtbot, view: ExploreView) -> None:
    gallery, session = view.gallery, view.session
    assert session.can_fit_density and gallery.source.model().item(1).isEnabled()
    prior = [s.code for s in view.gallery_shapes]
    gallery.source.setCurrentIndex(gallery.source.findData("fitted"))
    assert view.state.gallery.source == "fitted"
    expected = session.fitted_samples(GALLERY_SIZE, view.state.gallery.seed,
                                      view.state.gallery.temperature)
    qtbot.waitUntil(lambda: np.allclose(view.gallery_shapes[0].code, expected[0]),
                    timeout=WAIT_MS)
    np.testing.assert_allclose(np.stack([s.code for s in view.gallery_shapes]), expected)
    assert not np.allclose(np.stack(prior), expected)
    gallery.source.setCurrentIndex(gallery.source.findData("prior"))
    qtbot.waitUntil(lambda: np.allclose(view.gallery_shapes[0].code, prior[0]),
                    timeout=WAIT_MS)
