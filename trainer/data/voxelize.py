"""Triangle meshes -> filled occupancy grids, and occupancy grids -> another resolution.

Framing: a mesh is centred on its bounding-box centre and scaled uniformly so that its longest
side spans ``D - 2`` voxels (one empty voxel of margin on each side). Axes are kept. Grids use
the project convention: (D, D, D) uint8 indexed [x, y, z], covering [-1, 1]^3, voxel i centred at
-1 + (i + 0.5) * 2 / D. Below, "voxel units" put voxel i's centre at coordinate i.

Two filling methods; both start from the *surface shell*, the voxels the surface passes through:
every triangle is sampled in rows parallel to its longest edge, rows and samples at most 0.4
voxel apart, so every point of the surface is within 0.45 voxel of a sample and the shell has no
gaps a 6-connected path could slip through; the sample count grows with area and perimeter, not
with the square of the longest edge (long thin triangles are common in CAD meshes).

- Watertight meshes (every edge shared by exactly two faces): an inside test at the voxel centres
  by vertical rays. Each triangle is rasterised onto the (x, y) grid of voxel columns, and every
  crossing adds +-1 to the voxels above it: nonzero winding when the faces are consistently
  oriented (overlapping closed parts merge into their union), crossing parity otherwise. The
  occupied volume matches the mesh volume to within the sampling error of the voxel centres.
  Parts thinner than about a voxel have no centre inside them; shell voxels with no inside voxel
  next to them are kept, so thin legs and sheets stay as one-voxel-thick parts.
- Other meshes (open, with holes, triangle soups): the regions the shell encloses
  (``scipy.ndimage.binary_fill_holes``; holes up to about two voxels wide are bridged by looking
  for the interior inside the shell dilated by one voxel), plus the shell voxels whose centre
  crossing parity puts inside along at least two of the x, y and z rays (a hole spoils only the
  rays through it), plus thin parts as above; enclosed cavities are filled. A sphere with scattered
  missing faces gives the same grid as the closed sphere (IoU > 0.99). Limits: a hole wider than
  about two voxels lets the fill leak, and that part stays a hollow shell (a box without its lid
  becomes a cup); where holes line up along two axes a surface voxel can be decided wrongly; open
  sheets (single-sided walls) stay one voxel thick.

Memory stays O(D^3 + faces): triangles are processed in chunks, and the samples, rows and
(triangle, column) pairs of one chunk are bounded by ``_CHUNK``. Exact hits on triangle edges are
avoided by shifting the ray columns by a tiny fraction of a voxel.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import trimesh
from scipy import ndimage

from trainer import budgets
from trainer.errors import DataError

METHOD_VERSION = 2      # bump when any change alters the grid made from a file (cache key)
MARGIN_VOXELS = 1       # empty voxels between the framed mesh and each face of the grid
_SAMPLE_STEP = 0.4      # voxels: spacing of the sample rows on a triangle and along each row
_CHUNK = 1 << 20        # samples, rows or (triangle, column) pairs handled at once
_FACE_CHUNK = 1 << 16   # triangles gathered at once
_RAY_SHIFT = np.array([1.234e-4, 2.718e-4])  # voxels: ray columns off the exact centres
_FLAT = 1e-6            # relative thickness below which a mesh counts as flat
_HUGE = 1e100           # coordinates above this are scaled down before any product
_CUBE = np.ones((3, 3, 3), dtype=bool)


def voxelize_mesh(mesh: trimesh.Trimesh, resolution: int) -> np.ndarray:
    """The filled occupancy (D, D, D) uint8 of ``mesh`` framed in the grid (module docstring).

    Raises DataError for meshes that cannot be filled: no triangles, non-finite coordinates,
    zero area or all vertices in one plane.
    """
    vertices, faces = _checked_geometry(mesh)
    points = frame_vertices(vertices, resolution)
    work = voxelize_work(points, faces)
    if work > budgets.VOXELIZE_WORK:
        raise budgets.BudgetError(
            f"too costly to voxelise at {resolution}^3 ({work / 1e6:,.0f} million samples, the "
            f"limit is {budgets.VOXELIZE_WORK / 1e6:,.0f} million): many large overlapping "
            "triangles; simplify the mesh or use a lower resolution")
    shell = surface_voxels(points, faces, resolution)
    closed, oriented = _closed_and_oriented(faces, len(vertices))
    if closed:
        inside = inside_voxels(points, faces, resolution, signed=oriented)
        return (inside | _thin_parts(shell, inside)).astype(np.uint8)
    inside = (_enclosed(shell) & ~shell) | (shell & _ray_vote(points, faces, resolution))
    solid = ndimage.binary_fill_holes(inside | _thin_parts(shell, inside))
    return solid.astype(np.uint8)


def frame_vertices(vertices: np.ndarray, resolution: int) -> np.ndarray:
    """Vertices in voxel units: bounding box centred, longest side ``D - 2 * margin`` voxels."""
    low, high = vertices.min(axis=0), vertices.max(axis=0)
    scale = (resolution - 2 * MARGIN_VOXELS) / float((high - low).max())
    return (vertices - (low + high) / 2) * scale + (resolution - 1) / 2


def voxelize_work(points: np.ndarray, faces: np.ndarray) -> int:
    """An upper bound of the surface samples plus the ray-column candidates of all three axes
    that voxelising the triangles (``points`` in voxel units) takes."""
    work = 0
    for tris in _triangle_chunks(points, faces):
        lengths = np.linalg.norm(np.roll(tris, -1, axis=1) - tris, axis=2).max(axis=1)
        height = np.linalg.norm(_cross3(tris), axis=1) / np.maximum(lengths, 1e-300)
        extent = tris.max(axis=1) - tris.min(axis=1) + 1
        work += int(((height / _SAMPLE_STEP + 2) * (lengths / _SAMPLE_STEP + 2)).sum())
        work += int((extent[:, 0] * extent[:, 1] + extent[:, 1] * extent[:, 2]
                     + extent[:, 0] * extent[:, 2]).sum())
    return work


def surface_voxels(points: np.ndarray, faces: np.ndarray, resolution: int) -> np.ndarray:
    """(D, D, D) bool: voxels holding a surface sample (``points`` in voxel units)."""
    d = resolution
    shell = np.zeros(d**3, dtype=bool)
    for tris in _triangle_chunks(points, faces):
        for samples in _surface_samples(tris):
            index = np.clip(np.floor(samples + 0.5), 0, d - 1).astype(np.intp)
            shell[(index[:, 0] * d + index[:, 1]) * d + index[:, 2]] = True
    return shell.reshape(d, d, d)


def inside_voxels(points: np.ndarray, faces: np.ndarray, resolution: int, *,
                  signed: bool, axis: int = 2) -> np.ndarray:
    """(D, D, D) bool: voxel centres inside a closed mesh, by rays along ``axis``.

    ``signed``: nonzero winding (needs consistently oriented faces), else crossing parity.
    """
    order = ((axis + 1) % 3, (axis + 2) % 3, axis)   # the rays run along the last axis
    points = points[:, order]
    d = resolution
    counts = np.zeros(d * d * (d + 1))
    for tris in _triangle_chunks(points, faces):
        for column, height, weight in _column_crossings(tris, d, signed):
            # A crossing at height h counts for the voxels whose centre lies above it.
            above = np.clip(np.ceil(height), 0, d).astype(np.int64)
            counts += np.bincount(column * (d + 1) + above, weights=weight,
                                  minlength=counts.size)
    winding = np.rint(counts).astype(np.int64).reshape(d, d, d + 1)[:, :, :d].cumsum(axis=2)
    inside = winding != 0 if signed else winding % 2 == 1
    return inside.transpose(np.argsort(order))


def resample_grid(grid: np.ndarray, resolution: int) -> np.ndarray:
    """A cubic occupancy grid (nonzero = filled) at ``resolution``^3, uint8.

    Growing by an integer factor repeats voxels (exact). Otherwise a target voxel is filled
    when at least half of it is (the block mean for integer shrink factors, else trilinear
    interpolation between voxel centres), and parts that would vanish stay one voxel thick, as
    for meshes.
    """
    grid = np.asarray(grid) != 0
    size = grid.shape[0]
    if resolution % size == 0:
        f = resolution // size
        return grid.repeat(f, axis=0).repeat(f, axis=1).repeat(f, axis=2).astype(np.uint8)
    if size % resolution == 0:
        f = size // resolution
        fraction = grid.reshape(resolution, f, resolution, f, resolution, f).mean(axis=(1, 3, 5))
    else:
        fraction = ndimage.zoom(grid.astype(np.float32), resolution / size, order=1,
                                mode="grid-constant", grid_mode=True)
    inside = fraction >= 0.5
    return (inside | _thin_parts(fraction > 0, inside)).astype(np.uint8)


def _checked_geometry(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray]:
    """(vertices, faces) without unreferenced vertices, or DataError if unusable."""
    if len(mesh.faces) == 0:
        raise DataError("no triangles in the file")
    faces = np.asarray(mesh.faces, dtype=np.int64)
    used = np.zeros(len(mesh.vertices), dtype=bool)
    used[faces] = True
    vertices = np.asarray(mesh.vertices, dtype=np.float64)[used]
    faces = (np.cumsum(used) - 1)[faces]
    if not np.isfinite(vertices).all():
        raise DataError("vertices with NaN or infinite coordinates")
    peak = np.abs(vertices).max()
    if peak > _HUGE:   # products of such coordinates overflow; the framing ignores the scale
        vertices = vertices / peak
    if not any(_cross3(tris).any() for tris in _triangle_chunks(vertices, faces)):
        raise DataError("zero area: every triangle is degenerate")
    centred = vertices - vertices.mean(axis=0)
    spread = np.sqrt(np.maximum(np.linalg.eigvalsh(centred.T @ centred), 0.0))
    if spread[0] <= _FLAT * spread[2]:
        raise DataError("zero volume: all vertices lie in one plane")
    return vertices, faces


def _closed_and_oriented(faces: np.ndarray, n_vertices: int) -> tuple[bool, bool]:
    """Whether every edge is shared by exactly two triangles (watertight), and whether those
    run it in opposite directions (consistent winding). One sort of 3F integer keys."""
    start, end = faces.ravel(), faces[:, [1, 2, 0]].ravel()
    keys = (np.minimum(start, end) * n_vertices + np.maximum(start, end)) * 2 + (start < end)
    keys.sort()
    edges = keys >> 1
    if len(keys) % 2 or (edges[0::2] != edges[1::2]).any() or (edges[1:-1:2] == edges[2::2]).any():
        return False, False
    return True, bool((keys[0::2] + 1 == keys[1::2]).all())


def _triangle_chunks(points: np.ndarray, faces: np.ndarray) -> Iterator[np.ndarray]:
    """(t, 3, 3) corner coordinates of consecutive runs of at most ``_FACE_CHUNK`` triangles."""
    for start in range(0, len(faces), _FACE_CHUNK):
        yield points[faces[start:start + _FACE_CHUNK]]


def _surface_samples(tris: np.ndarray) -> Iterator[np.ndarray]:
    """(n, 3) points on the triangles (t, 3, 3), in chunks: rows parallel to the longest edge AB,
    from AB to the opposite corner C, at most ``_SAMPLE_STEP`` apart, each sampled at most
    ``_SAMPLE_STEP`` apart. As the angles at A and B are at most 90 degrees, each point of a
    triangle projects onto the row below it within that row's ends: it lies within
    sqrt(1 + 1/4) * _SAMPLE_STEP of a sample."""
    lengths = np.linalg.norm(np.roll(tris, -1, axis=1) - tris, axis=2)
    first = lengths.argmax(axis=1)   # the longest edge runs from corner `first` to the next
    every = np.arange(len(tris))
    a, b, c = (tris[every, (first + k) % 3] for k in range(3))
    longest = lengths[every, first]
    height = np.linalg.norm(np.cross(b - a, c - a), axis=1) / np.maximum(longest, 1e-300)
    rows = np.ceil(height / _SAMPLE_STEP).astype(np.int64) + 1
    for part in _runs_with_bounded_cost(rows, _CHUNK):
        tri, row = _ragged(rows[part])
        tri = part[tri]
        t = (row / np.maximum(rows[tri] - 1, 1))[:, None]
        start = a[tri] + t * (c[tri] - a[tri])
        end = b[tri] + t * (c[tri] - b[tri])
        per_row = np.ceil((1 - t[:, 0]) * longest[tri] / _SAMPLE_STEP).astype(np.int64) + 1
        for rows_part in _runs_with_bounded_cost(per_row, _CHUNK):
            owner, k = _ragged(per_row[rows_part])
            owner = rows_part[owner]
            f = (k / np.maximum(per_row[owner] - 1, 1))[:, None]
            yield start[owner] + f * (end[owner] - start[owner])


def _ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, local) for counts (n,): each i repeated counts[i] times, with 0..counts[i]-1."""
    owner = np.repeat(np.arange(len(counts)), counts)
    local = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, local


def _column_crossings(tris: np.ndarray, d: int,
                      signed: bool) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Where vertical rays through the (shifted) voxel-column centres cross the triangles.

    Yields (flat column index x * D + y, crossing height in voxel units, weight) per chunk of
    (triangle, column) candidates. The weight is +1 where the ray enters a consistently oriented
    surface (face normal pointing down), -1 where it leaves; 1 when not ``signed``.
    """
    xy = tris[:, :, :2] - _RAY_SHIFT
    low = np.clip(np.ceil(xy.min(axis=1)), 0, d).astype(np.int64)
    high = np.clip(np.floor(xy.max(axis=1)), -1, d - 1).astype(np.int64)
    extent = np.maximum(high - low + 1, 0)
    area2 = _cross(xy[:, 1] - xy[:, 0], xy[:, 2] - xy[:, 0])
    cost = np.where(area2 != 0, extent[:, 0] * extent[:, 1], 0)
    for part in _runs_with_bounded_cost(cost, _CHUNK):
        tri, local = _ragged(cost[part])
        tri = part[tri]
        ny = extent[tri, 1]
        cx, cy = low[tri, 0] + local // ny, low[tri, 1] + local % ny
        a, b, c = xy[tri, 0], xy[tri, 1], xy[tri, 2]
        p = np.column_stack([cx, cy])
        wb = _cross(p - a, c - a) / area2[tri]
        wc = _cross(b - a, p - a) / area2[tri]
        wa = 1.0 - wb - wc
        hit = (wa >= 0) & (wb >= 0) & (wc >= 0)
        z = tris[tri[hit], :, 2]
        height = wa[hit] * z[:, 0] + wb[hit] * z[:, 1] + wc[hit] * z[:, 2]
        weight = -np.sign(area2[tri[hit]]) if signed else np.ones(int(hit.sum()))
        yield cx[hit] * d + cy[hit], height, weight


def _runs_with_bounded_cost(cost: np.ndarray, limit: int) -> Iterator[np.ndarray]:
    """Index arrays of consecutive items whose costs sum to at most ``limit`` (or one item)."""
    total = np.cumsum(cost)
    start = 0
    while start < len(cost):
        base = total[start - 1] if start else 0
        stop = max(int(np.searchsorted(total, base + limit, side="right")), start + 1)
        yield np.arange(start, stop)
        start = stop


def _cross3(tris: np.ndarray) -> np.ndarray:
    """(t, 3) cross products of two edges of each triangle (t, 3, 3): normals scaled by 2 x area."""
    return np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """z component of the cross product of 2D vectors (..., 2)."""
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def _ray_vote(points: np.ndarray, faces: np.ndarray, resolution: int) -> np.ndarray:
    """Voxel centres that crossing parity puts inside along at least two of the three axes."""
    votes = sum(inside_voxels(points, faces, resolution, signed=False, axis=axis).astype(np.uint8)
                for axis in range(3))
    return votes >= 2


def _thin_parts(shell: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Shell voxels with no inside voxel among their 26 neighbours, plus the shell voxels
    touching those (so a thin part stays attached to the body it grows from)."""
    thin = shell & ~ndimage.binary_dilation(inside, _CUBE)
    return thin | (shell & ndimage.binary_dilation(thin, _CUBE))


def _enclosed(shell: np.ndarray) -> np.ndarray:
    """Voxels enclosed by the shell, or by the shell with gaps of up to ~2 voxels closed."""
    pad = 2
    padded = np.pad(shell, pad)
    closed = ndimage.binary_dilation(padded, _CUBE)
    interior = ndimage.binary_fill_holes(closed) & ~closed
    enclosed = ndimage.binary_fill_holes(padded) | ndimage.binary_dilation(interior, _CUBE)
    return enclosed[pad:-pad, pad:-pad, pad:-pad]
