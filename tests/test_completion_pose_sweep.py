"""The pose sweep of latent search: it scores (shape, pose) pairs exactly as latent search
does, puts its centroids behind the scanned surface, and only ever adds better starts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from explorer import bundled
from trainer.checkpoint import load_checkpoint
from trainer.completion.latent_search import SearchSettings, _losses, frozen_copy, latent_search
from trainer.completion.observation import simulate, view_direction
from trainer.completion.pose_sweep import (
    CENTROID_STEPS,
    SWEEP_POINTS,
    _candidate_poses,
    _observed_points,
    pair_losses,
)
from trainer.model import VAE
from trainer.pose import POSE_DIMS, pose_from_code

D = 16


def _pose_vae() -> torch.nn.Module:
    torch.manual_seed(0)
    return frozen_copy(VAE(D, 12, (4, 8, 8, 8), pose=True).eval())


def _box_scan(viewpoint: tuple[float, float]):
    grid = np.zeros((D, D, D), dtype=bool)
    grid[3:10, 5:12, 4:9] = True
    return simulate("single-view", grid, np.random.default_rng(0), viewpoint)


def test_pair_losses_equal_latent_search_losses_of_the_whole_codes():
    net = _pose_vae()
    observation = _box_scan((30.0, 20.0))
    occupied = torch.from_numpy(observation.occupied[None, None].astype(np.float32))
    free = torch.from_numpy(observation.free[None, None].astype(np.float32))
    points, inside = _observed_points(occupied[0, 0], free[0, 0])
    assert 0 < len(points) <= SWEEP_POINTS and int(inside.sum()) == observation.occupied.sum()
    generator = torch.Generator().manual_seed(0)
    shapes = torch.randn(3, 12 - POSE_DIMS, generator=generator)
    poses = torch.randn(4, POSE_DIMS, generator=generator)
    got = pair_losses(net, points, inside, shapes, poses, 0.5, 0.7, generator)
    settings = SearchSettings(free_weight=0.5, prior_weight=0.7)
    codes = torch.cat([poses.repeat(3, 1), shapes.repeat_interleave(4, 0)], 1)
    want = _losses(net, codes, occupied.expand(12, -1, -1, -1, -1),
                   free.expand(12, -1, -1, -1, -1), settings).view(3, 4)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-3)


def test_candidate_centroids_lie_behind_the_surface_away_from_the_camera():
    viewpoint = (0.0, 30.0)
    observation = _box_scan(viewpoint)
    points, inside = _observed_points(torch.from_numpy(observation.occupied),
                                      torch.from_numpy(observation.free))
    poses = _candidate_poses(points, inside, 5, torch.Generator().manual_seed(0))
    assert poses.shape == (5 * len(CENTROID_STEPS), POSE_DIMS)
    _, centroids = pose_from_code(poses[:len(CENTROID_STEPS)])
    torch.testing.assert_close(centroids[0], points[inside].mean(0))
    # pose coordinates run x, y, z along the grid's last, middle, first axis
    camera = torch.from_numpy(view_direction(viewpoint)[::-1].copy()).float()
    behind = centroids[-1] - centroids[0]
    cosine = float(behind @ camera) / float(behind.norm())
    assert cosine < -0.7
    assert float(behind.norm()) == pytest.approx(CENTROID_STEPS[-1], rel=1e-5)


def test_the_sweep_finds_better_starts_for_a_trained_pose_aware_vae():
    model = load_checkpoint(bundled.MODEL_FILE).build_model()
    net = frozen_copy(model)
    d = model.resolution
    grid = np.zeros((d, d, d), dtype=bool)
    grid[8:22, 10:26, 9:17] = True                            # a box, off centre
    observation = simulate("single-view", grid, np.random.default_rng(0), (40.0, 25.0))
    occupied, free = (torch.from_numpy(g[None, None].astype(np.float32))
                      for g in (observation.occupied, observation.free))
    settings = SearchSettings(steps=0, candidates=8, restarts=1)
    losses = {}
    for shapes in (0, 8):
        chosen = dataclasses.replace(settings, sweep_shapes=shapes)
        code = torch.from_numpy(latent_search(model, [observation], chosen)).float()
        losses[shapes] = float(_losses(net, code, occupied, free, chosen)[0])
    assert losses[8] < 0.8 * losses[0]
