"""Augmentation: training shapes flipped across the axes where their class is symmetric, and
moved by a few voxels.

A flip across an axis keeps a data set's distribution only where the class is mirror-symmetric
across it: a chair mirrored left to right is another chair, mirrored front to back it faces
the wrong way, upside down it stands on its seat. The test compares the mean grids of two
halves of a class (even and odd members): across a symmetric axis, one half's mean matches the
other's mirror image as well as it matches the other itself (MIRROR_AGREEMENT), whatever the
class's size; randomly turned shapes are symmetric across every axis. Each training shape is
flipped across each of its class's axes with probability one half, drawn from a generator
seeded per epoch, so a resumed run flips the same. Shifts (setting ``shift``) move each
training shape by whole voxels, drawn the same way.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from trainer.data.shapeset import ShapeSet

MIRROR_AGREEMENT = 0.98
"""similarity(half A, mirrored half B) / similarity(half A, half B), similarity being
1 - sum|a - b| / sum(a + b), at or above which a class is flipped across that axis."""
AXIS_NAMES = ("x", "y", "z")


def mirror_axes(shapes: ShapeSet) -> np.ndarray:
    """(C, 3) bool: the axes across which each class of ``shapes`` is mirror-symmetric (none
    for a class of fewer than two shapes)."""
    axes = np.zeros((len(shapes.class_names), 3), dtype=bool)
    for c in range(len(shapes.class_names)):
        members = shapes.grids[shapes.labels == c, 0]
        if len(members) < 2:
            continue
        inside = (members <= 0) if shapes.signed else members
        # accumulated in float64 without a float64 copy of the class
        first = inside[0::2].mean(0, dtype=np.float64)
        second = inside[1::2].mean(0, dtype=np.float64)
        agreement = _similarity(first, second)
        for a in range(3):
            axes[c, a] = _similarity(first, np.flip(second, a)) >= MIRROR_AGREEMENT * agreement
    return axes


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    total = (a + b).sum()
    return float(1 - np.abs(a - b).sum() / total) if total > 0 else 1.0


def describe_axes(axes: np.ndarray, class_names: tuple[str, ...]) -> str:
    """E.g. 'chair across x; table across x, y' (classes grouped when they share axes)."""
    groups: dict[str, list[str]] = {}
    for name, row in zip(class_names, axes, strict=True):
        if row.any():
            groups.setdefault(", ".join(a for a, on in zip(AXIS_NAMES, row, strict=True) if on),
                              []).append(name)
    if len(class_names) == 1:
        return f"across {next(iter(groups))}" if groups else ""
    return "; ".join(f"{', '.join(names)} across {where}" for where, names in groups.items())


def flip_batch(grids: torch.Tensor, labels: torch.Tensor, axes: torch.Tensor,
               generator: torch.Generator) -> torch.Tensor:
    """``grids`` (B, 1, D, D, D), each flipped across each of its class's ``axes`` (C, 3)
    with probability one half."""
    coins = torch.rand((len(grids), 3), generator=generator) < 0.5
    flips = coins & axes[labels]
    out = grids.clone()
    for pattern in flips.unique(dim=0):
        if not pattern.any():
            continue
        rows = (flips == pattern).all(1)
        dims = [2 + a for a in range(3) if pattern[a]]
        out[rows] = torch.flip(grids[rows], dims)
    return out


def shift_batch(grids: torch.Tensor, most: int, generator: torch.Generator,
                outside: float = 0.0) -> torch.Tensor:
    """``grids`` (B, C, D, D, D), each moved by a whole number of voxels drawn uniformly from
    -most..most per axis; the voxels it leaves read ``outside``."""
    offsets = torch.randint(-most, most + 1, (len(grids), 3), generator=generator)
    padded = F.pad(grids, (most,) * 6, value=outside)
    d, h, w = grids.shape[2:]
    return torch.stack([padded[k, :, most - a:most - a + d, most - b:most - b + h,
                               most - c:most - c + w]
                        for k, (a, b, c) in enumerate(offsets.tolist())])
