"""Validation metrics: reconstruction quality and the latent statistics of q(z|y)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

ACTIVE_UNIT_THRESHOLD = 0.01


@dataclass(frozen=True)
class LatentStats:
    """Statistics of the encoder's means and log-variances over a set of shapes.

    With a well-fitted posterior and prior N(0, I): mu_mean -> 0, mu_var -> 1, logvar_mean small.
    A dimension is active when Cov_y(E[z_d]) = Var_y(mu_d) > 0.01 (Burda et al. 2016).
    """

    mu_mean: float
    mu_var: float
    logvar_mean: float
    mu_mean_per_dim: tuple[float, ...]
    mu_var_per_dim: tuple[float, ...]
    active_units: int


def latent_statistics(mu: torch.Tensor, logvar: torch.Tensor) -> LatentStats:
    """`mu`, `logvar`: (N, Q) for N shapes. Variances are population variances over shapes."""
    mu, logvar = mu.double(), logvar.double()
    mean_d = mu.mean(dim=0)
    var_d = mu.var(dim=0, unbiased=False)
    return LatentStats(
        mu_mean=float(mean_d.mean()),
        mu_var=float(var_d.mean()),
        logvar_mean=float(logvar.mean()),
        mu_mean_per_dim=tuple(mean_d.tolist()),
        mu_var_per_dim=tuple(var_d.tolist()),
        active_units=int((var_d > ACTIVE_UNIT_THRESHOLD).sum()),
    )


def iou_and_hamming(prediction: torch.Tensor, target: torch.Tensor,
                    threshold: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-shape IoU and normalised Hamming distance of grids binarised at `threshold`.

    `prediction` holds probabilities (or continuous values) shaped like `target` (B, 1, D, D, D).
    IoU of two empty grids counts as 1. Hamming distance is the fraction of differing voxels.
    """
    pred = (prediction > threshold).flatten(1)
    true = (target > threshold).flatten(1)
    intersection = (pred & true).sum(dim=1).double()
    union = (pred | true).sum(dim=1).double()
    iou = torch.where(union > 0, intersection / union.clamp(min=1), torch.ones_like(union))
    hamming = (pred ^ true).double().mean(dim=1)
    return iou, hamming
