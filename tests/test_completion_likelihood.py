"""The observed-only likelihood, the check of which models can complete, and the metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trainer.completion.likelihood import check_completable, observed_nll
from trainer.completion.metrics import hamming, iou, score, surface_distances
from trainer.config import TrainConfig
from trainer.data.procedural import voxelise
from trainer.errors import ShapeExplorerError


def test_observed_nll_matches_a_direct_computation():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn((3, 1, 4, 4, 4), generator=gen) * 3
    state = torch.randint(0, 3, (3, 1, 4, 4, 4), generator=gen)  # 0 unknown, 1 occupied, 2 free
    occupied, free = state == 1, state == 2
    expected = []
    for b in range(3):
        total = 0.0
        for index in np.ndindex(1, 4, 4, 4):
            p = 1 / (1 + math.exp(-float(logits[b][index])))
            if occupied[b][index]:
                total -= math.log(p)
            elif free[b][index]:
                total -= 0.25 * math.log(1 - p)
        expected.append(total)
    got = observed_nll(logits, occupied, free, free_weight=0.25)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)
    # unknown voxels do not count: changing their logits changes nothing
    changed = torch.where(state == 0, -logits, logits)
    np.testing.assert_allclose(observed_nll(changed, occupied, free, 0.25).numpy(), expected,
                               rtol=1e-5)


def test_observed_nll_broadcasts_one_observation_over_a_batch():
    logits = torch.randn(5, 1, 4, 4, 4)
    occupied = torch.zeros(1, 1, 4, 4, 4, dtype=torch.bool)
    occupied[..., 0] = True
    out = observed_nll(logits, occupied, ~occupied)
    assert out.shape == (5,)
    assert torch.allclose(out[2], observed_nll(logits[2:3], occupied, ~occupied)[0])


@pytest.mark.parametrize("changes, message", [
    (dict(grid="sdf", likelihood="gaussian"), "signed distances"),
    (dict(likelihood="gaussian"), "Bernoulli"),
    (dict(latent="categorical", latent_dim=4), "Gaussian latent"),
])
def test_models_that_cannot_complete_are_refused_with_a_reason(changes, message):
    check_completable(TrainConfig())
    with pytest.raises(ShapeExplorerError, match=message):
        check_completable(TrainConfig(**changes))
    with pytest.raises(ShapeExplorerError, match="PPCA"):
        check_completable(TrainConfig(), kind="ppca")


def test_iou_and_hamming_of_known_grids():
    a = np.zeros((2, 4, 4, 4), dtype=bool)
    b = a.copy()
    a[0, :2] = True            # 32 voxels
    b[0, :1] = True            # 16 of them
    np.testing.assert_allclose(iou(a, b), [0.5, 1.0])
    np.testing.assert_allclose(hamming(a, b), [16 / 64, 0.0])


def test_surface_distances_measure_a_shift_in_voxels():
    d = 32
    sphere = voxelise("sphere", (0.5, 0, 0), d) > 0
    assert surface_distances(sphere, sphere) == (0.0, 0.0)
    shifted = np.roll(sphere, 2, axis=0)
    accuracy, completeness = surface_distances(shifted, sphere)
    assert 0.5 < accuracy < 2.0 and 0.5 < completeness < 2.0   # at most the 2-voxel shift
    smaller = voxelise("sphere", (0.25, 0, 0), d) > 0
    accuracy, completeness = surface_distances(smaller, sphere)
    assert accuracy > 2.5 and completeness > 2.5              # radii differ by 4 voxels
    scores = score(np.stack([np.zeros_like(sphere), sphere]), np.stack([sphere, sphere]))
    assert math.isnan(scores.accuracy[0]) and scores.accuracy[1] == 0.0
    assert scores.iou[0] == 0.0
