"""Latent families own what differs between kinds of codes; one place says what a grid holds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from trainer.config import TrainConfig
from trainer.families import (
    FAMILIES,
    CategoricalFamily,
    LatentFamily,
    PoseFamily,
    PPCAFamily,
    family_of,
)
from trainer.grid_values import grid_values
from trainer.model import VAE, CategoricalVAE
from trainer.ppca import PPCA
from trainer.report import EpochReport

SMALL = dict(resolution=16, channels=(4, 4, 8, 8))


@pytest.mark.parametrize(("settings", "kind", "family", "model"), [
    (dict(latent_dim=4), "vae", LatentFamily, VAE),
    (dict(latent_dim=12), "vae", PoseFamily, VAE),
    (dict(latent_dim=12, pose="none"), "vae", LatentFamily, VAE),
    (dict(latent_dim=4, latent="categorical", categorical_classes=3), "vae", CategoricalFamily,
     CategoricalVAE),
    (dict(latent_dim=4), "ppca", PPCAFamily, PPCA),
])
def test_the_config_and_kind_choose_the_family_and_its_model(settings, kind, family, model):
    config = TrainConfig(**SMALL, **settings)
    chosen = family_of(config, kind)
    assert type(chosen) is family
    built = chosen.build_model()
    assert isinstance(built, model)
    assert built.latent_dim == chosen.code_dim


def test_every_family_names_statistics_that_the_report_holds() -> None:
    report_fields = {f.name for f in dataclasses.fields(EpochReport)}
    for family in FAMILIES.values():
        assert {s.field for s in family.statistics} <= report_fields, family.name
        assert family.measure.field in report_fields
        assert set(family.interpolations) <= {"linear", "slerp"}


def test_gaussian_and_categorical_codes_sample_traverse_and_interpolate() -> None:
    gaussian = family_of(TrainConfig(**SMALL, latent_dim=5))
    z = gaussian.prior_samples(400, seed=3, temperature=0.5)
    assert z.shape == (400, 5) and abs(z.std() - 0.5) < 0.05
    np.testing.assert_array_equal(gaussian.prior_samples(2, seed=3), gaussian.prior_samples(2, 3))
    sweep = gaussian.traverse(z[0], 2, gaussian.traversal_values(2.0, 5))
    np.testing.assert_allclose(sweep[:, 2], [-2, -1, 0, 1, 2])
    np.testing.assert_allclose(np.delete(sweep, 2, axis=1), np.tile(np.delete(z[0], 2), (5, 1)))

    categorical = family_of(TrainConfig(**SMALL, latent_dim=3, latent="categorical",
                                        categorical_classes=4))
    codes = categorical.prior_samples(6, seed=1, temperature=0.1)   # T does not apply
    assert codes.shape == (6, 12)
    np.testing.assert_array_equal(codes.reshape(6, 3, 4).sum(-1), 1)
    values = categorical.traversal_values(9.0, 2)
    np.testing.assert_array_equal(values, np.arange(4))             # every class, not a range
    np.testing.assert_array_equal(categorical.classes_of(categorical.traverse(codes[0], 1,
                                                                             values))[:, 1],
                                  np.arange(4))
    np.testing.assert_array_equal(categorical.zero_code().reshape(3, 4).argmax(-1), [0, 0, 0])
    with pytest.raises(ValueError, match="linear"):
        categorical.interpolate(codes[0], codes[1], 3, "slerp")


def test_posteriors_become_codes_by_mean_or_mode() -> None:
    categorical = family_of(TrainConfig(**SMALL, latent_dim=2, latent="categorical",
                                        categorical_classes=3))
    logits = torch.tensor([[[0.1, 2.0, 0.0], [3.0, 0.0, 0.0]]])
    np.testing.assert_array_equal(categorical.codes((logits,)).numpy(), [[0, 1, 0, 1, 0, 0]])
    gaussian = family_of(TrainConfig(**SMALL, latent_dim=2))
    mu = torch.tensor([[0.3, -1.0]])
    assert gaussian.codes((mu, torch.zeros_like(mu))) is mu


def test_pose_family_names_its_dimensions() -> None:
    names = family_of(TrainConfig(**SMALL, latent_dim=12)).unit_names()
    assert len(names) == 12 and names[0] == "axis 1 x" and names[8] == "shift z"
    assert names[9:] == ("", "", "")


@pytest.mark.parametrize(("settings", "kind", "activation", "level", "inside_low"), [
    (dict(), "vae", "sigmoid", 0.5, False),
    (dict(likelihood="gaussian"), "vae", "identity", 0.5, False),
    (dict(likelihood="gaussian", grid="sdf"), "vae", "identity", 0.0, True),
    (dict(), "ppca", "clamp", 0.5, False),
    (dict(likelihood="gaussian", grid="sdf"), "ppca", "identity", 0.0, True),
])
def test_one_place_says_what_a_decoded_grid_holds(settings, kind, activation, level,
                                                  inside_low) -> None:
    values = grid_values(TrainConfig(**SMALL, latent_dim=4, **settings), kind)
    assert (values.activation, values.iso_level, values.inside_low) == (activation, level,
                                                                       inside_low)
    out = torch.tensor([-3.0, 0.2, 4.0])
    expected = {"sigmoid": torch.sigmoid(out), "clamp": out.clamp(0, 1), "identity": out}
    torch.testing.assert_close(values.activate(out), expected[activation])
    low, high = values.value_range
    assert low < level < high


def test_reports_written_before_families_were_named_still_say_categorical() -> None:
    base = dict(epoch=1, train_loss=1.0, train_recon=1.0, train_kl=0.0, val_loss=1.0,
                val_recon=1.0, val_kl=0.0, val_iou=0.5, val_hamming=0.1, mu_mean=None,
                mu_var=None, logvar_mean=None, mu_mean_per_dim=[], mu_var_per_dim=[],
                active_units=1, latent_dim=2, lr=1e-3, samples_per_s=1.0, elapsed_s=1.0)
    old = EpochReport.from_dict({**base, "mutual_info_per_var": [0.5, 0.0]})
    assert old.family == "categorical"
    assert EpochReport.from_dict({**base, "mu_mean": 0.0}).family == "gaussian"
