"""A density fitted to the codes of the training shapes, to sample from instead of the prior.

A VAE's aggregate posterior (the codes of its training shapes) often fills N(0, I) unevenly:
prior samples then land where no shape's code lies and decode to holes. Ex-post density
estimation (Ghosh et al. 2020) fits a simple density to the training codes and samples that: here
a full-covariance Gaussian of the posterior means of each class, mixed by the classes' shares
(one Gaussian for a data set of one class).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

JITTER = 1e-6
"""Added to the covariance's diagonal (relative to its mean variance) so it factorises."""


@dataclass(frozen=True)
class FittedGaussian:
    """N(mean, L L^T) fitted to codes; ``scale`` is the Cholesky factor L."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, codes: np.ndarray) -> FittedGaussian:
        """The maximum-likelihood Gaussian of codes (N, Q), N >= 2."""
        codes = np.asarray(codes, dtype=np.float64)
        if codes.ndim != 2 or len(codes) < 2:
            raise ValueError("fitting a density needs at least 2 codes, shaped (N, Q)")
        mean = codes.mean(axis=0)
        cov = np.cov(codes, rowvar=False, bias=True).reshape(len(mean), len(mean))
        cov += np.eye(len(mean)) * JITTER * max(float(np.trace(cov)) / len(mean), 1e-12)
        return cls(mean, np.linalg.cholesky(cov))

    @property
    def covariance(self) -> np.ndarray:
        return self.scale @ self.scale.T

    def sample(self, n: int, seed: int, temperature: float = 1.0) -> np.ndarray:
        """n codes mean + T L eps, eps ~ N(0, I), reproducible for a seed: (n, Q). A lower
        temperature T keeps them nearer the mean, where the training codes are densest."""
        if n < 0 or not temperature >= 0:
            raise ValueError("n and temperature must be non-negative")
        eps = np.random.default_rng(seed).standard_normal((n, len(self.mean)))
        return self.mean + temperature * eps @ self.scale.T


@dataclass(frozen=True)
class FittedMixture:
    """A mixture of one Gaussian per class, weighted by the classes' shares of the codes.

    Each class's covariance is shrunk toward the covariance of all codes, by Q / (n + Q) for a
    class of n codes in Q dimensions, so small classes still get a well-conditioned Gaussian.
    """

    weights: np.ndarray
    components: tuple[FittedGaussian, ...]

    @classmethod
    def fit(cls, codes: np.ndarray, labels: np.ndarray) -> FittedMixture:
        """Components for the classes of ``labels`` (N,) with at least 2 codes (N, Q)."""
        codes = np.asarray(codes, dtype=np.float64)
        pooled = FittedGaussian.fit(codes).covariance
        q = codes.shape[1]
        weights, components = [], []
        for label in np.unique(labels):
            members = codes[labels == label]
            if len(members) < 2:
                continue
            own = np.cov(members, rowvar=False, bias=True).reshape(q, q)
            shrink = q / (len(members) + q)
            cov = (1 - shrink) * own + shrink * pooled
            weights.append(len(members))
            components.append(FittedGaussian(members.mean(axis=0), np.linalg.cholesky(cov)))
        if not components:
            raise ValueError("fitting a mixture needs a class with at least 2 codes")
        return cls(np.asarray(weights, dtype=np.float64) / sum(weights), tuple(components))

    def sample(self, n: int, seed: int, temperature: float = 1.0) -> np.ndarray:
        """n codes: a component drawn by weight, then mean + T L eps (see FittedGaussian)."""
        if n < 0 or not temperature >= 0:
            raise ValueError("n and temperature must be non-negative")
        rng = np.random.default_rng(seed)
        which = rng.choice(len(self.components), size=n, p=self.weights)
        eps = rng.standard_normal((n, len(self.components[0].mean)))
        out = np.empty_like(eps)
        for k, part in enumerate(self.components):
            rows = which == k
            out[rows] = part.mean + temperature * eps[rows] @ part.scale.T
        return out
