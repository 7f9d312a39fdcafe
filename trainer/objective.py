"""The negative ELBO: reconstruction NLL + beta * KL(q(z|y) || p(z)), per shape.

With free bits (Kingma et al. 2016) the KL of each latent dimension (or categorical variable),
averaged over the batch, is clamped below at lambda nats: dimensions under the floor get no
gradient pushing them further towards the prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Analytic KL(N(mu, diag(exp(logvar))) || N(0, I)) per shape: 0.5*sum(mu^2+e^l-l-1)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=1)


def gaussian_kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The same KL per shape and dimension, (B, Q)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)


def free_bits_kl(kl_per_dim: torch.Tensor, free_bits: float) -> torch.Tensor:
    """sum_d max(lambda, mean over the batch of KL_d): the KL term with free bits, a scalar."""
    return kl_per_dim.mean(dim=0).clamp(min=free_bits).sum()


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
                  logvar: torch.Tensor, likelihood: str, beta: float,
                  free_bits: float = 0.0) -> LossTerms:
    """loss = mean over shapes of (recon averaged over the L samples + beta * KL).

    `logits` holds L samples per shape, sample-major (as VAE.forward returns them).
    """
    if free_bits == 0:
        return elbo_terms(logits, target, kl_to_standard_normal(mu, logvar), likelihood, beta)
    return elbo_terms(logits, target, gaussian_kl_per_dim(mu, logvar), likelihood, beta,
                      free_bits)


def elbo_terms(logits: torch.Tensor, target: torch.Tensor, kl: torch.Tensor, likelihood: str,
               beta: float, free_bits: float = 0.0) -> LossTerms:
    """The negative ELBO from the KL per shape (B,), or per shape and dimension (B, Q).

    With `free_bits` > 0, `kl` must be per dimension; the reported KL is always the true one.
    """
    samples = logits.shape[0] // target.shape[0]
    recon = reconstruction_nll(logits, target.repeat(samples, 1, 1, 1, 1), likelihood)
    recon = recon.view(samples, -1).mean(dim=0)
    if free_bits > 0:
        if kl.ndim != 2:
            raise ValueError("free bits need the KL per latent dimension, shaped (B, Q)")
        loss = recon.mean() + beta * free_bits_kl(kl, free_bits)
    else:
        if kl.ndim == 2:
            kl = kl.sum(dim=1)
        loss = (recon + beta * kl).mean()
    kl_mean = kl.detach().sum(dim=1).mean() if kl.ndim == 2 else kl.detach().mean()
    return LossTerms(loss=loss, recon=float(recon.detach().mean()), kl=float(kl_mean))
