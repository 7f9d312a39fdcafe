"""Probability or signed-distance grids -> triangle meshes via marching cubes.

Grids are (D, D, D) arrays indexed [x, y, z] with z up; voxel i's centre sits at unit-cube
coordinate (i + 0.5) / D, so meshes live in [0, 1]^3 with outward-facing triangles.
"""

from __future__ import annotations

import numpy as np
import trimesh
from skimage.measure import marching_cubes

NO_SURFACE_MESSAGE = "No surface at this threshold"


def mesh_from_grid(
    grid: np.ndarray, threshold: float = 0.5, *, inside_low: bool = False
) -> trimesh.Trimesh | None:
    """Extract the iso-surface ``grid == threshold`` as a mesh in unit-cube coordinates.

    By default inside is where the grid is above the threshold (occupancy probabilities). Pass
    ``inside_low=True`` for signed distances (negative inside, usually ``threshold=0``).

    Returns None when there is no surface at this threshold (the grid lies entirely on one side
    of it; show ``NO_SURFACE_MESSAGE``). The grid is padded by one outside voxel, so shapes that
    touch the border are closed there.
    """
    grid = np.asarray(grid)
    if grid.ndim != 3:
        raise ValueError(f"expected a 3D grid, got shape {grid.shape}")
    if inside_low:
        grid, threshold = -grid, -threshold
    low, high = grid.min(), grid.max()
    if not low < threshold < high:
        return None
    # Every cell the surface crosses has a corner above the threshold: mesh only the bounding
    # box of those voxels, with a margin of 2 so that the normals' central differences still
    # see the true neighbours (0.75 vs 0.89 ms median for the bundled model's shapes at 32^3).
    inside = np.nonzero(grid > threshold)
    start = np.maximum([axis.min() - _MARGIN for axis in inside], 0)
    stop = np.minimum([axis.max() + _MARGIN + 1 for axis in inside], grid.shape)
    box = grid[start[0]:stop[0], start[1]:stop[1], start[2]:stop[2]]
    padded = np.full(np.add(box.shape, 2), low, dtype=np.float32)
    padded[1:-1, 1:-1, 1:-1] = box
    vertices, faces, normals, _ = marching_cubes(
        padded, level=threshold, gradient_direction="ascent", allow_degenerate=False
    )
    # Padded index j is voxel start + j - 1, whose centre is at (start + j - 1 + 0.5) / D.
    vertices = (vertices + (start - 0.5).astype(np.float32)) / np.float32(grid.shape)
    return trimesh.Trimesh(vertices, faces, vertex_normals=normals, process=False)


_MARGIN = 2
