"""Validation metrics: reconstruction quality and the latent statistics of q(z|y)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from trainer.grid_values import OCCUPANCY_LEVEL

ACTIVE_UNIT_THRESHOLD = 0.01
ACTIVE_VARIABLE_NATS = 0.01
"""A categorical variable is active when it carries more information than this about y."""


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


@dataclass(frozen=True)
class CategoricalStats:
    """Statistics of the categorical posteriors q(z_k | y) over a set of shapes (nats).

    The Gaussian mean(mu) / Var(mu) have no meaning here; instead, per variable k:
    - entropy: the mean posterior entropy E_y H(q(z_k|y)), 0 for a confident encoder, log C when
      q is uniform;
    - perplexity: exp H(q_k) of the average posterior q_k = E_y q(z_k|y), the number of classes
      the data set actually uses (1..C);
    - mutual information I(y; z_k) = H(q_k) - E_y H(q(z_k|y)), the information the variable
      carries about the shape; it is active when I > ACTIVE_VARIABLE_NATS (the analogue of
      Var(mu_d) > 0.01 for Gaussian codes).
    """

    entropy_mean: float
    perplexity_per_var: tuple[float, ...]
    mutual_info_per_var: tuple[float, ...]
    active_units: int


def categorical_statistics(logits: torch.Tensor) -> CategoricalStats:
    """`logits`: (N, K, C) posterior logits for N shapes."""
    log_q = torch.log_softmax(logits.double(), dim=-1)
    q = log_q.exp()
    entropy = -(q * log_q).sum(dim=-1).mean(dim=0)                     # (K,)
    average = q.mean(dim=0)                                           # (K, C)
    marginal = -(average * torch.log(average.clamp(min=1e-300))).sum(dim=-1)
    information = (marginal - entropy).clamp(min=0.0)
    return CategoricalStats(
        entropy_mean=float(entropy.mean()),
        perplexity_per_var=tuple(marginal.exp().tolist()),
        mutual_info_per_var=tuple(information.tolist()),
        active_units=int((information > ACTIVE_VARIABLE_NATS).sum()),
    )


def reconstruction_scores(prediction: torch.Tensor, target: torch.Tensor,
                          signed: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-shape IoU and Hamming distance of occupancy probabilities (inside above 0.5), or of
    signed distances (`signed`: inside below 0)."""
    if signed:
        return iou_and_hamming(-prediction, -target, threshold=0.0)
    return iou_and_hamming(prediction, target)


def iou_and_hamming(prediction: torch.Tensor, target: torch.Tensor,
                    threshold: float = OCCUPANCY_LEVEL) -> tuple[torch.Tensor, torch.Tensor]:
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
