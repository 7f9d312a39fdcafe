"""Scans of shapes drawn from the VAE's prior, each paired with the code that drew it: a target
for the completion encoder that needs no complete shape (the sleep phase of Hinton et al.'s
wake-sleep algorithm).

Codes z ~ N(0, I) decode through the frozen decoder into shapes the prior believes in; a
simulated observation of such a shape has a known code, so the encoder can regress it directly
instead of finding it only through the observed voxels' likelihood, whose landscape over a
pose-aware decoder has many poor local optima. Empty decoded shapes are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from trainer.budgets import DECODE_BATCH
from trainer.completion.observation import simulate
from trainer.pose import POSE_DIMS, ROTATION_SCALE, pose_code, pose_from_code

POOL_BYTES = 64 * 2**20
"""The packed observations of one pool may take at most this much memory (8,192 at 32^3,
1,024 at 64^3)."""
AXIS_WEIGHT = 4.0
"""Weight of each rotation axis's misalignment (1 - cos^2 of the angle) in the regression loss:
an axis at right angles costs as much as a centroid off by two code units."""


@dataclass(frozen=True)
class PriorObservations:
    """``count`` observations (occupied and free voxels, bit-packed) and their codes."""

    packed: np.ndarray
    """(count, 2, ceil(D^3 / 8)) uint8."""
    codes: torch.Tensor
    """(count, Q) float32."""
    resolution: int

    def __len__(self) -> int:
        return len(self.codes)

    def channels(self, index: np.ndarray) -> torch.Tensor:
        """The encoder's input (len(index), 2, D, D, D) float32 of the observations at
        ``index``."""
        d = self.resolution
        bits = np.unpackbits(self.packed[index], axis=2, count=d ** 3)
        return torch.from_numpy(bits.reshape(len(index), 2, d, d, d).astype(np.float32))


def pool_size(requested: int, resolution: int) -> int:
    """``requested`` capped so that the pool stays within POOL_BYTES."""
    return min(requested, POOL_BYTES // (2 * _packed_bytes(resolution)))


def _packed_bytes(resolution: int) -> int:
    """Bytes of one bit-packed grid."""
    return (resolution ** 3 + 7) // 8


@torch.no_grad()
def draw_prior_observations(decoder: nn.Module, count: int, kinds: Sequence[str],
                            resolution: int, seed: int, *, pose: bool,
                            keep_going: Callable[[int, int], bool] = lambda done, count: True
                            ) -> PriorObservations | None:
    """``count`` codes from N(0, I) (pose coordinates normalised to a rotation's columns when
    ``pose``), their decoded shapes observed by a kind drawn from ``kinds`` each; the same
    arguments give the same pool. ``keep_going(done, count)`` hears the progress before every
    batch; None when it answers False."""
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng([seed, 77])
    codes = torch.randn((count, decoder.latent_dim), generator=generator)
    if pose:
        codes[:, :POSE_DIMS] = pose_code(*pose_from_code(codes[:, :POSE_DIMS]))
    packed, kept = [], []
    for start in range(0, count, DECODE_BATCH):
        if not keep_going(start, count):
            return None
        shapes = (decoder.decode(codes[start:start + DECODE_BATCH]) > 0).numpy()[:, 0]
        for offset, shape in enumerate(shapes):
            kind = kinds[rng.integers(len(kinds))]
            if not shape.any():
                continue
            observation = simulate(kind, shape, rng)
            packed.append(np.packbits(np.stack([observation.occupied, observation.free])
                                      .reshape(2, -1), axis=1))
            kept.append(start + offset)
    empty = np.zeros((0, 2, _packed_bytes(resolution)), np.uint8)
    return PriorObservations(np.stack(packed) if packed else empty, codes[kept].contiguous(),
                             resolution)


def code_regression_loss(predicted: torch.Tensor, target: torch.Tensor,
                         pose: bool) -> torch.Tensor:
    """Per-shape (B,) squared error between predicted and drawn codes. With ``pose`` the two
    rotation columns count by their axes' misalignment, AXIS_WEIGHT x (1 - cos^2), blind to an
    axis's sign (the sign convention of a symmetric shape's principal axes is arbitrary), and
    the centroid and shape coordinates by squared error."""
    if not pose:
        return (predicted - target).pow(2).sum(1)
    axes = predicted[:, :6].reshape(-1, 2, 3)
    wanted = target[:, :6].reshape(-1, 2, 3) / ROTATION_SCALE
    cosine = (axes * wanted).sum(-1) / axes.norm(dim=-1).clamp(min=1e-6)
    misalignment = (1 - cosine.pow(2)).sum(1)
    return AXIS_WEIGHT * misalignment + (predicted[:, 6:] - target[:, 6:]).pow(2).sum(1)
