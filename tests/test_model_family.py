"""Each model kind end to end: train through the Trainer, save, load, explore."""

import math

import numpy as np
import pytest
import torch

from explorer.meshing import mesh_from_grid
from explorer.session import ExplorerSession, one_hot_codes
from trainer.checkpoint import load_checkpoint, save_checkpoint
from trainer.config import TrainConfig
from trainer.data.sources import load_shapes
from trainer.errors import TrainingError
from trainer.loop import Trainer
from trainer.model import CategoricalVAE

K, C = 4, 3


@pytest.fixture
def categorical_config(tiny_config: TrainConfig) -> TrainConfig:
    return tiny_config.with_overrides(latent="categorical", pose="none", latent_dim=K,
                                      categorical_classes=C,
                                      temperature=2.0, temperature_min=0.5,
                                      temperature_decay=0.05)


@pytest.fixture(scope="module")
def categorical_run() -> Trainer:
    """One short categorical run shared by the tests that only read it."""
    config = TrainConfig(resolution=16, latent_dim=K, channels=(4, 8, 8, 16), batch_size=8,
                         epochs=2, dataset_size=40, seed=3, latent="categorical", pose="none",
                         categorical_classes=C, temperature=2.0, temperature_min=0.5,
                         temperature_decay=0.05)
    shapes = load_shapes(config)
    trainer = Trainer(config, *shapes.split(config.val_fraction, config.seed))
    assert trainer.run()
    return trainer


def test_categorical_training_reports_temperature_and_categorical_statistics(categorical_run):
    trainer = categorical_run
    assert isinstance(trainer.model, CategoricalVAE)
    first, last = trainer.history
    assert last.train_loss < first.train_loss
    steps = math.ceil(len(trainer._train) / trainer.config.batch_size)
    assert first.temperature == pytest.approx(max(0.5, 2.0 * math.exp(-0.05 * (steps - 1))))
    assert last.temperature < first.temperature
    assert last.mu_mean is None and last.mu_var_per_dim == ()
    assert len(last.mutual_info_per_var) == len(last.perplexity_per_var) == K
    assert all(1 - 1e-9 <= p <= C + 1e-9 for p in last.perplexity_per_var)
    assert 0 <= last.entropy_mean <= math.log(C)
    assert last.active_units == sum(i > 0.01 for i in last.mutual_info_per_var)
    assert 0 <= last.val_iou <= 1 and last.latent_dim == K and last.beta == 1.0


def test_categorical_checkpoint_and_session(categorical_run, tmp_path):
    path = save_checkpoint(tmp_path / "cat.pt", categorical_run.checkpoint())
    ckpt = load_checkpoint(path)
    assert ckpt.config == categorical_run.config and ckpt.history == categorical_run.history
    model = ckpt.build_model()
    assert isinstance(model, CategoricalVAE)
    for key, value in categorical_run.model_state().items():
        torch.testing.assert_close(model.state_dict()[key], value)

    session = ExplorerSession.from_checkpoint(path)
    family = session.family
    assert (family.name, session.latent_dim, family.classes,
            session.code_dim) == ("categorical", K, C, K * C)
    assert session.interpolation_methods == ("linear",)
    samples = session.prior_samples(5, seed=1)
    assert samples.shape == (5, K * C)
    np.testing.assert_array_equal(samples.reshape(5, K, C).sum(-1), 1)
    np.testing.assert_array_equal(one_hot_codes(family.classes_of(samples), C),
                                  samples)
    grids = session.decode(samples)
    assert grids.shape == (5, 16, 16, 16) and grids.min() >= 0 and grids.max() <= 1

    codes = session.encode(categorical_run._val[:2].numpy())
    assert set(np.unique(codes)) <= {0.0, 1.0}
    path_codes = session.interpolate(codes[0], codes[1], 5)
    np.testing.assert_allclose(path_codes.reshape(5, K, C).sum(-1), 1)     # on the simplex
    np.testing.assert_allclose(path_codes[2], (codes[0] + codes[1]) / 2)
    with pytest.raises(ValueError, match="linear"):
        session.interpolate(codes[0], codes[1], 5, "slerp")
    sweep = session.traverse(codes[0], 2, np.arange(C))
    np.testing.assert_array_equal(family.classes_of(sweep)[:, 2], np.arange(C))
    others = np.delete(family.classes_of(sweep), 2, axis=1)
    np.testing.assert_array_equal(others, np.tile(np.delete(family.classes_of(codes[0]), 2),
                                                  (C, 1)))
    assert session.unit_measures().shape == (K,)
    assert np.isfinite(session.unit_measures()).all()


def test_denoising_categorical_cyclical_run_resumes_exactly(categorical_config, tiny_split,
                                                            tmp_path):
    config = categorical_config.with_overrides(
        noise="flip", beta_schedule="cyclical", beta_cycles=2, free_bits=0.05,
        straight_through=True)
    straight = Trainer(config, *tiny_split)
    straight.run()
    first = Trainer(config, *tiny_split, checkpoint_path=tmp_path / "c.pt",
                    on_report=lambda r: first.stop())
    assert first.run() is False
    resumed = Trainer(config, *tiny_split, resume_from=load_checkpoint(tmp_path / "c.pt"))
    resumed.run()
    for key, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value)
    assert [r.beta for r in straight.history] == [1.0, 1.0]   # cycles of 1 epoch end at beta
    assert resumed.history[-1].val_loss == pytest.approx(straight.history[-1].val_loss)


def test_linear_warm_up_is_reported_per_epoch(tiny_config, tiny_split):
    config = tiny_config.with_overrides(beta=0.8, beta_schedule="linear", warmup_epochs=2)
    trainer = Trainer(config, *tiny_split)
    trainer.run()
    assert [r.beta for r in trainer.history] == pytest.approx([0.4, 0.8])
    assert all(r.temperature is None for r in trainer.history)


def test_signed_distance_run_meshes_at_zero_with_outward_normals(tiny_config):
    config = tiny_config.with_overrides(grid="sdf", likelihood="gaussian", epochs=1)
    shapes = load_shapes(config)
    assert shapes.signed and shapes.grids.min() == -1 and shapes.grids.max() == 1
    train, val = shapes.split(config.val_fraction, config.seed)
    trainer = Trainer(config, train, val)
    trainer.run()
    assert 0 <= trainer.history[-1].val_iou <= 1

    session = ExplorerSession.from_checkpoint(trainer.checkpoint(), shapes=shapes)
    assert (session.iso_level, session.inside_low, session.value_range) == (0.0, True, (-1, 1))
    codes = session.prior_samples(2, seed=0)
    with torch.no_grad():
        raw = trainer.model.eval().decode(torch.from_numpy(codes).float())[:, 0].numpy()
    np.testing.assert_allclose(session.decode(codes), raw, atol=1e-5)   # no sigmoid
    # the data's own signed distances mesh into closed shapes with outward normals
    grid = shapes.grids[0, 0].astype(np.float32)
    mesh = mesh_from_grid(grid, session.iso_level, inside_low=session.inside_low)
    assert mesh.is_watertight and mesh.volume > 0
    occupied = (grid < 0).sum() / grid.size
    assert mesh.volume == pytest.approx(occupied, rel=0.25)


def test_sdf_config_needs_signed_data(tiny_config, tiny_split):
    config = tiny_config.with_overrides(grid="sdf", likelihood="gaussian")
    with pytest.raises(TrainingError, match="signed-distance"):
        Trainer(config, *tiny_split)
