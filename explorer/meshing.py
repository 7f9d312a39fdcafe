"""Probability or signed-distance grids -> triangle meshes via marching cubes.

Grids are (D, D, D) arrays indexed [x, y, z] with z up; voxel i's centre sits at unit-cube
coordinate (i + 0.5) / D, so meshes live in [0, 1]^3 with outward-facing triangles.
"""

from __future__ import annotations

import numpy as np
import trimesh
import trimesh.smoothing
from skimage.measure import marching_cubes

NO_SURFACE_MESSAGE = "No surface at this threshold"
SMOOTHING_ITERATIONS = 10


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
    # see the true neighbours.
    above = grid > threshold
    start, stop = _bounds(above)
    box = grid[start[0]:stop[0], start[1]:stop[1], start[2]:stop[2]]
    padded = np.full(np.add(box.shape, 2), low, dtype=np.float32)
    padded[1:-1, 1:-1, 1:-1] = box
    # A degenerate (zero-area) triangle needs two vertices at one grid point: a value at the
    # level, or so close to it (relative to the value range) that interpolation rounds onto the
    # grid point. Only then is skimage's clean-up pass needed.
    tolerance = _LEVEL_TOLERANCE * max(1.0, float(high - low))
    at_level = bool((np.abs(box - threshold) <= tolerance).any())
    vertices, faces, normals, _ = marching_cubes(
        padded, level=threshold, gradient_direction="ascent", allow_degenerate=not at_level
    )
    # Padded index j is voxel start + j - 1, whose centre is at (start + j - 1 + 0.5) / D.
    vertices = (vertices + (start - 0.5).astype(np.float32)) / np.float32(grid.shape)
    return trimesh.Trimesh(vertices, faces, vertex_normals=normals, process=False)


def smooth_mesh(mesh: trimesh.Trimesh, iterations: int = SMOOTHING_ITERATIONS) -> trimesh.Trimesh:
    """A copy of ``mesh`` smoothed by Taubin's filter, which takes out the voxel-scale ripples
    of marching cubes without shrinking the shape; vertex normals are recomputed here."""
    smoothed = trimesh.Trimesh(np.array(mesh.vertices), mesh.faces, process=False)
    trimesh.smoothing.filter_taubin(smoothed, lamb=0.5, nu=0.53, iterations=iterations)
    _ = smoothed.vertex_normals   # computed now, on the caller's (worker) thread
    return smoothed


def no_surface_advice(grid: np.ndarray, threshold: float, *, inside_low: bool = False,
                      threshold_range: tuple[float, float] = (-np.inf, np.inf)) -> str:
    """Why ``grid`` has no surface at ``threshold`` and what to try, in a line for a person;
    moving the threshold is offered only when a threshold in ``threshold_range`` would help."""
    grid = np.asarray(grid)
    low, high = float(grid.min()), float(grid.max())
    all_inside = (high <= threshold) if inside_low else (low >= threshold)
    side = "inside" if all_inside else "outside"
    value, which = (high, "highest") if all_inside == inside_low else (low, "lowest")
    text = (f"{NO_SURFACE_MESSAGE} ({threshold:.2f}): every voxel is {side} (the {which} value "
            f"is {value:.2f}). ")
    if threshold_range[0] < value < threshold_range[1]:
        move = "Raise" if value >= threshold else "Lower"
        return text + (f"{move} the threshold past {value:.2f}, pick another sample or move "
                       "a slider.")
    return text + "Pick another sample or move a slider."


def _bounds(above: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop indices per axis of the voxels marked in ``above``, widened by _MARGIN
    and clipped to the grid.

    The projections come from reductions along the outer axes, which numpy runs over
    contiguous rows (faster than reducing over the last axis first).
    """
    plane = above.any(axis=0)                                   # (y, z)
    projections = (above.any(axis=(1, 2)), plane.any(axis=1), plane.any(axis=0))
    start, stop = [], []
    for axis, marked in enumerate(projections):
        indices = np.flatnonzero(marked)
        start.append(max(indices[0] - _MARGIN, 0))
        stop.append(min(indices[-1] + _MARGIN + 1, above.shape[axis]))
    return np.asarray(start), np.asarray(stop)


_MARGIN = 2
_LEVEL_TOLERANCE = 1e-6
