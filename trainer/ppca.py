"""Probabilistic PCA (Tipping & Bishop 1999): the closed-form linear-Gaussian baseline.

The model is y = W z + m + noise with z ~ N(0, I_Q) and noise ~ N(0, sigma^2 I_D) on the
flattened grids (D = resolution^3). Its maximum-likelihood fit, with the eigenvalues
lambda_1 >= ... >= lambda_D of the sample covariance S and eigenvectors U_Q of the top Q:

    sigma^2 = mean of the D - Q discarded eigenvalues,
    W = U_Q (Lambda_Q - sigma^2 I)^(1/2).

With N shapes < D voxels the eigenpairs come from the N x N Gram matrix of the centred data
(eigenvalues g_i = N lambda_i, u_i = X_c^T v_i / sqrt(g_i)), else from the D x D covariance;
both exactly, in float64, a block of columns (or rows) at a time.

The posterior is q(z | y) = N(M^-1 W^T (y - m), sigma^2 M^-1) with M = W^T W + sigma^2 I
(diagonal for W above). Shapes are reconstructed from the posterior mean, W <z> + m, like the
VAE's decode(mu); decoded values are clipped to [0, 1] and read as occupancy probabilities (or
kept as signed distances). The squared error of that reconstruction per shape is
sum_{j>Q} lambda_j (the PCA optimum, the orthogonal projection's) + sum_{i<=Q} sigma^4 / lambda_i.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.linalg import eigh
from torch import nn

from trainer.config import TrainConfig
from trainer.data.shapeset import ShapeSet
from trainer.errors import DataError
from trainer.stats import reconstruction_scores

_BLOCK_BYTES = 2**26       # float64 working block (64 MiB) while forming the Gram matrix
_MIN_SIGMA2 = 1e-12        # keeps the posterior finite for data of rank <= Q
_EVAL_BATCH = 256


@dataclass(frozen=True)
class PPCAReport:
    """What a fit measured, as plain data. `val_sse` is the mean over validation shapes of the
    summed squared error of the posterior-mean reconstruction; `mu_var_per_dim` the variance of
    the posterior means over validation shapes (the analogue of the VAE's Var(mu_d))."""

    latent_dim: int
    train_shapes: int
    val_shapes: int
    sigma2: float
    explained_variance: float
    val_sse: float
    val_iou: float
    val_hamming: float
    mu_var_per_dim: tuple[float, ...]
    fit_s: float

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PPCAReport:
        """From plain values; a missing or non-numeric entry raises KeyError or ValueError."""
        report = cls(**{f.name: tuple(values[f.name]) if isinstance(values[f.name], list)
                        else values[f.name] for f in dataclasses.fields(cls)})
        for f in dataclasses.fields(cls):
            value = getattr(report, f.name)
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for v in (value if isinstance(value, tuple) else (value,))):
                raise ValueError(f"PPCA report field {f.name} must be numeric, got {value!r}")
        return report


class PPCA(nn.Module):
    """A fitted PPCA as a model with the VAE's interface: encode -> (mu, logvar), decode.

    Buffers: `weight` W (D, Q), `mean` m (D,), `sigma2` (a 0-d tensor).
    """

    def __init__(self, resolution: int, latent_dim: int, dtype: torch.dtype = torch.float32
                 ) -> None:
        super().__init__()
        self.resolution, self.latent_dim = resolution, latent_dim
        voxels = resolution**3
        self.register_buffer("weight", torch.zeros(voxels, latent_dim, dtype=dtype))
        self.register_buffer("mean", torch.zeros(voxels, dtype=dtype))
        self.register_buffer("sigma2", torch.tensor(1.0, dtype=dtype))

    @classmethod
    def from_config(cls, config: TrainConfig) -> PPCA:
        return cls(config.resolution, config.latent_dim)

    def encode(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Grids (B, 1, D, D, D) -> posterior mean and log-variance, each (B, Q)."""
        w = self.weight
        m_inv = torch.linalg.inv(w.T @ w + self.sigma2 * torch.eye(self.latent_dim).to(w))
        centred = y.reshape(len(y), -1).to(w) - self.mean
        mu = centred @ w @ m_inv
        logvar = torch.log(self.sigma2 * torch.diagonal(m_inv)).expand_as(mu)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (B, Q) -> W z + m as grids (B, 1, D, D, D) (unclipped)."""
        d = self.resolution
        return (z.to(self.weight) @ self.weight.T + self.mean).view(-1, 1, d, d, d)


def ppca_config(config: TrainConfig) -> TrainConfig:
    """The config a PPCA file keeps: the data settings and latent size Q of `config` (for a
    categorical config, Q = its number of variables K), a Gaussian likelihood, no pose
    dimensions (PPCA is linear in the grid), defaults else."""
    keep = ("data", "resolution", "latent_dim", "seed", "val_fraction", "dataset_size", "grid",
            "sdf_truncation")
    return TrainConfig(**{k: getattr(config, k) for k in keep}, likelihood="gaussian",
                       pose="none")


def fit_ppca(grids: np.ndarray, latent_dim: int) -> tuple[PPCA, float]:
    """The maximum-likelihood PPCA of grids (N, 1, D, D, D) with Q = `latent_dim`, in float64,
    and the share of the data's variance its Q components explain."""
    n, resolution = len(grids), grids.shape[-1]
    x = grids.reshape(n, -1)
    voxels = x.shape[1]
    if not latent_dim < min(n, voxels):
        raise DataError(f"PPCA with latent size {latent_dim} needs more training shapes "
                        f"({n}) and voxels ({voxels}) than latent dimensions")
    mean, eigenvalues, components, total = _principal_components(x, latent_dim)
    sigma2 = max((total - float(eigenvalues.sum())) / (voxels - latent_dim), _MIN_SIGMA2)
    model = PPCA(resolution, latent_dim, dtype=torch.float64)
    scale = (eigenvalues - sigma2).clamp(min=0.0).sqrt()
    model.weight.copy_(components * scale)
    model.mean.copy_(mean)
    model.sigma2.fill_(sigma2)
    return model, float(eigenvalues.sum()) / max(total, 1e-300)


def fit_and_evaluate(config: TrainConfig, train: ShapeSet, val: ShapeSet
                     ) -> tuple[PPCA, PPCAReport]:
    """Fit on the training grids with Q = config.latent_dim and score the validation grids
    (IoU and Hamming distance of the posterior-mean reconstruction). The model is float32."""
    start = time.perf_counter()
    model, explained = fit_ppca(train.grids, config.latent_dim)
    fit_s = time.perf_counter() - start
    sse, ious, hams, mus = [], [], [], []
    signed = config.grid == "sdf"
    with torch.no_grad():
        for i in range(0, len(val), _EVAL_BATCH):
            y = torch.from_numpy(val.grids[i:i + _EVAL_BATCH]).double()
            mu, _ = model.encode(y)
            out = model.decode(mu)
            sse.append((out - y).pow(2).flatten(1).sum(dim=1))
            iou, ham = reconstruction_scores(out if signed else out.clamp(0, 1), y, signed)
            ious.append(iou)
            hams.append(ham)
            mus.append(mu)
    report = PPCAReport(
        latent_dim=config.latent_dim, train_shapes=len(train), val_shapes=len(val),
        sigma2=float(model.sigma2), explained_variance=explained,
        val_sse=float(torch.cat(sse).mean()), val_iou=float(torch.cat(ious).mean()),
        val_hamming=float(torch.cat(hams).mean()),
        mu_var_per_dim=tuple(torch.cat(mus).var(dim=0, unbiased=False).tolist()), fit_s=fit_s)
    return model.float(), report


def _principal_components(x: np.ndarray, q: int
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """Mean (D,), top-q covariance eigenvalues (q,) descending and eigenvectors (D, q), and the
    covariance's trace, of the rows of x (N, D), exactly in float64."""
    n, d = x.shape
    mean = torch.zeros(d, dtype=torch.float64)
    for block in _column_blocks(n, d):
        mean[block] = torch.from_numpy(x[:, block]).double().mean(dim=0)
    if d <= n:
        scatter = torch.zeros(d, d, dtype=torch.float64)
        for rows in _row_blocks(n, d):
            xc = torch.from_numpy(x[rows]).double() - mean
            scatter += xc.T @ xc
        values, vectors = eigh(scatter.numpy() / n, subset_by_index=[d - q, d - 1])
        order = np.argsort(values)[::-1]
        eigenvalues = torch.from_numpy(values[order].copy())
        components = torch.from_numpy(vectors[:, order].copy())
        return mean, eigenvalues, components, float(torch.trace(scatter)) / n
    gram = torch.zeros(n, n, dtype=torch.float64)
    for block in _column_blocks(n, d):
        xc = torch.from_numpy(x[:, block]).double() - mean[block]
        gram += xc @ xc.T
    values, vectors = eigh(gram.numpy(), subset_by_index=[n - q, n - 1])
    order = np.argsort(values)[::-1]
    g = torch.from_numpy(values[order].copy())
    v = torch.from_numpy(vectors[:, order].copy()) / g.clamp(min=1e-300).sqrt()
    components = torch.empty(d, q, dtype=torch.float64)
    for block in _column_blocks(n, d):
        xc = torch.from_numpy(x[:, block]).double() - mean[block]
        components[block] = xc.T @ v
    return mean, g / n, components, float(torch.trace(gram)) / n


def _column_blocks(n: int, d: int) -> list[slice]:
    step = max(1, _BLOCK_BYTES // (8 * n))
    return [slice(i, min(i + step, d)) for i in range(0, d, step)]


def _row_blocks(n: int, d: int) -> list[slice]:
    step = max(1, _BLOCK_BYTES // (8 * d))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]
