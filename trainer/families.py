"""Latent families: everything that differs between kinds of latent codes, one class each.

A family builds its model, draws the training noise, computes the training and validation
terms, names the latent statistics of the epoch report, samples the prior, traverses and
interpolates codes, and says how a person edits a code (a slider per dimension or a class
picker per variable). Code elsewhere asks the family instead of testing which kind a model is.

- ``LatentFamily`` (Gaussian): q(z|y) = N(mu, diag(exp(l))), prior N(0, I).
- ``PoseFamily``: Gaussian codes whose first POSE_DIMS dimensions hold the shape's pose.
- ``CategoricalFamily``: K categorical variables of C classes (Gumbel-softmax), uniform prior.
- ``PPCAFamily``: the linear-Gaussian PPCA baseline (a model kind with Gaussian codes).

Adding a family means adding one class here and registering it in ``FAMILIES``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from trainer.config import TrainConfig
from trainer.discrete import categorical_kl, gumbel_noise, gumbel_softmax, mode_code
from trainer.model import VAE, CategoricalVAE, reparameterise
from trainer.objective import LossTerms, elbo_terms, negative_elbo
from trainer.pose import POSE_DIMS
from trainer.ppca import PPCA
from trainer.report import EpochReport
from trainer.schedules import temperature_at
from trainer.stats import (
    ACTIVE_UNIT_THRESHOLD,
    ACTIVE_VARIABLE_NATS,
    categorical_statistics,
    latent_statistics,
)

INTERPOLATIONS = ("linear", "slerp")

Posterior = tuple[torch.Tensor, ...]
"""What an encoder returns for a batch: (mu, logvar) or (logits,)."""


@dataclass(frozen=True)
class Statistic:
    """A latent statistic of the epoch report, as a plot shows it.

    ``field`` names an EpochReport field; a tuple-valued field is plotted as its mean.
    """

    field: str
    title: str
    unit: str
    target: float | None = None

    def values(self, history: Sequence[EpochReport]) -> np.ndarray:
        """One value per report (NaN where the report has none)."""
        out = []
        for report in history:
            value = getattr(report, self.field)
            if isinstance(value, tuple):
                value = float(np.mean(value)) if value else None
            out.append(np.nan if value is None else value)
        return np.asarray(out, dtype=float)


@dataclass(frozen=True)
class UnitMeasure:
    """The per-unit measure (dimension or variable) the bar chart and sliders are labelled with."""

    field: str
    symbol: str
    unit: str
    threshold: float
    target: float | None = None

    def values(self, report: EpochReport | None, size: int) -> np.ndarray:
        """The last report's measure per unit, NaN where unknown."""
        measured = getattr(report, self.field) if report is not None else ()
        if len(measured) != size:
            return np.full(size, np.nan)
        return np.asarray(measured, dtype=np.float64)


class LatentFamily:
    """The Gaussian family's behaviour; subclasses override what differs."""

    name: ClassVar[str] = "gaussian"
    label: ClassVar[str] = "Gaussian"
    editor: ClassVar[str] = "slider"
    """How the Explore view edits one unit of a code: 'slider' or 'class'."""
    unit_name: ClassVar[str] = "dimension"
    unit_axis: ClassVar[str] = "latent dimension d"
    size_symbol: ClassVar[str] = "Q"
    interpolations: ClassVar[tuple[str, ...]] = INTERPOLATIONS
    statistics: ClassVar[tuple[Statistic, ...]] = (
        Statistic("mu_mean", "mean(μ) (target 0)", "mean(μ)", 0.0),
        Statistic("mu_var", "Var(μ) (target 1)", "Var(μ)", 1.0),
        Statistic("logvar_mean", "mean(log σ²)", "mean(log σ²)"),
        Statistic("active_units", f"Active units (Var(μ_d) > {ACTIVE_UNIT_THRESHOLD:g})", "units"),
    )
    measure: ClassVar[UnitMeasure] = UnitMeasure(
        "mu_var_per_dim", "Var(μ_d)", "", ACTIVE_UNIT_THRESHOLD, target=1.0)
    tempered_prior: ClassVar[bool] = True
    """Whether prior samples take a temperature T (z ~ N(0, T^2 I))."""
    pose_dims: ClassVar[int] = 0

    def __init__(self, config: TrainConfig) -> None:
        self.config = config

    # --- the model and training ---------------------------------------------------------------
    @property
    def code_dim(self) -> int:
        """Width of the codes the decoder takes."""
        return self.config.code_dim

    @property
    def units(self) -> int:
        """Sliders or class pickers: Q dimensions or K variables."""
        return self.config.latent_dim

    def build_model(self) -> nn.Module:
        return VAE.from_config(self.config)

    def noise(self, generator: torch.Generator, samples: int, n: int) -> torch.Tensor:
        """The training noise for n shapes, drawn on the CPU: (samples, n, width)."""
        return torch.randn((samples, n, self.config.latent_dim), generator=generator)

    def temperature(self, step: int) -> float | None:
        """The relaxation temperature at an optimisation step (None: the family has none)."""
        return None

    def training_terms(self, net: nn.Module, x: torch.Tensor, y: torch.Tensor,
                       eps: torch.Tensor, beta: float, temperature: float | None,
                       autocast: Any) -> LossTerms:
        """One batch's loss: encode the (possibly corrupted) inputs `x`, score against `y`."""
        cfg = self.config
        with autocast:
            logits, mu, logvar = net(x, cfg.samples, eps=eps)
        return negative_elbo(logits.float(), y, mu.float(), logvar.float(), cfg.likelihood,
                             beta, cfg.free_bits)

    def validation_terms(self, model: nn.Module, y: torch.Tensor, eps: torch.Tensor,
                         beta: float, temperature: float | None, autocast: Any
                         ) -> tuple[LossTerms, torch.Tensor, Posterior]:
        """Loss terms, the decoder output of the posterior's central code, and the posterior."""
        cfg = self.config
        with autocast:
            mu, logvar = model.encode(y)
            logits = model.decode(reparameterise(mu, logvar, cfg.samples, eps=eps))
            central = model.decode(mu).float()
        mu, logvar = mu.float(), logvar.float()
        terms = negative_elbo(logits.float(), y, mu, logvar, cfg.likelihood, beta, cfg.free_bits)
        return terms, central, (mu, logvar)

    def report_statistics(self, posterior: Posterior) -> dict[str, Any]:
        """The EpochReport fields of the latent statistics over the validation set."""
        g = latent_statistics(*posterior)
        return dict(mu_mean=g.mu_mean, mu_var=g.mu_var, logvar_mean=g.logvar_mean,
                    mu_mean_per_dim=g.mu_mean_per_dim, mu_var_per_dim=g.mu_var_per_dim,
                    active_units=g.active_units)

    # --- codes ---------------------------------------------------------------------------------
    def posterior(self, model: nn.Module, y: torch.Tensor) -> Posterior:
        """The encoder's posterior of grids `y`: (mu, logvar)."""
        return tuple(model.encode(y))

    def codes(self, posterior: Posterior) -> torch.Tensor:
        """The code a posterior stands for: its mean (or for classes, its mode)."""
        return posterior[0]

    def prior_samples(self, n: int, seed: int, temperature: float = 1.0) -> np.ndarray:
        """n codes z ~ N(0, T^2 I), reproducible for a seed: (n, code_dim)."""
        return prior_samples(n, self.code_dim, seed, temperature)

    def zero_code(self) -> np.ndarray:
        """The code at the centre of the prior."""
        return np.zeros(self.code_dim)

    def traversal_values(self, extent: float, steps: int) -> np.ndarray:
        """The values one unit takes in a traversal."""
        return np.linspace(-extent, extent, steps)

    def traverse(self, code: np.ndarray, unit: int, values: np.ndarray) -> np.ndarray:
        """Copies of `code` with unit `unit` set to each of `values`: (len(values), code_dim)."""
        return traverse(code, unit, values)

    def interpolate(self, z0: np.ndarray, z1: np.ndarray, steps: int,
                    method: str = "linear") -> np.ndarray:
        """`steps` codes from z0 to z1 by one of `interpolations`."""
        if method not in self.interpolations:
            raise ValueError(f"interpolation must be one of {self.interpolations} for "
                             f"{self.label} codes, got {method!r}")
        return interpolate(z0, z1, steps, method)

    def unit_names(self) -> tuple[str, ...]:
        """A name per unit beyond its index ('' for none)."""
        return ("",) * self.units

    # --- words -----------------------------------------------------------------------------------
    def latents(self) -> str:
        """The kind of latents, e.g. 'Gaussian latents (z0-z8 pose)'."""
        return "Gaussian latents"

    def short_name(self) -> str:
        """E.g. 'VAE (Q=16)', 'denoising VAE (Q=16)'."""
        return f"{self._denoising}VAE (Q={self.config.latent_dim})"

    @property
    def _denoising(self) -> str:
        return "denoising " if self.config.noise != "none" else ""


class PoseFamily(LatentFamily):
    """Gaussian codes whose first POSE_DIMS dimensions hold each shape's pose (trainer.pose)."""

    name = "pose"
    label = "Gaussian with pose"
    pose_dims = POSE_DIMS

    def unit_names(self) -> tuple[str, ...]:
        return POSE_NAMES + ("",) * (self.units - POSE_DIMS)

    def latents(self) -> str:
        return f"Gaussian latents (z0-z{POSE_DIMS - 1} pose)"


POSE_NAMES = ("axis 1 x", "axis 1 y", "axis 1 z", "axis 2 x", "axis 2 y", "axis 2 z",
              "shift x", "shift y", "shift z")
"""Names of a pose-aware model's leading dimensions: two axes that Gram-Schmidt turns into the
shape's rotation, and its position."""


class CategoricalFamily(LatentFamily):
    """K categorical variables of C classes, relaxed by Gumbel-softmax; uniform prior."""

    name = "categorical"
    label = "categorical"
    editor = "class"
    unit_name = "variable"
    unit_axis = "categorical variable k"
    size_symbol = "K"
    interpolations = ("linear",)   # slerp would leave the simplex
    statistics = (
        Statistic("entropy_mean", "Mean entropy of q(z_k|y)", "nats"),
        Statistic("perplexity_per_var", "Mean perplexity (classes in use)", "classes"),
        Statistic("mutual_info_per_var", "Mean information I(y; z_k)", "nats"),
        Statistic("active_units", f"Active variables (I > {ACTIVE_VARIABLE_NATS:g} nats)",
                  "variables"),
    )
    measure = UnitMeasure("mutual_info_per_var", "I(y; z_k)", "nats", ACTIVE_VARIABLE_NATS)
    tempered_prior = False

    @property
    def classes(self) -> int:
        return self.config.categorical_classes

    def build_model(self) -> nn.Module:
        return CategoricalVAE.from_config(self.config)

    def noise(self, generator: torch.Generator, samples: int, n: int) -> torch.Tensor:
        return gumbel_noise((samples, n, self.code_dim), generator)

    def temperature(self, step: int) -> float | None:
        return temperature_at(self.config, step)

    def training_terms(self, net: nn.Module, x: torch.Tensor, y: torch.Tensor,
                       eps: torch.Tensor, beta: float, temperature: float | None,
                       autocast: Any) -> LossTerms:
        cfg = self.config
        with autocast:
            logits, q_logits = net(x, cfg.samples, eps=eps, temperature=temperature,
                                   hard=cfg.straight_through)
        return elbo_terms(logits.float(), y, categorical_kl(q_logits.float()), cfg.likelihood,
                          beta, cfg.free_bits)

    def validation_terms(self, model: nn.Module, y: torch.Tensor, eps: torch.Tensor,
                         beta: float, temperature: float | None, autocast: Any
                         ) -> tuple[LossTerms, torch.Tensor, Posterior]:
        cfg = self.config
        with autocast:
            q_logits = model.encode(y)
            relaxed = gumbel_softmax(q_logits.repeat(cfg.samples, 1, 1),
                                     eps.view(-1, cfg.latent_dim, self.classes),
                                     temperature, cfg.straight_through)
            logits = model.decode(relaxed.flatten(1))
            central = model.decode(mode_code(q_logits)).float()
        q_logits = q_logits.float()
        terms = elbo_terms(logits.float(), y, categorical_kl(q_logits), cfg.likelihood, beta,
                           cfg.free_bits)
        return terms, central, (q_logits,)

    def report_statistics(self, posterior: Posterior) -> dict[str, Any]:
        c = categorical_statistics(posterior[0])
        return dict(mu_mean=None, mu_var=None, logvar_mean=None, mu_mean_per_dim=(),
                    mu_var_per_dim=(), active_units=c.active_units, entropy_mean=c.entropy_mean,
                    perplexity_per_var=c.perplexity_per_var,
                    mutual_info_per_var=c.mutual_info_per_var)

    def posterior(self, model: nn.Module, y: torch.Tensor) -> Posterior:
        """The posterior logits (B, K, C)."""
        return (model.encode(y),)

    def codes(self, posterior: Posterior) -> torch.Tensor:
        return mode_code(posterior[0])

    def prior_samples(self, n: int, seed: int, temperature: float = 1.0) -> np.ndarray:
        """n codes of uniformly drawn classes, one-hot (the temperature does not apply)."""
        if n < 0:
            raise ValueError("n must be non-negative")
        drawn = np.random.default_rng(seed).integers(0, self.classes,
                                                     size=(n, self.config.latent_dim))
        return one_hot_codes(drawn, self.classes)

    def zero_code(self) -> np.ndarray:
        """Every variable at class 0."""
        return one_hot_codes(np.zeros(self.units, dtype=np.int64), self.classes)

    def traversal_values(self, extent: float, steps: int) -> np.ndarray:
        """Every class of the variable in turn."""
        return np.arange(self.classes)

    def traverse(self, code: np.ndarray, unit: int, values: np.ndarray) -> np.ndarray:
        """Copies of `code` with variable `unit` switched to each of the classes `values`."""
        classes = np.repeat(self.classes_of(code)[None], len(values), axis=0)
        classes[:, unit] = values
        return one_hot_codes(classes, self.classes)

    def classes_of(self, codes: np.ndarray) -> np.ndarray:
        """The most weighted class of every variable: (..., K) from codes (..., K x C)."""
        codes = np.asarray(codes, dtype=np.float64)
        return codes.reshape(*codes.shape[:-1], self.units, self.classes).argmax(axis=-1)

    def latents(self) -> str:
        return "categorical latents"

    def short_name(self) -> str:
        return f"{self._denoising}discrete VAE ({self.config.latent_dim} x {self.classes})"


class PPCAFamily(LatentFamily):
    """Probabilistic PCA: Gaussian codes decoded linearly; fitted in closed form, not trained."""

    name = "ppca"
    label = "PPCA"

    def build_model(self) -> nn.Module:
        return PPCA.from_config(self.config)

    def latents(self) -> str:
        return "linear Gaussian latents"

    def short_name(self) -> str:
        return f"PPCA (Q={self.config.latent_dim})"


FAMILIES: dict[str, type[LatentFamily]] = {
    f.name: f for f in (LatentFamily, PoseFamily, CategoricalFamily, PPCAFamily)}


def family_of(config: TrainConfig, kind: str = "vae") -> LatentFamily:
    """The family of a model of this config and kind ('vae' or 'ppca')."""
    if kind == "ppca":
        return PPCAFamily(config)
    if config.latent == "categorical":
        return CategoricalFamily(config)
    return PoseFamily(config) if config.uses_pose else LatentFamily(config)


def family_named(name: str) -> type[LatentFamily]:
    """The family class a report names (unknown names: Gaussian)."""
    return FAMILIES.get(name, LatentFamily)


def prior_samples(n: int, width: int, seed: int, temperature: float = 1.0) -> np.ndarray:
    """n codes z ~ N(0, T^2 I), reproducible for a given seed: (n, width)."""
    if n < 0 or not temperature >= 0:
        raise ValueError("n and temperature must be non-negative")
    return temperature * np.random.default_rng(seed).standard_normal((n, width))


def traverse(z: np.ndarray, dim: int, values: np.ndarray) -> np.ndarray:
    """Copies of code `z` with dimension `dim` set to each of `values`: (K, Q)."""
    codes = np.repeat(np.asarray(z, dtype=np.float64)[None], len(values), axis=0)
    codes[:, dim] = values
    return codes


def one_hot_codes(classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Class indices (..., K) -> flattened one-hot codes (..., K x C), float64."""
    classes = np.asarray(classes, dtype=np.int64)
    if classes.size and (classes.min() < 0 or classes.max() >= n_classes):
        raise ValueError(f"classes must lie in 0..{n_classes - 1}")
    codes = np.eye(n_classes)[classes]
    return codes.reshape(*classes.shape[:-1], classes.shape[-1] * n_classes)


def interpolate(z0: np.ndarray, z1: np.ndarray, steps: int, method: str = "linear") -> np.ndarray:
    """`steps` codes from z0 to z1 inclusive, linearly or along the great circle (slerp): (K, Q).

    Slerp interpolates direction spherically and norm linearly, which keeps codes at the norm a
    Gaussian prior expects instead of cutting through the low-density centre.
    """
    if steps < 2:
        raise ValueError("an interpolation needs at least 2 steps")
    if method not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {method!r}")
    z0, z1 = np.asarray(z0, dtype=np.float64), np.asarray(z1, dtype=np.float64)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    if method == "linear":
        return (1 - t) * z0 + t * z1
    n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
    if n0 < 1e-12 or n1 < 1e-12:
        return (1 - t) * z0 + t * z1
    u0, u1 = z0 / n0, z1 / n1
    omega = np.arccos(np.clip(u0 @ u1, -1.0, 1.0))
    if omega < 1e-6:
        direction = (1 - t) * u0 + t * u1
    else:
        direction = (np.sin((1 - t) * omega) * u0 + np.sin(t * omega) * u1) / np.sin(omega)
    return direction * ((1 - t) * n0 + t * n1)
