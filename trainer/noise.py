"""Input corruption for the denoising VAE (Im et al., 2017).

The encoder sees a corrupted copy x~ ~ p(x~ | x) of each training grid; the decoder is scored on
reconstructing the clean x. Validation always encodes clean grids.

- flip: every voxel is flipped (y -> 1 - y) with probability p (Bernoulli / salt-and-pepper).
- dropout: every occupied voxel is cleared with probability p (y -> 0); empty voxels stay empty.
- gaussian: y + level * N(0, 1) per voxel, for continuous grids.
"""

from __future__ import annotations

import torch

from trainer.config import NOISE_MODELS


def draw_noise(model: str, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """The random field a corruption needs, drawn on the CPU from `generator`:
    uniform in [0, 1) for flip and dropout, standard normal for gaussian."""
    if model == "gaussian":
        return torch.randn(shape, generator=generator)
    if model in ("flip", "dropout"):
        return torch.rand(shape, generator=generator)
    raise ValueError(f"noise must be one of {NOISE_MODELS[1:]}, got {model!r}")


def corrupt(y: torch.Tensor, model: str, level: float, field: torch.Tensor) -> torch.Tensor:
    """A corrupted copy of grids `y` (never modified) from the random `field` (see draw_noise)."""
    field = field.to(y.device, y.dtype)
    if model == "flip":
        return torch.where(field < level, 1 - y, y)
    if model == "dropout":
        return torch.where(field < level, torch.zeros_like(y), y)
    if model == "gaussian":
        return y + level * field
    raise ValueError(f"noise must be one of {NOISE_MODELS[1:]}, got {model!r}")
