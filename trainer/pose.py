"""A shape's pose from its second moments, and the resampling between grid and shape frames.

The pose is the centroid c of the shape's inside voxel centres and a rotation R whose columns
are their principal axes (eigenvectors of the covariance, largest spread first); the first two
are signed so the shape's third moment along each is not negative, the third is their cross
product. In the shape frame a point u lies at R u + c in the grid: there a rotated box is
axis-aligned and centred, whatever its orientation and position in the grid.

The pose-aware VAE (``VAE(pose=True)``) keeps the pose in the first POSE_DIMS latent
dimensions: the first two columns of R times sqrt(3), a continuous 6D representation of
rotations (Zhou et al. 2019), and c / SHIFT_SCALE. Over uniformly random rotations each of the
six has mean 0 and variance 1, and Gram-Schmidt of a standard normal 6-vector is a uniformly
random rotation, so codes drawn from the N(0, I) prior give uniformly random orientations.

Coordinates are those of ``F.affine_grid`` with ``align_corners=False``: (x, y, z) run along
the grid's (W, H, D) axes, -1 and 1 are the grid's outer faces, voxel centres lie in between.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

POSE_DIMS = 9
"""Latent dimensions that carry the pose: 6 for the rotation, 3 for the centroid."""
ROTATION_SCALE = math.sqrt(3.0)
SHIFT_SCALE = 0.16
"""Centroids are divided by this in the code: the built-in solids' centroids have a standard
deviation of 0.16 per axis, so these coordinates have variance about 1, like the prior's."""


def principal_pose(inside: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotations (B, 3, 3) and centroids (B, 3) of grids (B, 1, D, D, D) of inside weights in
    [0, 1]; an empty grid gets the grid's centre (and some rotation).

    The moments are sums of broadcast per-axis coordinates (no (3, D^3) coordinate matrix
    multiplied per shape: batched matrix products of that shape run far below the CPU's peak).
    """
    with torch.autocast(inside.device.type, enabled=False):
        w = inside.float()[:, 0]                                               # (B, D, H, W)
        mass = w.sum((1, 2, 3)).clamp(min=1e-6)
        axes = _axis_coordinates(w)                                            # x, y, z
        centroid = torch.stack([(w * a).sum((1, 2, 3)) for a in axes], 1) / mass[:, None]
        offsets = [a - centroid[:, k, None, None, None] for k, a in enumerate(axes)]
        covariance = torch.stack([torch.stack([(w * offsets[i] * offsets[j]).sum((1, 2, 3))
                                               for j in range(3)], 1) for i in range(3)], 1)
        # non-finite grids (a NaN batch) keep NaN centroids, so the loss shows them; eigh
        # would raise on their covariance instead
        covariance = torch.nan_to_num(covariance / mass[:, None, None], 0.0, 0.0, 0.0)
        principal = torch.linalg.eigh(covariance).eigenvectors.flip(-1)
        along = [sum(offsets[i] * principal[:, i, k, None, None, None] for i in range(3))
                 for k in range(2)]                                            # first two axes
        skew = torch.stack([(w * a.pow(3)).sum((1, 2, 3)) for a in along], 1)  # (B, 2)
        signs = torch.where(skew < 0, -1.0, 1.0)
        rotation = _completed(principal[:, :, 0] * signs[:, :1], principal[:, :, 1] * signs[:, 1:])
    return rotation, centroid


def pose_code(rotation: torch.Tensor, centroid: torch.Tensor) -> torch.Tensor:
    """The POSE_DIMS latent coordinates (B, 9) of poses."""
    return torch.cat([ROTATION_SCALE * rotation[:, :, 0], ROTATION_SCALE * rotation[:, :, 1],
                      centroid / SHIFT_SCALE], dim=1)


UPRIGHT = 1e-6
"""Added to the x of the first and the y of the second 3-vector before Gram-Schmidt, so that a
code of zeros (the prior's mean, where the sliders start) decodes upright instead of
degenerate; negligible for any other code."""


def pose_from_code(code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotations (B, 3, 3) and centroids (B, 3) of latent pose coordinates (B, 9), any values:
    Gram-Schmidt makes a rotation of the two 3-vectors."""
    upright = torch.zeros(6, dtype=code.dtype, device=code.device)
    upright[0] = upright[4] = UPRIGHT
    turn = code[:, 0:6] + upright
    first = F.normalize(turn[:, 0:3], dim=1)
    raw = turn[:, 3:6]
    second = F.normalize(raw - (first * raw).sum(1, keepdim=True) * first, dim=1)
    return _completed(first, second), code[:, 6:9] * SHIFT_SCALE


def _completed(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """The rotations (B, 3, 3) whose first two columns are the orthonormal ``first`` and
    ``second`` (B, 3); the third is their cross product."""
    return torch.stack([first, second, torch.linalg.cross(first, second)], dim=2)


def to_shape_frame(grids: torch.Tensor, rotation: torch.Tensor, centroid: torch.Tensor,
                   outside: float = 0.0) -> torch.Tensor:
    """Grids resampled (trilinearly) in the shape frame: the value at u is the grid's at
    R u + c; points beyond the grid read ``outside``."""
    theta = torch.cat([rotation, centroid[:, :, None]], dim=2)
    return _resample(grids - outside, theta, "zeros") + outside


def to_grid_frame(grids: torch.Tensor, rotation: torch.Tensor,
                  centroid: torch.Tensor) -> torch.Tensor:
    """Shape-frame grids resampled into the grid frame: the value at p is the shape frame's
    at R^T (p - c); points beyond the shape frame's grid read its nearest border voxel."""
    return _resample(grids, _inverse_pose(rotation, centroid), "border")


def to_grid_frame_by_gathers(grids: torch.Tensor, rotation: torch.Tensor,
                             centroid: torch.Tensor) -> torch.Tensor:
    """`to_grid_frame` of one-channel grids as index arithmetic and 8 gathers per point: for
    compiled inference, where TorchInductor fuses it into one loop, faster than the compiled
    ``grid_sample``; eager, it is slower."""
    b, _, d, h, w = grids.shape
    points = _sampling_points(grids, _inverse_pose(rotation, centroid))
    corners, weights = [], []
    for point, n in zip(points, (w, h, d), strict=True):
        # align_corners=False: -1 and 1 are the outer faces; border padding clamps
        u = (((point + 1) * n - 1) / 2).clamp(0, n - 1)
        low = u.floor().clamp(max=n - 2)
        corners.append(low.long())
        weights.append(u - low)
    (x, y, z), (fx, fy, fz) = corners, weights
    flat = grids.reshape(b, -1)
    out = torch.zeros_like(fx)
    for dz, wz in ((0, 1 - fz), (1, fz)):
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                index = (((z + dz) * h + y + dy) * w + x + dx).reshape(b, -1)
                out = out + wz * wy * wx * torch.gather(flat, 1, index).view_as(fx)
    return out[:, None]


def _inverse_pose(rotation: torch.Tensor, centroid: torch.Tensor) -> torch.Tensor:
    """The affine map (B, 3, 4) p -> R^T (p - c)."""
    inverse = rotation.transpose(1, 2)
    return torch.cat([inverse, -(inverse @ centroid[:, :, None])], dim=2)


def _resample(grids: torch.Tensor, theta: torch.Tensor, padding: str) -> torch.Tensor:
    """``grid_sample`` at the points theta [p; 1] for the grid's voxel centres p."""
    grids = grids.contiguous()
    # = F.affine_grid(theta, grids.shape, align_corners=False)
    points = torch.stack(_sampling_points(grids, theta), dim=-1)
    return F.grid_sample(grids, points, mode="bilinear", padding_mode=padding,
                         align_corners=False)


def _sampling_points(grids: torch.Tensor,
                     theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Coordinates x, y, z (B, D, H, W) of theta [p; 1] for the voxel centres p of grids
    (B, C, D, H, W): sums of broadcast per-axis terms, not a batched (D^3, 4) x (4, 3)
    product per shape, which runs far below the CPU's peak."""
    x, y, z = _axis_coordinates(grids[:, 0])
    t = theta.to(grids.dtype)[:, :, :, None, None, None]                    # (B, 3, 4, 1, 1, 1)
    return tuple(x * t[:, k, 0] + y * t[:, k, 1] + z * t[:, k, 2] + t[:, k, 3]
                 for k in range(3))


def _axis_coordinates(grids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The voxel-centre coordinates x (1, 1, 1, W), y (1, 1, H, 1), z (1, D, 1, 1) of grids
    (B, D, H, W), ready to broadcast against them."""
    d, h, w = grids.shape[-3:]
    x, y, z = (_centres(n, grids) for n in (w, h, d))
    return x.view(1, 1, 1, w), y.view(1, 1, h, 1), z.view(1, d, 1, 1)


def _centres(n: int, like: torch.Tensor) -> torch.Tensor:
    """Coordinates of the n voxel centres along an axis spanning [-1, 1]."""
    return (torch.arange(n, device=like.device, dtype=like.dtype) + 0.5) * (2.0 / n) - 1.0
