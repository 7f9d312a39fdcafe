"""ExplorerSession and its latent-space helpers (Qt-free)."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.session import ExplorerSession, interpolate, prior_samples, traverse
from trainer.checkpoint import save_checkpoint
from trainer.config import TrainConfig
from trainer.data.shapeset import ShapeSet
from trainer.loop import Trainer
from trainer.model import VAE


@pytest.fixture
def trained(tiny_config: TrainConfig, tiny_split: tuple[ShapeSet, ShapeSet]) -> Trainer:
    trainer = Trainer(tiny_config.with_overrides(epochs=1), *tiny_split)
    trainer.run()
    return trainer


def test_slerp_keeps_endpoints_and_interpolates_norms_linearly() -> None:
    rng = np.random.default_rng(0)
    z0, z1 = rng.standard_normal(16), 3 * rng.standard_normal(16)
    path = interpolate(z0, z1, 9, "slerp")
    assert path.shape == (9, 16)
    np.testing.assert_allclose(path[0], z0, atol=1e-12)
    np.testing.assert_allclose(path[-1], z1, atol=1e-12)
    norms = np.linalg.norm(path, axis=1)
    np.testing.assert_allclose(norms, np.linspace(norms[0], norms[-1], 9), rtol=1e-12)
    # Constant angular speed along the great circle.
    unit = path / norms[:, None]
    angles = np.arccos(np.clip(np.sum(unit[1:] * unit[:-1], axis=1), -1, 1))
    np.testing.assert_allclose(angles, angles[0], rtol=1e-6)


def test_slerp_between_unit_vectors_stays_on_the_unit_sphere() -> None:
    rng = np.random.default_rng(1)
    z0, z1 = (v / np.linalg.norm(v) for v in rng.standard_normal((2, 8)))
    np.testing.assert_allclose(np.linalg.norm(interpolate(z0, z1, 7, "slerp"), axis=1), 1.0,
                               rtol=1e-12)
    # Linear interpolation cuts through the inside of the sphere instead.
    assert np.linalg.norm(interpolate(z0, z1, 7, "linear")[3]) < 1.0


def test_linear_interpolation_and_bad_arguments() -> None:
    path = interpolate(np.zeros(3), np.ones(3), 5, "linear")
    np.testing.assert_allclose(path[:, 0], [0, 0.25, 0.5, 0.75, 1.0])
    with pytest.raises(ValueError, match="at least 2"):
        interpolate(np.zeros(3), np.ones(3), 1)
    with pytest.raises(ValueError, match="interpolation must be"):
        interpolate(np.zeros(3), np.ones(3), 3, "cubic")


def test_traversal_changes_only_the_chosen_dimension() -> None:
    z = np.random.default_rng(2).standard_normal(6)
    values = np.linspace(-3, 3, 7)
    codes = traverse(z, 4, values)
    assert codes.shape == (7, 6)
    np.testing.assert_array_equal(codes[:, 4], values)
    np.testing.assert_array_equal(np.delete(codes, 4, axis=1), np.tile(np.delete(z, 4), (7, 1)))


def test_prior_samples_are_seeded_and_scaled_by_temperature() -> None:
    a, b = prior_samples(4, 8, seed=5), prior_samples(4, 8, seed=5)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, prior_samples(4, 8, seed=6))
    for temperature in (0.5, 2.0):
        samples = prior_samples(4000, 8, seed=7, temperature=temperature)
        assert samples.std() == pytest.approx(temperature, rel=0.03)
        assert abs(samples.mean()) < 0.05 * temperature
    assert not prior_samples(3, 8, seed=0, temperature=0.0).any()
    with pytest.raises(ValueError):
        prior_samples(3, 8, seed=0, temperature=-1.0)


def test_decode_shapes_and_probability_range(trained: Trainer) -> None:
    session = ExplorerSession.from_checkpoint(trained.checkpoint())
    q, d = session.latent_dim, session.resolution
    codes = prior_samples(3, q, seed=0)
    grids = session.decode(codes)
    assert grids.shape == (3, d, d, d) and grids.dtype == np.float32
    assert grids.min() >= 0.0 and grids.max() <= 1.0
    single = session.decode(codes[1])
    assert single.shape == (d, d, d)
    np.testing.assert_allclose(single, grids[1], atol=1e-5)   # a lone code decodes the same
    mu = session.encode(np.zeros((2, 1, d, d, d), dtype=np.float32))
    assert mu.shape == (2, q)


def test_from_checkpoint_round_trip(trained: Trainer, tmp_path) -> None:
    ckpt = trained.checkpoint()
    path = save_checkpoint(tmp_path / "run.pt", ckpt)
    loaded = ExplorerSession.from_checkpoint(path)
    direct = ExplorerSession.from_checkpoint(ckpt)
    assert loaded.config == trained.config
    assert loaded.class_names == trained.class_names
    assert (loaded.latent_dim, loaded.resolution) == (trained.config.latent_dim,
                                                      trained.config.resolution)
    np.testing.assert_allclose(loaded.unit_measures(),
                               trained.history[-1].mu_var_per_dim)
    z = prior_samples(2, loaded.latent_dim, seed=1)
    np.testing.assert_allclose(loaded.decode(z), direct.decode(z), atol=1e-6)


def test_unit_measures_unknown_without_history(tiny_config: TrainConfig) -> None:
    session = ExplorerSession(VAE.from_config(tiny_config), tiny_config)
    variances = session.unit_measures()
    assert variances.shape == (tiny_config.latent_dim,) and np.isnan(variances).all()


def test_data_set_shapes_are_found_by_class_and_named(tiny_config: TrainConfig) -> None:
    grids = np.zeros((5, 1, 4, 4, 4), dtype=np.uint8)
    shapes = ShapeSet(grids, [1, 0, 1, 1, 0], ("box", "cone"))
    session = ExplorerSession(VAE.from_config(tiny_config), tiny_config, shapes=shapes)
    np.testing.assert_array_equal(session.class_members(1), [0, 2, 3])
    assert [session.shape_name(p) for p in (0, 1, 3)] == ["cone #1", "box #1", "cone #3"]
    named = ExplorerSession(VAE.from_config(tiny_config), tiny_config, shapes=shapes,
                            shape_names=("c/1.off", "b/1.stl", "c/2.obj", "c/3.ply", "b/2.off"))
    assert named.shape_name(3) == "c/3.ply"
    assert len(ExplorerSession(VAE.from_config(tiny_config), tiny_config).class_members(0)) == 0
