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
from trainer.data.sources import load_run_data
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


def take_snapshot(ckpt: Checkpoint, val: ShapeSet | None, data: ShapeSet | None = None,
                  names: tuple[str, ...] = ()) -> RunSnapshot:
    """Build the session from `ckpt` (a copy, never a live model) and decode a few shapes.

    The session offers the whole data set `data` (with its shape `names`) for exploring, or the
    validation shapes `val` when `data` is None.
    """
    session = ExplorerSession.from_checkpoint(ckpt, shapes=val if data is None else data,
                                              shape_names=names)
    recon = None
    if val is not None:
        grids = val.float_grids()[:RECONSTRUCTIONS]
        decoded = session.decode(session.encode(grids))
        level, low = session.iso_level, session.inside_low
        recon = Reconstructions(depth_images(grids[:, 0], level, low),
                                depth_images(decoded, level, low))
    return RunSnapshot(ckpt, session, recon)


def load_snapshot(path: str | Path) -> RunSnapshot:
    """Load a checkpoint, without its data set (see `with_data`): explorable at once."""
    return take_snapshot(load_checkpoint(path), None)


def with_data(snapshot: RunSnapshot) -> RunSnapshot | None:
    """The same run with its data set regenerated (or imported again) and a few validation
    reconstructions; None when the data cannot be had."""
    ckpt = snapshot.checkpoint
    try:
        data = load_run_data(ckpt.config)
        _, val = data.shapes.split(ckpt.config.val_fraction, ckpt.config.seed)
    except (ShapeExplorerError, OSError):
        return None
    return take_snapshot(ckpt, val, data.shapes, data.names)


def depth_images(grids: np.ndarray, level: float = 0.5, inside_low: bool = False
                 ) -> np.ndarray:
    """(K, D, D, D) grids -> (K, D, D) uint8: the inside voxels (above ``level``, or below it
    with ``inside_low`` for signed distances) seen along y, nearer brighter.

    Image rows run along z (up), columns along x; empty rays are black.
    """
    grids = np.asarray(grids)
    occupied = grids < level if inside_low else grids > level
    depth = occupied.shape[2]
    first = occupied.argmax(axis=2)
    shade = 255 * (1.0 - 0.7 * first / max(depth - 1, 1))
    image = np.where(occupied.any(axis=2), shade, 0.0).astype(np.uint8)
    return np.ascontiguousarray(image.transpose(0, 2, 1)[:, ::-1])
