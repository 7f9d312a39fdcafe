"""Pose from second moments (trainer.pose) and the pose-aware VAE."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trainer.config import TrainConfig
from trainer.data.procedural import _random_rotations, make_procedural, voxelise
from trainer.model import VAE
from trainer.pose import (
    POSE_DIMS,
    pose_code,
    pose_from_code,
    principal_pose,
    to_grid_frame,
    to_grid_frame_by_gathers,
    to_shape_frame,
)


def _grid(kind: str, size: tuple[float, float, float], degrees: float = 0.0,
          offset: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> torch.Tensor:
    """(1, 1, 32, 32, 32) occupancy of a solid turned by `degrees` about an oblique axis."""
    axis = np.array([1.0, 2.0, 3.0]) / np.sqrt(14.0)
    angle = np.radians(degrees)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rotation = np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross
    return torch.from_numpy(voxelise(kind, size, 32, rotation, offset)).float()[None, None]


def _bounding_box_fill(grid: torch.Tensor) -> float:
    inside = grid[0, 0].numpy() > 0.5
    extents = [np.flatnonzero(inside.any(axis=tuple(a for a in range(3) if a != k)))
               for k in range(3)]
    return inside.sum() / np.prod([e[-1] - e[0] + 1 for e in extents])


def _iou(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a > 0.5, b > 0.5
    return float((a & b).sum() / (a | b).sum())


def test_poses_are_rotations_and_codes_round_trip() -> None:
    grids = torch.cat([_grid("box", (0.5, 0.3, 0.2), d, (0.1, -0.2, 0.05))
                       for d in (0, 35, 80)] + [torch.zeros(1, 1, 32, 32, 32)])
    rotation, centroid = principal_pose(grids)
    eye = torch.eye(3).expand(4, 3, 3)
    assert torch.allclose(rotation.transpose(1, 2) @ rotation, eye, atol=1e-5)
    assert torch.allclose(torch.linalg.det(rotation), torch.ones(4), atol=1e-5)
    assert torch.allclose(centroid[3], torch.zeros(3))  # the empty grid: its centre
    back_rotation, back_centroid = pose_from_code(pose_code(rotation, centroid))
    assert torch.allclose(back_rotation, rotation, atol=1e-5)
    assert torch.allclose(back_centroid, centroid, atol=1e-6)
    upright, centre = pose_from_code(torch.zeros(1, POSE_DIMS))  # the sliders' starting code
    assert torch.equal(upright, torch.eye(3)[None]) and torch.equal(centre, torch.zeros(1, 3))


def test_the_centroid_follows_a_shift_of_the_grid() -> None:
    grid = _grid("cone", (0.4, 0.5, 0.0), 40)
    shifted = torch.roll(grid, shifts=3, dims=-1)      # 3 voxels along W, the x coordinate
    (rotation, centroid), (rotation2, centroid2) = principal_pose(grid), principal_pose(shifted)
    assert torch.allclose(centroid2 - centroid, torch.tensor([[3 * 2 / 32, 0.0, 0.0]]),
                          atol=1e-5)
    assert torch.allclose(rotation2, rotation, atol=1e-4)


@pytest.mark.parametrize(("kind", "size"), [("box", (0.55, 0.35, 0.2)),
                                            ("cone", (0.45, 0.6, 0.0))])
def test_the_shape_frame_does_not_depend_on_the_pose(kind, size) -> None:
    """A box or cone and its turns by quarter turns and shifts look the same in their frame:
    what the encoder's network sees does not depend on the pose."""
    grid = _grid(kind, size, 30, (0.05, 0.1, -0.1))
    posed = torch.cat([grid, torch.rot90(grid, 1, dims=(2, 4)),
                       torch.roll(torch.rot90(grid, 2, dims=(3, 4)), 2, dims=2)])
    aligned = to_shape_frame(posed, *principal_pose(posed))
    assert _iou(aligned[1], aligned[0]) > 0.99 and _iou(aligned[2], aligned[0]) > 0.99
    assert _iou(posed[1], posed[0]) < 0.5                       # the grids themselves differ


def test_a_turned_box_is_axis_aligned_in_its_frame_and_returns_to_the_grid() -> None:
    box = _grid("box", (0.6, 0.35, 0.2), 50, (0.1, 0.0, -0.05))
    rotation, centroid = principal_pose(box)
    aligned = to_shape_frame(box, rotation, centroid)
    assert _bounding_box_fill(box) < 0.3 < 0.65 < _bounding_box_fill(aligned)
    assert _iou(to_grid_frame(aligned, rotation, centroid), box) > 0.95


@pytest.mark.parametrize("size", [16, 32])
def test_resampling_by_gathers_matches_grid_sample(size) -> None:
    generator = torch.Generator().manual_seed(size)
    grids = torch.randn(3, 1, size, size, size, generator=generator)
    code = torch.randn(3, POSE_DIMS, generator=generator) * 2    # shifts beyond the border too
    pose = pose_from_code(code)
    torch.testing.assert_close(to_grid_frame_by_gathers(grids, *pose),
                               to_grid_frame(grids, *pose), atol=2e-6, rtol=1e-5)


def test_points_beyond_the_grid_read_the_outside_value() -> None:
    grid = torch.full((1, 1, 16, 16, 16), 0.25)
    shift = torch.tensor([[0.5, 0.0, 0.0]])                    # a quarter of the grid along x
    out = to_shape_frame(grid, torch.eye(3)[None], shift, outside=1.0)
    assert torch.allclose(out[..., :10], torch.full_like(out[..., :10], 0.25))
    assert torch.allclose(out[..., -3:], torch.ones_like(out[..., -3:]))


def test_prior_codes_give_uniform_rotations_and_uniform_rotations_standard_codes() -> None:
    generator = torch.Generator().manual_seed(0)
    rotation, _ = pose_from_code(torch.randn(20000, POSE_DIMS, generator=generator))
    assert rotation.mean(0).abs().max() < 0.02                   # Haar: E[R] = 0
    assert torch.allclose(rotation.pow(2).mean(0), torch.full((3, 3), 1 / 3), atol=0.02)
    uniform = torch.from_numpy(_random_rotations(np.random.default_rng(1), 20000)).float()
    code = pose_code(uniform, torch.zeros(20000, 3))[:, :6]
    assert code.mean(0).abs().max() < 0.03
    assert torch.allclose(code.var(0), torch.ones(6), atol=0.04)


def test_pose_codes_of_the_builtin_solids_have_about_unit_variance() -> None:
    """Like the N(0, I) prior: prior samples are then turned and placed like the data."""
    shapes = make_procedural(700, 16, seed=2)
    code = pose_code(*principal_pose(torch.from_numpy(shapes.grids).float()))
    assert code.mean(0).abs().max() < 0.15
    assert ((code.var(0) > 0.8) & (code.var(0) < 1.2)).all(), code.var(0)


def _pose_vae(signed: bool = False) -> VAE:
    config = TrainConfig(resolution=16, latent_dim=12, channels=(4, 8, 8, 16))
    torch.manual_seed(0)
    return VAE(config.resolution, config.latent_dim, config.channels, pose=True,
               signed=signed).eval()


def test_the_encoder_mean_starts_with_the_pose_of_the_shape() -> None:
    model = _pose_vae()
    grids = torch.cat([_grid("box", (0.5, 0.3, 0.2), d)[..., ::2, ::2, ::2] for d in (0, 60)])
    with torch.no_grad():
        mu, logvar = model.encode(grids)
    assert mu.shape == logvar.shape == (2, 12)
    assert torch.allclose(mu[:, :POSE_DIMS], pose_code(*principal_pose(grids)), atol=1e-6)


def test_signed_grids_take_their_pose_from_the_inside() -> None:
    occupancy = _grid("cone", (0.45, 0.6, 0.0), 70, (0.1, 0.0, 0.0))[..., ::2, ::2, ::2]
    signed = 1 - 2 * occupancy                                   # negative inside
    with torch.no_grad():
        mu_signed = _pose_vae(signed=True).encode(signed)[0]
    assert torch.allclose(mu_signed[:, :POSE_DIMS], pose_code(*principal_pose(occupancy)),
                          atol=1e-6)


def test_the_decoder_turns_its_shape_by_the_pose_in_the_code() -> None:
    """A quarter turn in the code's rotation is a quarter turn of the decoded grid (exact:
    the resampling points land on voxel centres), and the pose dimensions get gradients."""
    model = _pose_vae()
    torch.manual_seed(1)
    shape = torch.randn(1, 3)
    identity = pose_code(torch.eye(3)[None], torch.zeros(1, 3))
    turn = torch.tensor([[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])  # x -> y
    turned = pose_code(turn, torch.zeros(1, 3))
    with torch.no_grad():
        upright = model.decode(torch.cat([identity, shape], 1))
        rotated = model.decode(torch.cat([turned, shape], 1))
    # x runs along W (dim 4), y along H (dim 3): the turn maps W onto H
    assert torch.allclose(rotated, torch.rot90(upright, 1, dims=(4, 3)), atol=1e-5)
    assert not torch.allclose(rotated, upright, atol=1e-3)
    z = torch.cat([turned, shape], 1).requires_grad_(True)
    model.decode(z).square().sum().backward()
    assert z.grad[:, :POSE_DIMS].abs().sum() > 0
