"""Plain-data reports a training run emits: one per epoch and one per batch."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EpochReport:
    """Everything measured in one epoch; floats and tuples only, safe to send across threads.

    `beta` and `temperature` are the KL weight and Gumbel-softmax temperature of the epoch's
    last step (the values validation used). `family` names the latent family
    (trainer.families), which says which statistics the report holds: the Gaussian ones
    (mu_*, logvar_mean) or the categorical ones (entropy_mean, perplexity_per_var,
    mutual_info_per_var, see trainer.stats.CategoricalStats); the others are None (or empty
    tuples), as is `temperature` for Gaussian latents. `latent_dim` is Q, or the number K of
    categorical variables; `active_units` counts either kind.
    """

    epoch: int
    train_loss: float
    train_recon: float
    train_kl: float
    val_loss: float
    val_recon: float
    val_kl: float
    val_iou: float
    val_hamming: float
    mu_mean: float | None
    mu_var: float | None
    logvar_mean: float | None
    mu_mean_per_dim: tuple[float, ...]
    mu_var_per_dim: tuple[float, ...]
    active_units: int
    latent_dim: int
    lr: float
    samples_per_s: float
    elapsed_s: float
    beta: float | None = None
    temperature: float | None = None
    entropy_mean: float | None = None
    perplexity_per_var: tuple[float, ...] = ()
    mutual_info_per_var: tuple[float, ...] = ()
    family: str = "gaussian"

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EpochReport:
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING}
        missing = required - set(values)
        if missing:
            raise ValueError(f"report lacks {sorted(missing)}")
        kept = {k: tuple(v) if isinstance(v, list) else v
                for k, v in values.items() if k in names}
        if "family" not in kept and kept.get("mutual_info_per_var"):
            kept["family"] = "categorical"     # reports written before the family was named
        return cls(**kept)


@dataclass(frozen=True)
class BatchProgress:
    """Sent after every optimisation step."""

    epoch: int
    batch: int
    batches: int
    loss: float
    elapsed_s: float
