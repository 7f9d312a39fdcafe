"""Scans of prior samples: each observation comes from the shape its code decodes to, the pool
is reproducible and bounded, and the code regression loss is blind to an axis's sign."""

from __future__ import annotations

import numpy as np
import torch

from trainer.completion.prior_observations import (
    AXIS_WEIGHT,
    POOL_BYTES,
    code_regression_loss,
    draw_prior_observations,
    pool_size,
)
from trainer.model import VAE
from trainer.pose import POSE_DIMS, pose_code, pose_from_code

D = 16


def vae(pose: bool) -> VAE:
    torch.manual_seed(3)
    return VAE(D, 12 if pose else 4, (4, 8, 8, 8), pose=pose).eval()


def test_every_scan_shows_the_shape_its_code_decodes_to():
    net = vae(pose=False)
    pool = draw_prior_observations(net, 24, ("single-view", "cut"), D, seed=5, pose=False)
    assert 0 < len(pool) <= 24
    channels = pool.channels(np.arange(len(pool))).numpy() > 0.5
    with torch.no_grad():
        shapes = (net.decode(pool.codes) > 0).numpy()[:, 0]
    occupied, free = channels[:, 0], channels[:, 1]
    assert occupied.any((1, 2, 3)).all()
    assert not (occupied & ~shapes).any()       # surface points lie in the shape
    assert not (free & shapes).any()            # free space lies outside it
    again = draw_prior_observations(net, 24, ("single-view", "cut"), D, seed=5, pose=False)
    np.testing.assert_array_equal(again.packed, pool.packed)
    assert torch.equal(again.codes, pool.codes)
    other = draw_prior_observations(net, 24, ("single-view", "cut"), D, seed=6, pose=False)
    assert not torch.equal(other.codes[:3], pool.codes[:3])


def test_pose_codes_are_drawn_as_rotations_and_stop_is_heard():
    net = vae(pose=True)
    pool = draw_prior_observations(net, 8, ("box",), D, seed=1, pose=True)
    axes = pool.codes[:, :6].reshape(-1, 2, 3)
    torch.testing.assert_close(axes.norm(dim=-1), torch.full((len(pool), 2), 3 ** 0.5))
    heard = []
    assert draw_prior_observations(net, 8, ("box",), D, seed=1, pose=True,
                                   keep_going=lambda *p: heard.append(p) or False) is None
    assert heard == [(0, 8)]


def test_the_pool_stays_within_its_memory_budget():
    assert pool_size(100, 32) == 100
    assert pool_size(10**6, 64) * 2 * 64 ** 3 // 8 == POOL_BYTES
    assert pool_size(10**6, 32) == 2 * 4 * pool_size(10**6, 64)


def test_code_regression_is_blind_to_an_axis_sign_but_not_to_a_turn():
    rotation = pose_from_code(torch.randn(4, POSE_DIMS, generator=torch.Generator()
                                          .manual_seed(0)))[0]
    centroid = torch.randn(4, 3)
    shape = torch.randn(4, 5)
    target = torch.cat([pose_code(rotation, centroid), shape], 1)
    flipped = target.clone()
    flipped[:, :3] *= -1                                            # first axis reversed
    assert torch.allclose(code_regression_loss(target, target, pose=True), torch.zeros(4),
                          atol=1e-5)
    assert torch.allclose(code_regression_loss(flipped, target, pose=True), torch.zeros(4),
                          atol=1e-5)
    turned = torch.cat([pose_code(rotation[:, :, [1, 0, 2]], centroid), shape], 1)
    # both axes at right angles to the ones wanted
    assert torch.allclose(code_regression_loss(turned, target, pose=True),
                          torch.full((4,), 2 * AXIS_WEIGHT), atol=1e-4)
    moved = target.clone()
    moved[:, POSE_DIMS:] += 0.5
    assert torch.allclose(code_regression_loss(moved, target, pose=True),
                          torch.full((4,), 5 * 0.25), atol=1e-5)
    plain = code_regression_loss(flipped, target, pose=False)
    assert (plain > 1).all()                      # without pose, a sign is a difference
