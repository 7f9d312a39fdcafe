"""Baselines for shape completion.

- Naive: the VAE's own encoder on the partial input (its occupied voxels as a grid), decoded.
- Mean: the mean training shape, cut at the level that gives it the training shapes' mean
  volume (a plain 0.5 cut of randomly posed shapes is often empty).
- Supervised: a completion encoder trained against the complete shapes
  (``CompletionConfig(target="complete")``, trainer.completion.amortised): an upper bound that
  needs complete shapes for its partial training data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from trainer.budgets import DECODE_BATCH
from trainer.completion.observation import Observation
from trainer.perf import MEMORY_FORMAT


@torch.no_grad()
def naive_codes(vae: nn.Module, observations: Sequence[Observation]) -> np.ndarray:
    """The VAE encoder's posterior means of the occupied voxels: (N, Q) float64."""
    vae.eval()
    out = []
    for i in range(0, len(observations), DECODE_BATCH):
        grids = np.stack([o.occupied for o in observations[i:i + DECODE_BATCH]])
        x = torch.from_numpy(grids[:, None].astype(np.float32))
        out.append(vae.encode(x.contiguous(memory_format=MEMORY_FORMAT))[0])
    return torch.cat(out).double().numpy() if out else np.zeros((0, vae.latent_dim))


def mean_shape(training_grids: np.ndarray) -> np.ndarray:
    """The boolean mean shape (D, D, D) of boolean training grids (N, D, D, D): the voxels of
    highest mean occupancy, as many as a training shape holds on average."""
    grids = np.asarray(training_grids, dtype=bool)
    mean = grids.mean(axis=0)
    volume = round(float(grids.reshape(len(grids), -1).sum(1).mean()))
    if volume == 0:
        return np.zeros_like(mean, dtype=bool)
    level = np.sort(mean.ravel())[::-1][volume - 1]
    return mean >= level
