"""The Explore view's background work, as plain functions of plain data (Qt-free).

These run on the decode worker thread: decoding codes to grids, meshing grids and rendering
thumbnails. Everything they return is numpy arrays, meshes and dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from explorer.explore_state import GalleryRecipe
from explorer.meshing import mesh_from_grid, smooth_mesh
from explorer.session import ExplorerSession
from explorer.thumbnails import fit_frame, render_thumbnail

THUMBNAIL_SIZE = 96


@dataclass(frozen=True)
class Shape:
    """A decoded latent code: its grid, mesh at ``threshold`` (None: no surface), picture.

    ``inside_low``: the grid holds signed distances, inside below the threshold. ``smooth``:
    the mesh is Taubin-smoothed, not the raw marching-cubes surface."""

    code: np.ndarray
    grid: np.ndarray
    mesh: trimesh.Trimesh | None
    threshold: float
    thumbnail: np.ndarray | None = None
    inside_low: bool = False
    smooth: bool = False


@dataclass(frozen=True)
class Endpoint:
    """One end of an interpolation: a latent code, or a grid that is encoded first."""

    label: str
    code: np.ndarray | None = None
    grid: np.ndarray | None = None

    def resolve(self, session: ExplorerSession) -> np.ndarray:
        if self.code is not None:
            return np.asarray(self.code, dtype=np.float64)
        return session.encode(self.grid[None])[0]


class GridCache:
    """The last decoded code's grid, so a threshold change re-meshes without decoding.

    One cache per session; used only by the worker thread.
    """

    def __init__(self) -> None:
        self._key: bytes | None = None
        self._grid: np.ndarray | None = None

    def grid(self, session: ExplorerSession, code: np.ndarray) -> np.ndarray:
        key = np.asarray(code, dtype=np.float32).tobytes()
        if key != self._key or self._grid is None:
            self._grid = session.decode(code)
            self._key = key
        return self._grid


def surface(grid: np.ndarray, threshold: float, *, inside_low: bool = False,
            smooth: bool = False) -> trimesh.Trimesh | None:
    """The mesh of ``grid`` at ``threshold``, Taubin-smoothed when ``smooth``."""
    mesh = mesh_from_grid(grid, threshold, inside_low=inside_low)
    return smooth_mesh(mesh) if smooth and mesh is not None else mesh


def decode_shape(session: ExplorerSession, code: np.ndarray, threshold: float,
                 cache: GridCache, *, smooth: bool = False) -> Shape:
    """One code -> grid (cached) -> mesh, for the main view."""
    grid = cache.grid(session, code)
    low = session.inside_low
    return Shape(np.array(code, dtype=np.float64), grid,
                 surface(grid, threshold, inside_low=low, smooth=smooth), threshold,
                 inside_low=low, smooth=smooth)


def decode_batch(session: ExplorerSession, codes: np.ndarray, threshold: float, *,
                 common_frame: bool, smooth: bool = False) -> list[Shape]:
    """Codes (K, code_dim) -> K shapes with meshes and thumbnails, decoded as one batch.

    ``common_frame`` draws every thumbnail at one scale (for sequences).
    """
    codes = np.asarray(codes, dtype=np.float64)
    return _shapes(codes, session.decode(codes), threshold, common_frame, session.inside_low,
                   smooth)


def decode_gallery(session: ExplorerSession, recipe: GalleryRecipe, threshold: float, *,
                   smooth: bool = False) -> list[Shape]:
    """The gallery's shapes: its recipe's codes (a fitted density is fitted here, on the
    worker, the first time) decoded and meshed each in its own frame."""
    return decode_batch(session, recipe.codes(session), threshold, common_frame=False,
                        smooth=smooth)


def remesh(shapes: list[Shape], threshold: float, *, common_frame: bool,
           smooth: bool = False) -> list[Shape]:
    """The same shapes meshed and drawn at another threshold or smoothing (no decoding)."""
    if not shapes:
        return []
    return _shapes(np.stack([s.code for s in shapes]), np.stack([s.grid for s in shapes]),
                   threshold, common_frame, shapes[0].inside_low, smooth)


def data_preview(grid: np.ndarray, size: int, level: float = 0.5,
                 inside_low: bool = False) -> np.ndarray:
    """A (size, size, 4) thumbnail of a data set shape's grid (D, D, D) at its iso ``level``."""
    return render_thumbnail(grid, level, size, inside_low=inside_low)


def interpolation(session: ExplorerSession, start: Endpoint, end: Endpoint, steps: int,
                  method: str, threshold: float, smooth: bool = False) -> list[Shape]:
    """Encode the endpoints if needed, interpolate and decode the ``steps`` codes."""
    codes = session.interpolate(start.resolve(session), end.resolve(session), steps, method)
    return decode_batch(session, codes, threshold, common_frame=True, smooth=smooth)


def _shapes(codes: np.ndarray, grids: np.ndarray, threshold: float, common_frame: bool,
            inside_low: bool, smooth: bool) -> list[Shape]:
    frame = fit_frame(grids, threshold, inside_low=inside_low) if common_frame else None
    return [Shape(code, grid, surface(grid, threshold, inside_low=inside_low, smooth=smooth),
                  threshold, render_thumbnail(grid, threshold, THUMBNAIL_SIZE, frame=frame,
                                              inside_low=inside_low), inside_low, smooth)
            for code, grid in zip(codes, grids, strict=True)]
