"""Shape files -> latent codes (posterior means, or refined: ExplorerSession.encode) and their
reconstructions. Qt-free.

The files become grids exactly as a folder import makes them for training
(``trainer.data.folder.load_file``), at the model's resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from explorer.meshing import mesh_from_grid
from explorer.session import ExplorerSession
from trainer.completion.metrics import iou
from trainer.data.folder import load_file


@dataclass(frozen=True)
class Encoded:
    """A shape file's grid as the model sees it, its code, and the grid decoded from the code;
    the meshes of both at the model's iso-level (None: no surface); the reconstruction's IoU
    against the grid; with ``refine_steps`` > 0 the code is refined and ``encoder_iou`` is the
    posterior mean's IoU."""

    path: Path
    grid: np.ndarray
    code: np.ndarray
    decoded: np.ndarray
    input_mesh: trimesh.Trimesh | None
    decoded_mesh: trimesh.Trimesh | None
    iou: float
    refine_steps: int = 0
    encoder_iou: float | None = None


def file_grids(session: ExplorerSession, paths: Sequence[str | Path]) -> np.ndarray:
    """The files as float32 grids (N, D, D, D) at the model's resolution, occupancy or (for a
    signed-distance model) truncated signed distances; DataError names the first file that
    cannot be used."""
    grids = np.stack([load_file(p, session.resolution) for p in paths]).astype(np.float32)
    if session.signed_distance:
        return np.stack([signed_distances(g > 0.5, session.config.sdf_truncation)
                         for g in grids])
    return grids


def signed_distances(occupied: np.ndarray, truncation: float) -> np.ndarray:
    """Occupancy (D, D, D) bool -> distances to the surface in voxels, negative inside, the
    surface half a voxel beyond the outermost inside voxels, truncated at ``truncation`` and
    divided by it (values in [-1, 1], as the built-in signed-distance grids)."""
    from scipy.ndimage import distance_transform_edt

    inside = distance_transform_edt(occupied) - 0.5
    outside = distance_transform_edt(~occupied) - 0.5
    distances = np.where(occupied, -inside, outside)
    return np.clip(distances / truncation, -1.0, 1.0).astype(np.float32)


def encode_file(session: ExplorerSession, path: str | Path, refine: int = 0) -> Encoded:
    """Encode one shape file (its code refined by ``refine`` steps, if any) and decode its code
    again."""
    grid = file_grids(session, [path])[0]
    level, low = session.iso_level, session.inside_low
    code = session.encode(grid[None])[0]
    encoder_iou = None
    if refine:
        encoder_iou = inside_iou(session.decode(code), grid, level, low)
        code = session.encode(grid[None], refine=refine)[0]
    decoded = session.decode(code)
    return Encoded(Path(path), grid, code, decoded, mesh_from_grid(grid, level, inside_low=low),
                   mesh_from_grid(decoded, level, inside_low=low),
                   inside_iou(decoded, grid, level, low), refine, encoder_iou)


def inside_iou(decoded: np.ndarray, grid: np.ndarray, level: float, inside_low: bool) -> float:
    """IoU of the insides of two grids at ``level`` (below it with ``inside_low``); two empty
    insides: 1."""
    a, b = (decoded < level, grid < level) if inside_low else (decoded > level, grid > level)
    return float(iou(a[None], b[None])[0])
