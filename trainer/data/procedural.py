"""The built-in data set: parametric solids with random size, position and orientation.

Every solid is centred at the origin of its own frame, described by a ``size`` triple (see
``voxelise``), rotated by a uniformly random rotation, shifted, and voxelised by an inside test
at the voxel centres of a grid covering [-1, 1]^3 (voxel i has centre -1 + (i + 0.5) * 2 / D).
Sizes keep every solid within a ball of radius at most 0.9 whose centre is offset so that the
ball stays inside [-0.92, 0.92]^3: no solid reaches the border voxels, and thin parts are about
0.3 across or more (2.4 voxels at 16^3).

With ``grid="sdf"`` the same solids come as truncated signed distances instead: the Euclidean
distance from each voxel centre to the surface in voxels, negative inside, clipped at
``truncation`` voxels and divided by it (values in [-1, 1], float16, surface at 0). The distances
are exact for every kind but the ellipsoid, whose distance is a close approximation with the
exact sign (Quilez's k0 (k0 - 1) / k1 bound).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from trainer.config import RESOLUTIONS
from trainer.data.shapeset import ShapeSet
from trainer.errors import DataError

SHAPE_KINDS: tuple[str, ...] = (
    "sphere", "ellipsoid", "box", "cylinder", "cone", "torus", "capsule",
)

_EXTENT = 0.92          # the bounding ball of every solid stays inside [-_EXTENT, _EXTENT]^3
_MIN_FILL = 0.002       # a grid with fewer occupied voxels than this fraction is resampled
_CHUNK_VOXELS = 2**21   # voxels evaluated per vectorised chunk

Array = np.ndarray
Sizes = np.ndarray      # (m, 3) float: per-kind size triple, see ``voxelise``
Radii = np.ndarray      # (m,) float: radius of a ball around the origin holding the solid


def make_procedural(n: int, resolution: int, seed: int,
                    kinds: Sequence[str] = SHAPE_KINDS, *, grid: str = "occupancy",
                    truncation: float = 3.0, rotate: bool = True) -> ShapeSet:
    """``n`` random solids at ``resolution``^3, labelled by kind, balanced over ``kinds``, as
    occupancy grids or (``grid="sdf"``) truncated signed distances (module docstring).

    The same arguments give identical arrays; both grid kinds hold the same solids.
    ``rotate=False`` leaves the same solids (sizes and offsets) axis-aligned: a diagnostic of
    what the random orientations cost a model, not a data set to train the app's default on.
    """
    kinds = _check_args(n, resolution, kinds)
    if grid not in ("occupancy", "sdf") or not truncation > 0:
        raise DataError(f"grid must be 'occupancy' or 'sdf' with a positive truncation, got "
                        f"{grid!r}, {truncation!r}.")
    signed = grid == "sdf"
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n, dtype=np.int64) % len(kinds))
    grids = np.zeros((n, 1, resolution, resolution, resolution),
                     dtype=np.float16 if signed else np.uint8)
    for label, kind in enumerate(kinds):
        todo = np.flatnonzero(labels == label)
        while len(todo):
            solids = _random_solids(rng, kind, len(todo), resolution,
                                    truncation if signed else None, rotate)
            grids[todo, 0] = solids
            todo = todo[_too_small(solids <= 0 if signed else solids)]
    return ShapeSet(grids, labels, kinds, signed=signed)


def voxelise(kind: str, size: Sequence[float], resolution: int,
             rotation: np.ndarray | None = None,
             offset: Sequence[float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """Occupancy (D, D, D) uint8 of one solid given explicitly.

    ``size`` per kind (the solid's own axis is z): sphere (radius, -, -); ellipsoid and box
    (semi-axes / half-extents along x, y, z); cylinder (radius, half-height, -); cone (base
    radius, half-height, -), base at z = -half-height, apex at +half-height; torus (ring
    radius, tube radius, -); capsule (radius, half-length of the core segment, -).
    ``rotation`` maps the solid's frame to the grid's (3x3, default identity), then ``offset``
    moves its centre.
    """
    if kind not in _INSIDE:
        raise DataError(f"Unknown shape kind {kind!r}; known kinds: {', '.join(SHAPE_KINDS)}.")
    rotation = np.eye(3) if rotation is None else np.asarray(rotation)
    inside = _voxelise_chunk(kind, np.asarray([size], dtype=np.float32), rotation[None],
                             np.asarray([offset], dtype=np.float32), resolution)
    return inside[0].astype(np.uint8)


def _check_args(n: int, resolution: int, kinds: Sequence[str]) -> tuple[str, ...]:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise DataError(f"The number of procedural shapes must be a positive integer, got {n!r}.")
    if resolution not in RESOLUTIONS:
        raise DataError(f"Resolution must be one of {RESOLUTIONS}, got {resolution!r}.")
    kinds = tuple(kinds)
    unknown = [kind for kind in kinds if kind not in _INSIDE]
    if not kinds or unknown or len(set(kinds)) != len(kinds):
        raise DataError(f"Shape kinds must be distinct names from {SHAPE_KINDS}, got {kinds}.")
    return kinds


def _too_small(grids: np.ndarray) -> np.ndarray:
    """Which of the (m, D, D, D) grids hold too few occupied voxels to show a shape."""
    occupied = grids.reshape(len(grids), -1).sum(axis=1, dtype=np.int64)
    return occupied < _MIN_FILL * grids[0].size


def _random_solids(rng: np.random.Generator, kind: str, m: int, resolution: int,
                   truncation: float | None = None, rotate: bool = True) -> np.ndarray:
    """(m, D, D, D) bool occupancy of ``m`` random solids of one kind, or with a
    ``truncation`` their float16 truncated signed distances; axis-aligned unless ``rotate``
    (the rotations are drawn either way, so both draw the same sizes and offsets)."""
    sizes, radii = _SAMPLERS[kind](rng, m)
    rotations = _random_rotations(rng, m)
    if not rotate:
        rotations = np.broadcast_to(np.eye(3), rotations.shape)
    reach = (_EXTENT - radii)[:, None]
    offsets = rng.uniform(-reach, reach, size=(m, 3))
    step = max(1, _CHUNK_VOXELS // resolution**3)
    chunk = _voxelise_chunk if truncation is None else _distance_chunk
    extra = () if truncation is None else (truncation,)
    return np.concatenate([
        chunk(kind, sizes[i:i + step], rotations[i:i + step], offsets[i:i + step], resolution,
              *extra)
        for i in range(0, m, step)
    ])


def _random_rotations(rng: np.random.Generator, m: int) -> np.ndarray:
    """(m, 3, 3) uniformly random rotation matrices, from normalised Gaussian quaternions."""
    q = rng.standard_normal((m, 4))
    w, x, y, z = (q / np.linalg.norm(q, axis=1, keepdims=True)).T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=-1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=-1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1),
    ], axis=1)


def _voxelise_chunk(kind: str, sizes: np.ndarray, rotations: np.ndarray, offsets: np.ndarray,
                    resolution: int) -> np.ndarray:
    """(c, D, D, D) bool: the inside test of ``c`` solids of one kind at the voxel centres."""
    return _INSIDE[kind](*_local_frame(sizes, rotations, offsets, resolution))


def _distance_chunk(kind: str, sizes: np.ndarray, rotations: np.ndarray, offsets: np.ndarray,
                    resolution: int, truncation: float) -> np.ndarray:
    """(c, D, D, D) float16: truncated signed distances of ``c`` solids, in [-1, 1]."""
    distance = _DISTANCE[kind](*_local_frame(sizes, rotations, offsets, resolution))
    voxels = distance * (resolution / 2.0)          # the grid spans 2 units
    return np.clip(voxels / truncation, -1.0, 1.0).astype(np.float16)


def _local_frame(sizes: np.ndarray, rotations: np.ndarray, offsets: np.ndarray,
                 resolution: int) -> list[np.ndarray]:
    """Local coordinates u, v, w (c, D, D, D) of the voxel centres and size components a, b, c
    (c, 1, 1, 1) of ``c`` solids.

    A voxel centre p maps to the solid's frame as R^T (p - offset); as p is a grid point, each
    local coordinate is a sum of three 1D terms, one per grid axis, broadcast to (c, D, D, D).
    """
    centres = (-1.0 + (np.arange(resolution) + 0.5) * (2.0 / resolution)).astype(np.float32)
    # terms[c, a, i, j] = (centre_i - offset[c, a]) * R[c, a, j]: grid axis a, local axis j
    terms = (centres[None, None, :, None] - offsets[:, :, None, None]) * rotations[:, :, None, :]
    terms = terms.astype(np.float32)
    local = [
        terms[:, 0, :, None, None, j] + terms[:, 1, None, :, None, j]
        + terms[:, 2, None, None, :, j]
        for j in range(3)
    ]
    size = [sizes[:, j, None, None, None].astype(np.float32) for j in range(3)]
    return [*local, *size]


# Inside tests: local coordinates u, v, w (c, D, D, D) and size components a, b, c (c, 1, 1, 1).

def _inside_sphere(u: Array, v: Array, w: Array, a: Array, b: Array, c: Array) -> Array:
    return u * u + v * v + w * w <= a * a


def _inside_ellipsoid(u: Array, v: Array, w: Array, a: Array, b: Array, c: Array) -> Array:
    return (u / a) ** 2 + (v / b) ** 2 + (w / c) ** 2 <= 1.0


def _inside_box(u: Array, v: Array, w: Array, a: Array, b: Array, c: Array) -> Array:
    return (np.abs(u) <= a) & (np.abs(v) <= b) & (np.abs(w) <= c)


def _inside_cylinder(u: Array, v: Array, w: Array, a: Array, b: Array, c: Array) -> Array:
    return (u * u + v * v <= a * a) & (np.abs(w) <= b)


def _inside_cone(u: Array, v: Array, w: Array, a: Array, b: Array, c: Array) -> Array:
    radius = a * (b - w) / (2 * b)
    return (np.abs(w) <= b) & (u * u + v * v <= radius * radius)


def _inside_torus(u: Array, v: Array, w: Array, a: Array, b: Array, c: Array) -> Array:
    ring = np.sqrt(u * u + v * v) - a
    return ring * ring + w * w <= b * b


def _inside_capsule(u: Array, v: Array, w: Array, a: Array, b: Array, c: Array) -> Array:
    along = np.abs(w) - b
    along = np.maximum(along, 0.0, out=along)
    return u * u + v * v + along * along <= a * a


_INSIDE: dict[str, Callable[..., np.ndarray]] = {
    "sphere": _inside_sphere, "ellipsoid": _inside_ellipsoid, "box": _inside_box,
    "cylinder": _inside_cylinder, "cone": _inside_cone, "torus": _inside_torus,
    "capsule": _inside_capsule,
}


# Signed distances (negative inside) in the solid's units, same arguments as the inside tests.

def _length(*parts: Array) -> Array:
    return np.sqrt(sum(part * part for part in parts))


def _distance_sphere(u: Array, v: Array, w: Array, a: Array, b: Array, c: Array) -> Array:
    return _length(u, v, w) - a


def _distance_ellipsoid(u: Array, v: Array, w: Array, a: Array, b: Array, c: Array) -> Array:
    k0 = _length(u / a, v / b, w / c)
    k1 = _length(u / (a * a), v / (b * b), w / (c * c))
    centre = np.broadcast_to(-np.minimum(np.minimum(a, b), c), u.shape).astype(u.dtype)
    return np.divide(k0 * (k0 - 1), k1, out=centre, where=k1 > 1e-12)  # k1 = 0: the centre


def _distance_box(u: Array, v: Array, w: Array, a: Array, b: Array, c: Array) -> Array:
    q = [np.abs(u) - a, np.abs(v) - b, np.abs(w) - c]
    outside = _length(*(np.maximum(x, 0.0) for x in q))
    return outside + np.minimum(np.maximum(np.maximum(q[0], q[1]), q[2]), 0.0)


def _distance_cylinder(u: Array, v: Array, w: Array, a: Array, b: Array, c: Array) -> Array:
    radial, axial = _length(u, v) - a, np.abs(w) - b
    outside = _length(np.maximum(radial, 0.0), np.maximum(axial, 0.0))
    return outside + np.minimum(np.maximum(radial, axial), 0.0)


def _distance_cone(u: Array, v: Array, w: Array, a: Array, b: Array, c: Array) -> Array:
    """Capped cone of base radius a at w = -b and apex at w = +b (Quilez's sdCappedCone), in
    the (r, w) half-plane: the nearer of the base disc and the slanted side."""
    r = _length(u, v)
    cap_r = np.where(w < 0, np.maximum(r - a, 0.0), r)
    cap_w = np.abs(w) - b
    t = np.clip((r * a + 2 * b * (b - w)) / (a * a + 4 * b * b), 0.0, 1.0)
    side_r, side_w = r - a * t, w - b + 2 * b * t       # side from the apex (0, b) to (a, -b)
    distance = np.sqrt(np.minimum(cap_r * cap_r + cap_w * cap_w,
                                  side_r * side_r + side_w * side_w))
    return np.where((side_r < 0) & (cap_w < 0), -distance, distance)


def _distance_torus(u: Array, v: Array, w: Array, a: Array, b: Array, c: Array) -> Array:
    return _length(_length(u, v) - a, w) - b


def _distance_capsule(u: Array, v: Array, w: Array, a: Array, b: Array, c: Array) -> Array:
    return _length(u, v, np.maximum(np.abs(w) - b, 0.0)) - a


_DISTANCE: dict[str, Callable[..., np.ndarray]] = {
    "sphere": _distance_sphere, "ellipsoid": _distance_ellipsoid, "box": _distance_box,
    "cylinder": _distance_cylinder, "cone": _distance_cone, "torus": _distance_torus,
    "capsule": _distance_capsule,
}


# Samplers: ``m`` random size triples of one kind and their bounding radii (all <= 0.9).
# Thin dimensions (half-thickness, radius) are at least 0.15.

def _sample_sphere(rng: np.random.Generator, m: int) -> tuple[Sizes, Radii]:
    radius = rng.uniform(0.3, 0.85, m)
    return np.stack([radius, radius, radius], axis=1), radius


def _sample_ellipsoid(rng: np.random.Generator, m: int) -> tuple[Sizes, Radii]:
    longest = rng.uniform(0.5, 0.9, m)
    ratios = rng.uniform(0.35, 0.9, (m, 2))
    ratios[:, 1] = np.minimum(ratios[:, 1], 0.75)   # at least one axis clearly shorter
    semi = np.column_stack([longest, longest[:, None] * ratios])
    return rng.permuted(semi, axis=1), longest


def _sample_box(rng: np.random.Generator, m: int) -> tuple[Sizes, Radii]:
    radius = rng.uniform(0.55, 0.9, m)
    proportions = rng.uniform(0.4, 1.0, (m, 3))
    half = radius[:, None] * proportions / np.linalg.norm(proportions, axis=1, keepdims=True)
    return half, radius


def _sample_round(rng: np.random.Generator, m: int, lo: float, hi: float,
                  angles: tuple[float, float]) -> tuple[Sizes, Radii]:
    """(radius, half-height, 0) of solids inscribed in a ball of random radius in [lo, hi]:
    the angle between axis and rim direction sets the shape from rod-like to disc-like."""
    ball = rng.uniform(lo, hi, m)
    angle = rng.uniform(*angles, m)
    sizes = np.column_stack([ball * np.sin(angle), ball * np.cos(angle), np.zeros(m)])
    return sizes, ball


def _sample_cylinder(rng: np.random.Generator, m: int) -> tuple[Sizes, Radii]:
    return _sample_round(rng, m, 0.5, 0.9, (0.3, 1.2))


def _sample_cone(rng: np.random.Generator, m: int) -> tuple[Sizes, Radii]:
    return _sample_round(rng, m, 0.55, 0.9, (0.4, 1.1))


def _sample_torus(rng: np.random.Generator, m: int) -> tuple[Sizes, Radii]:
    outer = rng.uniform(0.6, 0.9, m)
    tube = outer * rng.uniform(0.25, 0.4, m)        # leaves a hole at least 0.24 across
    return np.column_stack([outer - tube, tube, np.zeros(m)]), outer


def _sample_capsule(rng: np.random.Generator, m: int) -> tuple[Sizes, Radii]:
    reach = rng.uniform(0.55, 0.9, m)
    radius = reach * rng.uniform(0.28, 0.5, m)
    return np.column_stack([radius, reach - radius, np.zeros(m)]), reach


_SAMPLERS: dict[str, Callable[[np.random.Generator, int], tuple[Sizes, Radii]]] = {
    "sphere": _sample_sphere, "ellipsoid": _sample_ellipsoid, "box": _sample_box,
    "cylinder": _sample_cylinder, "cone": _sample_cone, "torus": _sample_torus,
    "capsule": _sample_capsule,
}
