"""Latent statistics and reconstruction metrics on known inputs."""

import pytest
import torch

from trainer.stats import iou_and_hamming, latent_statistics


def test_latent_statistics_of_known_codes():
    mu = torch.tensor([[1.0, 0.0, 5.0], [-1.0, 0.0, 5.0], [3.0, 0.0, 5.0], [-3.0, 0.0, 5.0]])
    logvar = torch.full((4, 3), -2.0)
    s = latent_statistics(mu, logvar)
    assert s.mu_mean_per_dim == pytest.approx((0.0, 0.0, 5.0))
    assert s.mu_var_per_dim == pytest.approx((5.0, 0.0, 0.0))
    assert s.mu_mean == pytest.approx(5 / 3)
    assert s.mu_var == pytest.approx(5 / 3)
    assert s.logvar_mean == pytest.approx(-2.0)
    assert s.active_units == 1


def test_iou_and_hamming():
    target = torch.zeros(2, 1, 2, 2, 2)
    target[0, 0, 0] = 1  # 4 voxels
    pred = torch.zeros(2, 1, 2, 2, 2)
    pred[0, 0, 0, 0] = 0.9  # 2 of them
    pred[0, 0, 1, 1, 1] = 0.7  # one wrong voxel
    iou, ham = iou_and_hamming(pred, target)
    assert iou[0].item() == pytest.approx(2 / 5)
    assert ham[0].item() == pytest.approx(3 / 8)
    assert iou[1].item() == 1.0 and ham[1].item() == 0.0  # both empty
