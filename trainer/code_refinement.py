"""Codes refined past the encoder: each shape's most probable code under the model.

The encoder's posterior mean is an amortised guess; on shapes it has not seen it falls short of
what the decoder can draw (the amortisation gap). Refining starts from that mean and follows
Adam on -log p(y | z) - log p(z) with the whole grid observed: maximum-likelihood completion
(trainer.completion.latent_search) of a complete shape, one start per shape, no pose sweep.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from trainer.completion.latent_search import SearchSettings, latent_search
from trainer.completion.likelihood import check_completable
from trainer.completion.observation import Observation
from trainer.config import TrainConfig
from trainer.errors import ConfigError, ShapeExplorerError

REFINE_BATCH = 32
"""Shapes refined together (the backward pass holds their decoder activations)."""
MAX_REFINE_STEPS = 1000
REFINE_LR = 0.1


def refusal(config: TrainConfig, kind: str) -> str | None:
    """Why codes of this model cannot be refined, or None when they can."""
    try:
        check_completable(config, kind, task="refining codes")
    except ShapeExplorerError as exc:
        return str(exc)
    return None


def check_refinable(config: TrainConfig, kind: str, steps: int) -> None:
    """ShapeExplorerError unless ``steps`` (0: no refinement) suits this model."""
    if not 0 <= steps <= MAX_REFINE_STEPS:
        raise ConfigError(f"refinement steps must be 0..{MAX_REFINE_STEPS}, got {steps}")
    if steps:
        check_completable(config, kind, task="refining codes")


def refine_codes(model: nn.Module, shapes: np.ndarray, steps: int) -> np.ndarray:
    """The refined codes (N, Q) of boolean grids ``shapes`` (N, D, D, D), REFINE_BATCH shapes
    at a time (gradients on, whatever the caller's mode)."""
    settings = SearchSettings(steps=steps, candidates=1, restarts=1, sweep_shapes=0,
                              lr=REFINE_LR)
    out = []
    for start in range(0, len(shapes), REFINE_BATCH):
        part = np.asarray(shapes[start:start + REFINE_BATCH], dtype=bool)
        with torch.enable_grad():
            out.append(latent_search(model, [Observation(g, ~g, "file") for g in part],
                                     settings))
    return np.concatenate(out) if out else np.zeros((0, model.latent_dim))
