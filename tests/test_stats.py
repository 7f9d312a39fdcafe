"""Latent statistics and reconstruction metrics on known inputs."""

import math

import pytest
import torch

from trainer.stats import (
    categorical_statistics,
    iou_and_hamming,
    latent_statistics,
    reconstruction_scores,
)


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


def test_categorical_statistics_of_known_posteriors():
    big = 50.0
    # variable 0: each shape certain of a different class (informative, uses all 4 classes);
    # variable 1: every shape certain of class 2 (uninformative); variable 2: uniform q.
    logits = torch.zeros(4, 3, 4, dtype=torch.float64)
    for n in range(4):
        logits[n, 0, n] = big
        logits[n, 1, 2] = big
    s = categorical_statistics(logits)
    assert s.perplexity_per_var == pytest.approx((4.0, 1.0, 4.0), rel=1e-6)
    assert s.mutual_info_per_var == pytest.approx((math.log(4), 0.0, 0.0), abs=1e-6)
    assert s.entropy_mean == pytest.approx(math.log(4) / 3, rel=1e-6)
    assert s.active_units == 1


def test_signed_scores_count_negative_values_as_inside():
    target = torch.ones(1, 1, 2, 2, 2)
    target[0, 0, 0] = -0.5          # 4 voxels inside
    prediction = torch.ones(1, 1, 2, 2, 2)
    prediction[0, 0, 0, 0] = -0.2   # 2 of them
    iou, ham = reconstruction_scores(prediction, target, signed=True)
    assert iou.item() == pytest.approx(0.5) and ham.item() == pytest.approx(2 / 8)
