"""The Explore view with every model kind: a categorical VAE, an SDF VAE and a PPCA file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from explorer.explore_state import GALLERY_SIZE
from explorer.session import ExplorerSession
from explorer.ui.explore_view import ExploreView
from explorer.ui.snapshot import depth_images
from trainer.checkpoint import Checkpoint, save_checkpoint
from trainer.config import TrainConfig
from trainer.data.sources import load_shapes
from trainer.loop import Trainer
from trainer.ppca import fit_and_evaluate, ppca_config

WAIT_MS = 10_000
K, C = 3, 4
TINY = TrainConfig(resolution=16, latent_dim=K, channels=(4, 8, 8, 8), batch_size=8, epochs=1,
                   dataset_size=16, seed=0, pose="none")


def _trained_session(config: TrainConfig, inside_share: float) -> ExplorerSession:
    """One epoch of `config`, its output layer rescaled so that the grid decoded from the
    first prior sample spreads widely with `inside_share` of the voxels inside: the shapes
    have a clear surface that moves when the code does."""
    trainer = Trainer(config, *load_shapes(config).split(config.val_fraction, config.seed))
    trainer.run()
    session = ExplorerSession.from_checkpoint(trainer.checkpoint())
    code = torch.as_tensor(session.prior_samples(2, 0), dtype=torch.float32)
    with torch.no_grad():
        out = session.model.decode(code)
        scale, layer = 4 / out.std(), session.model.decoder[-1]
        layer.weight *= scale
        if session.inside_low:      # signed distances: the lowest `inside_share` below 0
            layer.bias.mul_(scale).sub_(scale * torch.quantile(out, inside_share))
            layer.weight *= 0.25
            layer.bias *= 0.25
        else:                       # logits: the highest `inside_share` above 0
            layer.bias.mul_(scale).sub_(scale * torch.quantile(out, 1 - inside_share))
    return session


@pytest.fixture(scope="module")
def categorical() -> ExplorerSession:
    return _trained_session(TINY.with_overrides(latent="categorical", categorical_classes=C),
                            0.15)


@pytest.fixture(scope="module")
def sdf() -> ExplorerSession:
    return _trained_session(TINY.with_overrides(grid="sdf", likelihood="gaussian"), 0.15)


@pytest.fixture
def view(explore_view: ExploreView) -> ExploreView:
    return explore_view


def _open(qtbot, view: ExploreView, session: ExplorerSession) -> None:
    view.set_session(session)
    qtbot.waitUntil(lambda: view.current_shape is not None
                    and len(view.gallery_shapes) == GALLERY_SIZE, timeout=WAIT_MS)


def _wait_for_new_mesh(qtbot, view: ExploreView, before: np.ndarray) -> None:
    def changed() -> bool:
        after = view.mesh_view.vertices()
        return after is not None and (after.shape != before.shape
                                      or not np.allclose(after, before))

    qtbot.waitUntil(changed, timeout=WAIT_MS)


def test_categorical_model_gets_class_pickers_that_change_the_mesh(qtbot, view,
                                                                   categorical) -> None:
    _open(qtbot, view, categorical)
    sliders = view.sliders
    assert sliders.sliders == [] and len(sliders.pickers) == K
    assert all(p.minimum() == 0 and p.maximum() == C - 1 for p in sliders.pickers)
    assert "categorical" in sliders.legend.text() and "nats" in sliders._variances[0].text()
    assert view.sequence.method.count() == 1 and view.sequence.method.currentText() == "linear"
    assert not view.gallery.temperature.isEnabled()
    first = next(s for s in view.gallery_shapes if s.mesh is not None)   # opens on a sample
    np.testing.assert_array_equal(view.current_shape.code, first.code)
    qtbot.mouseClick(sliders.reset_zero, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: list(categorical.family.classes_of(view.current_shape.code))
                    == [0] * K, timeout=WAIT_MS)

    before = view.mesh_view.vertices().copy()
    picker = sliders.pickers[1]
    picker.setFocus()
    for _ in range(C - 1):
        qtbot.keyClick(picker, Qt.Key.Key_Up)    # to the last class, as a user would
    assert picker.value() == C - 1
    _wait_for_new_mesh(qtbot, view, before)
    qtbot.waitUntil(lambda: list(categorical.family.classes_of(view.current_shape.code))
                    == [0, C - 1, 0], timeout=WAIT_MS)   # the live view may show steps between
    assert view.current_shape.code.sum() == pytest.approx(K)     # still K one-hot blocks


def test_categorical_samples_are_one_hot_and_load_into_the_pickers(qtbot, view,
                                                                   categorical) -> None:
    _open(qtbot, view, categorical)
    first = [s.code for s in view.gallery_shapes]
    with qtbot.waitSignal(view.galleryShown, timeout=WAIT_MS):
        view.gallery.new_samples.click()
    codes = np.stack([s.code for s in view.gallery_shapes])
    assert codes.shape == (GALLERY_SIZE, K * C)
    assert set(np.unique(codes)) <= {0.0, 1.0}
    np.testing.assert_array_equal(codes.reshape(-1, K, C).sum(axis=2), 1)
    assert not np.array_equal(codes, np.stack(first))

    view.gallery.tiles.itemClicked.emit(view.gallery.tiles.item(2))
    classes = categorical.family.classes_of(codes[2])
    assert [p.value() for p in view.sliders.pickers] == classes.tolist()

    view.sequence.traverse_button.click()       # every class of variable z0
    qtbot.waitUntil(lambda: len(view.frames) == C, timeout=WAIT_MS)
    assert [categorical.family.classes_of(f.code)[0] for f in view.frames] == list(range(C))


def test_sdf_model_meshes_at_level_zero_with_the_inside_low(qtbot, view, sdf) -> None:
    _open(qtbot, view, sdf)
    assert view.threshold_value() == pytest.approx(0.0)
    assert view.threshold_label.text() == "0.00"
    shape = view.current_shape
    assert shape.mesh is not None and shape.inside_low
    inside = shape.grid < 0
    assert 0 < inside.mean() < 0.5            # the inside is the low side, not the high one
    assert any(s.thumbnail[..., 3].any() for s in view.gallery_shapes)

    before = view.mesh_view.vertices().copy()
    view.threshold.setValue(view.threshold.value() + 10)     # a higher level: a fatter shape
    qtbot.waitUntil(lambda: view.current_shape.threshold == pytest.approx(0.2), timeout=WAIT_MS)
    _wait_for_new_mesh(qtbot, view, before)
    assert view.current_shape.mesh.volume > shape.mesh.volume

    before = view.mesh_view.vertices().copy()
    slider = view.sliders.sliders[0]
    slider.setValue(slider.maximum())
    _wait_for_new_mesh(qtbot, view, before)


@pytest.fixture(scope="module")
def ppca_file(tmp_path_factory) -> Path:
    config = ppca_config(TINY.with_overrides(dataset_size=24))
    shapes = load_shapes(config)
    model, report = fit_and_evaluate(config, *shapes.split(config.val_fraction, config.seed))
    ckpt = Checkpoint(config=config, model_state=model.state_dict(),
                      class_names=shapes.class_names, kind="ppca", ppca=report)
    return save_checkpoint(tmp_path_factory.mktemp("ppca") / "ppca.pt", ckpt)


def test_a_ppca_file_opens_from_the_file_menu_and_explores(qtbot, window, dialogs,
                                                           ppca_file) -> None:
    dialogs.open_path = str(ppca_file)
    window.open_action.trigger()
    qtbot.waitUntil(lambda: window.snapshot is not None, timeout=WAIT_MS)
    view = window.explore
    qtbot.waitUntil(lambda: view.current_shape is not None
                    and len(view.gallery_shapes) == GALLERY_SIZE, timeout=WAIT_MS)
    session = view.session
    assert session.kind == "ppca" and dialogs.errors == []
    info = view.model_info.text()
    assert "PPCA" in info and f"val IoU {session.ppca.val_iou:.3f}" in info
    assert f"Hamming {session.ppca.val_hamming:.4f}" in info
    assert len(view.sliders.sliders) == K

    before = view.mesh_view.vertices().copy()
    view.sliders.sliders[0].setValue(view.sliders.sliders[0].maximum())
    _wait_for_new_mesh(qtbot, view, before)
    first = [s.code for s in view.gallery_shapes]
    with qtbot.waitSignal(view.galleryShown, timeout=WAIT_MS):
        view.gallery.new_samples.click()
    assert not np.allclose(np.stack(first), np.stack([s.code for s in view.gallery_shapes]))


def test_reconstruction_strip_draws_the_inside_of_signed_distances() -> None:
    axis = np.arange(16) - 7.5
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    sdf = (np.sqrt(x ** 2 + y ** 2 + z ** 2) - 4.0)[None]       # a ball, negative inside
    image = depth_images(sdf, 0.0, inside_low=True)
    np.testing.assert_array_equal(image, depth_images((sdf < 0).astype(np.float32)))
    assert 0.1 < (image > 0).mean() < 0.5
