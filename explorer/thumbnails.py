"""Small shaded pictures of voxel grids, ray-cast in numpy (Qt-free, fine off the GUI thread).

An orthographic camera looks at the unit cube from a given azimuth/elevation (z up, the same
convention as the 3D view); each pixel's ray finds where the trilinearly interpolated grid first
crosses the threshold, and the surface there is lit by a headlight using the gradient of the
slightly blurred grid as its normal.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

MESH_RGB = (0.50, 0.72, 0.92)
"""The colour of shapes in thumbnails and the 3D view (a soft sky blue)."""

_AMBIENT, _DIFFUSE, _SPECULAR, _SHININESS = 0.28, 0.72, 0.25, 24.0
_HALF_DIAGONAL = 0.5 * np.sqrt(3.0)


Frame = tuple[np.ndarray, float]
"""What a thumbnail shows: the centre and radius of a ball in unit-cube coordinates."""


def fit_frame(grids: np.ndarray, threshold: float = 0.5, margin: float = 1.05, *,
              inside_low: bool = False) -> Frame:
    """A ball around the inside of all (B, D, D, D) ``grids`` (centred on their bounding box);
    the whole cube when nothing is inside. Inside is ``grid > threshold``, or ``grid <
    threshold`` with ``inside_low`` (signed distances)."""
    if inside_low:
        grids, threshold = -np.asarray(grids), -threshold
    occupied = np.asarray(grids).reshape(-1, *np.shape(grids)[-3:]).max(axis=0) > threshold
    if not occupied.any():
        return np.full(3, 0.5), _HALF_DIAGONAL
    depth = occupied.shape[0]
    points = (np.argwhere(occupied) + 0.5) / depth
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    reach = np.sqrt(np.max(np.sum((points - centre) ** 2, axis=1))) + _HALF_DIAGONAL / depth
    return centre, margin * float(reach)


def render_thumbnail(grid: np.ndarray, threshold: float = 0.5, size: int = 96, *,
                     frame: Frame | None = None, azimuth: float = 45.0, elevation: float = 25.0,
                     rgb: tuple[float, float, float] = MESH_RGB,
                     inside_low: bool = False) -> np.ndarray:
    """A (size, size, 4) uint8 RGBA picture of the region ``grid > threshold`` (``grid <
    threshold`` with ``inside_low``: signed distances, negative inside).

    ``grid`` is (D, D, D) indexed [x, y, z]; the background is transparent and an empty grid
    gives a fully transparent image. ``frame`` defaults to ``fit_frame(grid)``; pass a common
    frame to draw a sequence at one scale.
    """
    grid = np.asarray(grid, dtype=np.float32)
    if inside_low:      # the same picture of the negated field, where inside is high
        grid, threshold = -grid, -threshold
    centre, radius = fit_frame(grid, threshold) if frame is None else frame
    eye, right, up = _camera(azimuth, elevation)
    steps = int(np.clip(4 * radius * grid.shape[0], 16, 4 * grid.shape[0]))
    span = np.linspace(-radius, radius, size)
    ts = np.linspace(radius, -radius, steps)                        # from the eye inwards
    # Points (steps, size, size, 3) in unit-cube coordinates; image row 0 is the top.
    plane = centre + span[None, :, None] * right - span[::-1, None, None] * up
    points = plane[None] + ts[:, None, None, None] * eye
    outside = threshold - 1.0 if inside_low else 0.0     # beyond the cube is never inside
    values = _sample(grid, points.reshape(-1, 3), outside).reshape(steps, size, size)

    inside = values > threshold
    hit = inside.any(axis=0)
    first = np.argmax(inside, axis=0)
    prev = np.maximum(first - 1, 0)
    v0 = np.take_along_axis(values, prev[None], 0)[0]
    v1 = np.take_along_axis(values, first[None], 0)[0]
    frac = np.where(first > 0, np.clip((v0 - threshold) / np.maximum(v0 - v1, 1e-6), 0, 1), 0)
    t_hit = ts[prev] + frac * (ts[first] - ts[prev])
    surface = plane + t_hit[..., None] * eye

    gradients = np.gradient(gaussian_filter(grid, 1.0))
    normals = -np.stack([_sample(g, surface[hit]) for g in gradients], axis=1)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-9)
    facing = np.clip(normals @ eye, 0.0, 1.0)
    shade = _AMBIENT + _DIFFUSE * facing
    colour = np.clip(np.asarray(rgb) * shade[:, None] + _SPECULAR * facing[:, None] ** _SHININESS,
                     0, 1)

    image = np.zeros((size, size, 4), dtype=np.uint8)
    image[hit, :3] = np.round(colour * 255).astype(np.uint8)
    image[hit, 3] = 255
    return image


def _camera(azimuth: float, elevation: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors: towards the eye, screen right and screen up (z is world up)."""
    az, el = np.radians(azimuth), np.radians(elevation)
    eye = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    right = np.array([-np.sin(az), np.cos(az), 0.0])
    return eye, right, np.cross(eye, right)


def _sample(grid: np.ndarray, points: np.ndarray, outside: float = 0.0) -> np.ndarray:
    """Trilinear samples of ``grid`` at unit-cube ``points`` (n, 3); ``outside`` beyond it."""
    coords = points.T * np.asarray(grid.shape)[:, None] - 0.5   # voxel i's centre is (i+0.5)/D
    return map_coordinates(grid, coords, order=1, mode="constant", cval=outside)
