"""The likelihood of a partial observation under decoded grids: the Bernoulli negative
log-likelihood of the observed voxels only (occupied -> 1, free -> 0), unknown voxels ignored.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from trainer.config import TrainConfig
from trainer.errors import ShapeExplorerError


def observed_nll(logits: torch.Tensor, occupied: torch.Tensor, free: torch.Tensor,
                 free_weight: float = 1.0) -> torch.Tensor:
    """Per-grid negative log-likelihood in nats, summed over the observed voxels:
    sum(occupied * -log p + free_weight * free * -log(1 - p)) with p = sigmoid(logits).

    ``logits`` (B, 1, D, D, D) or (B, D, D, D); ``occupied`` and ``free`` (0/1 or boolean) of
    the same shape, or one grid's (broadcast over B). Returns (B,). A free-space weight below 1
    trusts free space less than surface points (noisy scans).
    """
    logits = logits.float()
    occupied = occupied.to(logits.dtype)
    free = free.to(logits.dtype)
    per_voxel = occupied * F.softplus(-logits) + free_weight * free * F.softplus(logits)
    return per_voxel.flatten(1).sum(1) if per_voxel.dim() > 1 else per_voxel.sum()


def check_completable(config: TrainConfig, kind: str = "vae", task: str = "completion") -> None:
    """Raise ShapeExplorerError unless the model of this config and kind decodes Bernoulli
    logits of occupancy grids from Gaussian codes: what latent search needs (``task`` names
    the work in the message)."""
    if kind != "vae":
        raise ShapeExplorerError(f"{task} needs a VAE; this file holds a PPCA model")
    if config.grid != "occupancy":
        raise ShapeExplorerError(f"{task} works on occupancy grids; this model decodes "
                                 "signed distances")
    if config.likelihood != "bernoulli":
        raise ShapeExplorerError(f"{task} needs a Bernoulli (occupancy probability) model; "
                                 f"this one has a {config.likelihood} likelihood")
    if config.latent != "gaussian":
        raise ShapeExplorerError(f"{task} needs Gaussian latent codes; this model has "
                                 f"{config.latent} ones")
