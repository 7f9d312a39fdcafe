"""A run frozen at the end of an epoch, built off the GUI thread; Qt-free.

The GUI only hands a snapshot's parts on (the checkpoint to `save_checkpoint`, the session to the
Explore view, the images to the reconstruction strip); it never computes with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.session import ExplorerSession
from trainer.checkpoint import Checkpoint, load_checkpoint
from trainer.data.shapeset import ShapeSet
from trainer.data.sources import load_shapes
from trainer.errors import ShapeExplorerError

RECONSTRUCTIONS = 6


@dataclass(frozen=True)
class Reconstructions:
    """Depth images (K, D, D) uint8 of validation shapes and of their decoded means."""

    inputs: np.ndarray
    outputs: np.ndarray


@dataclass(frozen=True)
class RunSnapshot:
    """A checkpoint, a session on its own copy of the weights, and a few reconstructions."""

    checkpoint: Checkpoint
    session: ExplorerSession
    reconstructions: Reconstructions | None


def take_snapshot(ckpt: Checkpoint, val: ShapeSet | None) -> RunSnapshot:
    """Build the session from `ckpt` (a copy, never a live model) and decode a few shapes."""
    session = ExplorerSession.from_checkpoint(ckpt, shapes=val)
    recon = None
    if val is not None:
        grids = val.float_grids()[:RECONSTRUCTIONS]
        decoded = session.decode(session.encode(grids))
        recon = Reconstructions(depth_images(grids[:, 0]), depth_images(decoded))
    return RunSnapshot(ckpt, session, recon)


def load_snapshot(path: str | Path) -> RunSnapshot:
    """Load a checkpoint and regenerate its validation shapes (None when the data is gone)."""
    ckpt = load_checkpoint(path)
    try:
        _, val = load_shapes(ckpt.config).split(ckpt.config.val_fraction, ckpt.config.seed)
    except (ShapeExplorerError, OSError):
        val = None
    return take_snapshot(ckpt, val)


def depth_images(grids: np.ndarray) -> np.ndarray:
    """(K, D, D, D) grids -> (K, D, D) uint8: the occupied voxels seen along y, nearer brighter.

    Image rows run along z (up), columns along x; empty rays are black.
    """
    occupied = np.asarray(grids) > 0.5
    depth = occupied.shape[2]
    first = occupied.argmax(axis=2)
    shade = 255 * (1.0 - 0.7 * first / max(depth - 1, 1))
    image = np.where(occupied.any(axis=2), shade, 0.0).astype(np.uint8)
    return np.ascontiguousarray(image.transpose(0, 2, 1)[:, ::-1])
