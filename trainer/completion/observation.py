"""Partial observations of occupancy grids, and simulators that make them from complete shapes.

An observation marks every voxel *occupied* (a scanned surface point falls in it), *free* (a
camera ray passes through it before reaching the surface) or *unknown* (neither). Grids are
indexed [x, y, z] with z up and span [-1, 1]^3 (trainer.data.procedural); a grid value above
0.5 is inside.

Scans use a pinhole camera on a sphere of radius CAMERA_DISTANCE around the grid's centre,
looking at the centre from (azimuth, elevation) in degrees (azimuth from +x towards +y,
elevation towards +z), its image square and wide enough to see the whole grid, IMAGE_SCALE x D
pixels a side. Each pixel's ray is marched in half-voxel steps: the first inside voxel it meets
is occupied, the voxels before it are free. A ray that meets nothing returns no depth (as a
range sensor against an empty background) and observes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trainer.errors import ShapeExplorerError

OBSERVATION_KINDS = ("single-view", "noisy", "multi-view", "cut", "box")
CAMERA_DISTANCE = 3.0
"""The camera's distance from the grid's centre, in half grid widths."""
IMAGE_SCALE = 2
"""Pixels per voxel along a side of the depth image."""
ELEVATION_RANGE = (-20.0, 60.0)
"""Random viewpoints look from elevations in this range (degrees)."""
DEPTH_NOISE_VOXELS = 1.0
"""The noisy scan's depth noise: standard deviation along the ray, in voxels."""
DROPPED_RAYS = 0.3
"""The share of rays a noisy scan loses."""
VIEWS = 3
"""Scans fused by a multi-view observation, spread evenly in azimuth."""
BOX_FRACTION = (0.3, 0.5)
"""A removed box's side, as a share of the grid's side (drawn in this range per axis)."""


@dataclass(frozen=True)
class Observation:
    """A partial observation of one (D, D, D) grid: boolean ``occupied`` and ``free`` (never
    both true), the simulator that made it (one of OBSERVATION_KINDS, or 'file' for one read
    from a file) and its viewpoint (azimuth, elevation) in degrees, or None where none applies
    (a removed box, a file)."""

    occupied: np.ndarray
    free: np.ndarray
    kind: str
    viewpoint: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        occupied = np.asarray(self.occupied, dtype=bool)
        free = np.asarray(self.free, dtype=bool)
        if occupied.ndim != 3 or occupied.shape != free.shape:
            raise ValueError(f"occupied and free must be (D, D, D) grids of one shape, got "
                             f"{occupied.shape} and {free.shape}")
        if (occupied & free).any():
            raise ValueError("a voxel cannot be both occupied and free")
        object.__setattr__(self, "occupied", occupied)
        object.__setattr__(self, "free", free)

    @property
    def observed(self) -> np.ndarray:
        """Voxels whose state is known: occupied or free."""
        return self.occupied | self.free

    @property
    def observed_fraction(self) -> float:
        """The share of the grid's voxels that are observed."""
        return float(self.observed.mean())

    @property
    def resolution(self) -> int:
        return self.occupied.shape[0]


def simulate(kind: str, grid: np.ndarray, rng: np.random.Generator,
             viewpoint: tuple[float, float] | None = None) -> Observation:
    """An observation of ``kind`` (one of OBSERVATION_KINDS) of the occupancy ``grid``
    (D, D, D); a viewpoint is drawn from ``rng`` when None (a box ignores it)."""
    inside = inside_voxels(grid)
    if kind not in OBSERVATION_KINDS:
        raise ShapeExplorerError(f"unknown observation kind {kind!r}; known: "
                                 f"{', '.join(OBSERVATION_KINDS)}")
    if kind == "box":
        return removed_box(inside, rng)
    if viewpoint is None:
        viewpoint = random_viewpoint(rng)
    if kind == "single-view":
        return depth_scan(inside, viewpoint)
    if kind == "noisy":
        return noisy_scan(inside, viewpoint, rng)
    if kind == "multi-view":
        return fused_views(inside, viewpoint)
    return plane_cut(inside, viewpoint)


def inside_voxels(grid: np.ndarray) -> np.ndarray:
    """The boolean inside of an occupancy grid (values above 0.5), checked to be cubic 3D."""
    grid = np.asarray(grid)
    if grid.ndim == 4 and grid.shape[0] == 1:
        grid = grid[0]
    if grid.ndim != 3 or len(set(grid.shape)) != 1:
        raise ShapeExplorerError(f"an observation needs a cubic (D, D, D) grid, got shape "
                                 f"{grid.shape}")
    return grid > 0.5


def random_viewpoint(rng: np.random.Generator) -> tuple[float, float]:
    """(azimuth, elevation) in degrees: any azimuth, elevation within ELEVATION_RANGE."""
    return float(rng.uniform(0.0, 360.0)), float(rng.uniform(*ELEVATION_RANGE))


def camera_position(viewpoint: tuple[float, float]) -> np.ndarray:
    """The camera's centre in grid coordinates ([-1, 1]^3 spans the grid)."""
    return CAMERA_DISTANCE * view_direction(viewpoint)


def view_direction(viewpoint: tuple[float, float]) -> np.ndarray:
    """The unit vector from the grid's centre towards the camera."""
    azimuth, elevation = (math.radians(a) for a in viewpoint)
    return np.array([math.cos(elevation) * math.cos(azimuth),
                     math.cos(elevation) * math.sin(azimuth), math.sin(elevation)])


def depth_scan(inside: np.ndarray, viewpoint: tuple[float, float]) -> Observation:
    """A clean single-view depth scan (module docstring)."""
    occupied, free = _scan(inside, viewpoint)
    return Observation(occupied, free & ~occupied, "single-view", viewpoint)


def noisy_scan(inside: np.ndarray, viewpoint: tuple[float, float],
               rng: np.random.Generator) -> Observation:
    """A depth scan that loses DROPPED_RAYS of its rays and whose depths carry Gaussian noise of
    DEPTH_NOISE_VOXELS: the occupied voxel is where the noisy depth falls, free space ends
    there."""
    occupied, free = _scan(inside, viewpoint, rng)
    return Observation(occupied, free & ~occupied, "noisy", viewpoint)


def fused_views(inside: np.ndarray, viewpoint: tuple[float, float],
                views: int = VIEWS) -> Observation:
    """Clean scans from ``views`` viewpoints at the same elevation, evenly spread in azimuth
    from ``viewpoint``, fused: occupied where any scan saw a surface, free where any saw
    through and none a surface."""
    occupied = np.zeros_like(inside)
    free = np.zeros_like(inside)
    for k in range(views):
        o, f = _scan(inside, (viewpoint[0] + 360.0 * k / views, viewpoint[1]))
        occupied |= o
        free |= f
    return Observation(occupied, free & ~occupied, "multi-view", viewpoint)


def plane_cut(inside: np.ndarray, viewpoint: tuple[float, float]) -> Observation:
    """The half of the grid facing the camera, seen completely; the other half unknown. The
    plane passes through the shape's centroid (the grid's centre for an empty grid) and faces
    the viewpoint."""
    centres = voxel_centres(inside.shape[0])
    centroid = centres[inside].mean(axis=0) if inside.any() else np.zeros(3)
    seen = (centres - centroid) @ view_direction(viewpoint) >= 0
    return Observation(inside & seen, ~inside & seen, "cut", viewpoint)


def removed_box(inside: np.ndarray, rng: np.random.Generator) -> Observation:
    """Every voxel seen but those of an axis-aligned box (sides BOX_FRACTION of the grid's)
    centred on a random inside voxel (anywhere in an empty grid)."""
    d = inside.shape[0]
    sides = np.maximum(1, np.round(rng.uniform(*BOX_FRACTION, size=3) * d)).astype(int)
    candidates = np.argwhere(inside) if inside.any() else np.argwhere(np.ones_like(inside))
    centre = candidates[rng.integers(len(candidates))]
    start = np.clip(centre - sides // 2, 0, d - sides)
    seen = np.ones_like(inside)
    seen[start[0]:start[0] + sides[0], start[1]:start[1] + sides[1],
         start[2]:start[2] + sides[2]] = False
    return Observation(inside & seen, ~inside & seen, "box", None)


def voxel_centres(d: int) -> np.ndarray:
    """Centres of a D^3 grid's voxels in grid coordinates: (D, D, D, 3)."""
    axis = -1.0 + (np.arange(d) + 0.5) * 2.0 / d
    return np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1)


def _scan(inside: np.ndarray, viewpoint: tuple[float, float],
          rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Occupied and free voxels of one depth scan; with ``rng``, noisy (noisy_scan)."""
    d = inside.shape[0]
    origin = camera_position(viewpoint)
    directions = _ray_directions(viewpoint, IMAGE_SCALE * d)
    near, far = _cube_span(origin, directions)
    hits_cube = far > near
    directions, near, far = directions[hits_cube], near[hits_cube], far[hits_cube]
    step = 1.0 / d                                               # half a voxel
    depths = near[:, None] + step * (0.5 + np.arange(math.ceil(2 * math.sqrt(3) / step)))
    in_cube = depths < far[:, None]
    index = _voxel_index(origin + depths[..., None] * directions[:, None, :], d)
    solid = inside[index[..., 0], index[..., 1], index[..., 2]] & in_cube
    hit = solid.any(axis=1)
    first = solid.argmax(axis=1)
    surface = depths[np.arange(len(first)), first]
    if rng is not None:
        surface = surface + rng.normal(0.0, DEPTH_NOISE_VOXELS * 2.0 / d, size=surface.shape)
        hit &= rng.random(hit.shape) >= DROPPED_RAYS
    occupied = np.zeros_like(inside)
    free = np.zeros_like(inside)
    point = origin + surface[hit, None] * directions[hit]
    landed = np.all(np.abs(point) < 1.0, axis=1)
    cell = _voxel_index(point[landed], d)
    occupied[cell[:, 0], cell[:, 1], cell[:, 2]] = True
    before = (depths < surface[:, None]) & in_cube & hit[:, None]
    cells = index[before]
    free[cells[:, 0], cells[:, 1], cells[:, 2]] = True
    return occupied, free


def _ray_directions(viewpoint: tuple[float, float], pixels: int) -> np.ndarray:
    """Unit ray directions through the centres of a square image's pixels: (pixels^2, 3). The
    image's field of view just holds the grid's bounding sphere."""
    forward = -view_direction(viewpoint)
    up = np.array([0.0, 0.0, 1.0]) if abs(forward[2]) < 0.99 else np.array([1.0, 0.0, 0.0])
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    half = math.tan(math.asin(math.sqrt(3.0) / CAMERA_DISTANCE))
    offsets = (np.arange(pixels) + 0.5) / pixels * 2.0 - 1.0
    u, v = np.meshgrid(offsets * half, offsets * half, indexing="ij")
    rays = forward + u.reshape(-1, 1) * right + v.reshape(-1, 1) * up
    return rays / np.linalg.norm(rays, axis=1, keepdims=True)


def _cube_span(origin: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entry and exit depths of rays through the cube [-1, 1]^3 (exit <= entry: a miss)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = 1.0 / directions
        t0 = (-1.0 - origin) * inverse
        t1 = (1.0 - origin) * inverse
    near = np.nanmax(np.minimum(t0, t1), axis=1)
    far = np.nanmin(np.maximum(t0, t1), axis=1)
    return np.maximum(near, 0.0), far


def _voxel_index(points: np.ndarray, d: int) -> np.ndarray:
    """The voxel (i, j, k) holding each point, clipped to the grid: (..., 3) int."""
    return np.clip(np.floor((points + 1.0) * d / 2.0), 0, d - 1).astype(np.intp)
