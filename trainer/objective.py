"""The negative ELBO: reconstruction NLL + beta * KL(q(z|y) || N(0, I)), per shape."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Analytic KL(N(mu, diag(exp(logvar))) || N(0, I)) per shape: 0.5*sum(mu^2+e^l-l-1)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=1)


def reconstruction_nll(logits: torch.Tensor, target: torch.Tensor, likelihood: str) -> torch.Tensor:
    """Negative log-likelihood per shape, summed over voxels.

    'bernoulli': binary cross-entropy on logits (occupancy grids).
    'gaussian': sum of squared errors of the decoder output (continuous grids; unit variance,
    constants dropped).
    """
    if likelihood == "bernoulli":
        per_voxel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    elif likelihood == "gaussian":
        per_voxel = (logits - target).pow(2)
    else:
        raise ValueError(f"unknown likelihood {likelihood!r}")
    return per_voxel.flatten(1).sum(dim=1)


@dataclass(frozen=True)
class LossTerms:
    """Batch means of the per-shape terms; `loss` keeps the graph for backward."""

    loss: torch.Tensor
    recon: float
    kl: float


def negative_elbo(logits: torch.Tensor, target: torch.Tensor, mu: torch.Tensor,
                  logvar: torch.Tensor, likelihood: str, beta: float) -> LossTerms:
    """loss = mean over shapes of (recon averaged over the L samples + beta * KL).

    `logits` holds L samples per shape, sample-major (as VAE.forward returns them).
    """
    samples = logits.shape[0] // target.shape[0]
    recon = reconstruction_nll(logits, target.repeat(samples, 1, 1, 1, 1), likelihood)
    recon = recon.view(samples, -1).mean(dim=0)
    kl = kl_to_standard_normal(mu, logvar)
    loss = (recon + beta * kl).mean()
    return LossTerms(loss=loss, recon=float(recon.detach().mean()), kl=float(kl.detach().mean()))
