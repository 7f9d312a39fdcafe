"""Starting codes for latent search in a pose-aware VAE: shape codes crossed with many poses.

In a pose-aware VAE (trainer.pose) a code is a pose and a shape. One scan leaves both open,
and gradient descent from prior samples rarely finds the right pair. The decoder draws a shape
in its own frame once and a pose only resamples it, so the sweep decodes a few shape codes and
scores each under many poses at the observed voxels alone (a few per cent of the grid):
thousands of (shape, pose) pairs for the price of a few decodes. The poses are uniformly random
rotations crossed with centroids at and behind the observed surface's centroid, away from the
free voxels (the camera's side).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainer.pose import pose_code, pose_from_code

CENTROID_STEPS = (0.0, 0.1, 0.2)
"""How far behind the observed surface's centroid the centroid candidates lie, in grid
half-widths (the grid spans [-1, 1])."""
SWEEP_POINTS = 768
"""The sweep scores each pair at this many observed voxels at most, drawn at random (each
weighted by how many it stands for)."""


@torch.no_grad()
def pose_sweep(net: nn.Module, occupied: torch.Tensor, free: torch.Tensor,
               shape_codes: torch.Tensor, turns: int, keep: int, free_weight: float,
               prior_weight: float, generator: torch.Generator) -> torch.Tensor:
    """The ``keep`` best codes (N, keep, Q) per observation among the pairs of its shape codes
    (N, S, Q - POSE_DIMS) and ``turns`` x len(CENTROID_STEPS) poses, scored like latent search:
    the NLL of the observed voxels plus prior_weight * |z|^2 / 2. ``occupied`` and ``free``
    are (N, 1, D, D, D); without occupied voxels the centroids start at the grid's centre."""
    out = []
    for i in range(len(shape_codes)):
        points, inside = _observed_points(occupied[i, 0], free[i, 0])
        poses = _candidate_poses(points, inside, turns, generator)        # (P, 9)
        loss = pair_losses(net, points, inside, shape_codes[i], poses, free_weight,
                           prior_weight, generator).flatten()
        best = loss.topk(min(keep, len(loss)), largest=False).indices
        out.append(torch.cat([poses[best % len(poses)], shape_codes[i][best // len(poses)]], 1))
    return torch.stack(out)


@torch.no_grad()
def pair_losses(net: nn.Module, points: torch.Tensor, inside: torch.Tensor,
                shape_codes: torch.Tensor, poses: torch.Tensor, free_weight: float,
                prior_weight: float, generator: torch.Generator) -> torch.Tensor:
    """Latent search's loss (S, P) of every code [pose, shape] for the observed voxel centres
    ``points`` (M, 3) (pose coordinates), ``inside`` (M,) where occupied, else free: from
    SWEEP_POINTS of them at most (drawn with ``generator``) when there are more."""
    share = min(1.0, SWEEP_POINTS / max(len(points), 1))
    if share < 1.0:
        chosen = torch.randperm(len(points), generator=generator)[:SWEEP_POINTS]
        points, inside = points[chosen], inside[chosen]
    logits = net.decode_shape_frame(shape_codes).contiguous()             # (S, 1, D, D, D)
    rotation, centroid = pose_from_code(poses)
    # u = R^T (p - c): each observed point in the shape frame of each pose, (P, M, 3)
    local = torch.einsum("pji,pmj->pmi", rotation, points[None] - centroid[:, None])
    weight = torch.where(inside, 1.0, free_weight) / share
    losses = []
    for s in range(len(shape_codes)):
        sampled = F.grid_sample(logits[s:s + 1], local[None, :, :, None, :], mode="bilinear",
                                padding_mode="border", align_corners=False)[0, 0, :, :, 0]
        nll = torch.where(inside, F.softplus(-sampled), F.softplus(sampled)) * weight
        losses.append(nll.sum(1))
    prior = shape_codes.pow(2).sum(1)[:, None] + poses.pow(2).sum(1)[None]
    return torch.stack(losses) + 0.5 * prior_weight * prior


def _observed_points(occupied: torch.Tensor,
                     free: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centres (M, 3) of the observed voxels of (D, D, D) grids in the pose coordinates
    (x along the last axis, trainer.pose) and whether each is occupied (M,)."""
    observed = (occupied > 0) | (free > 0)
    index = observed.nonzero()                                            # (M, 3): d, h, w
    centres = (index.flip(1).float() + 0.5) * (2.0 / occupied.shape[-1]) - 1.0
    return centres, occupied[observed] > 0


def _candidate_poses(points: torch.Tensor, inside: torch.Tensor, turns: int,
                     generator: torch.Generator) -> torch.Tensor:
    """Pose codes (turns x len(CENTROID_STEPS), 9): random rotations crossed with centroids
    behind the observed surface (module docstring)."""
    surface = points[inside].mean(0) if inside.any() else torch.zeros(3)
    away = surface - points[~inside].mean(0) if (~inside).any() else torch.zeros(3)
    away = F.normalize(away, dim=0)
    centroids = torch.stack([surface + step * away for step in CENTROID_STEPS])
    rotation, _ = pose_from_code(torch.randn((turns, 9), generator=generator))
    return pose_code(rotation.repeat_interleave(len(centroids), 0), centroids.repeat(turns, 1))
