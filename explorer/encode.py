"""Shape files -> latent codes (posterior means) and their reconstructions. Qt-free.

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
from trainer.data.folder import load_file


@dataclass(frozen=True)
class Encoded:
    """A shape file's grid as the model sees it, its code, and the grid decoded from the code;
    the meshes of both at the model's iso-level (None: no surface)."""

    path: Path
    grid: np.ndarray
    code: np.ndarray
    decoded: np.ndarray
    input_mesh: trimesh.Trimesh | None
    decoded_mesh: trimesh.Trimesh | None


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


def encode_file(session: ExplorerSession, path: str | Path) -> Encoded:
    """Encode one shape file and decode its code again."""
    grid = file_grids(session, [path])[0]
    code = session.encode(grid[None])[0]
    decoded = session.decode(code)
    level, low = session.iso_level, session.inside_low
    return Encoded(Path(path), grid, code, decoded, mesh_from_grid(grid, level, inside_low=low),
                   mesh_from_grid(decoded, level, inside_low=low))
