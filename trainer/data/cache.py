"""On-disk cache of the occupancy grids made from shape files.

An entry is keyed by the SHA-256 of the file's content (and of the files it reads besides, such
as a .gltf's buffers), the resolution and ``voxelize.METHOD_VERSION``, so renaming or moving a
file keeps its entry and editing it makes a new one. Entries are bit-packed ``.npy`` files
(4 KiB at 32^3), written atomically. The folder is ``$SHAPE_EXPLORER_CACHE`` if set, else
``$XDG_CACHE_HOME/shape-latent-explorer/voxels``, else ``~/.cache/shape-latent-explorer/voxels``.
A cache that cannot be written never fails an import: ``VoxelCache.error`` says why. Files that
fail are not cached: they are read again on the next import (and import once fixed).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from trainer.atomic import atomic_write
from trainer.data.voxelize import METHOD_VERSION
from trainer.errors import DataError

CACHE_ENV = "SHAPE_EXPLORER_CACHE"
# entries, and the temp files of interrupted writes (.KEY.npy.XXXXXXXX.tmp, .KEY.XXXXXXXX.tmp)
_ENTRY = re.compile(r"[0-9a-f]{64}\.npy|\.[0-9a-f]{64}(\.npy)?\.[0-9a-f]{8}\.tmp")


def default_cache_dir() -> Path:
    """The cache folder named by the environment (module docstring)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "shape-latent-explorer" / "voxels"


def cache_key(contents: Iterable[bytes], resolution: int) -> str:
    """The entry name for a shape read from ``contents`` (the file's bytes first)."""
    digest = hashlib.sha256(f"voxels v{METHOD_VERSION} {resolution}^3\n".encode())
    for content in contents:
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


class VoxelCache:
    """Grids by key in one folder; misses and unreadable entries both return None."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.error: str | None = None

    def load(self, key: str, resolution: int) -> np.ndarray | None:
        """The (D, D, D) uint8 grid stored under ``key``, or None."""
        try:
            packed = np.load(self._path(key), allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        size = resolution**3
        if packed.dtype != np.uint8 or packed.shape != (-(-size // 8),):
            return None
        return np.unpackbits(packed, count=size).reshape((resolution,) * 3)

    def save(self, key: str, grid: np.ndarray) -> None:
        """Store ``grid``; after a first failure (``error``) the cache is left alone."""
        if self.error is not None:
            return
        packed = np.packbits(np.asarray(grid, dtype=bool).ravel())
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write(self._path(key), lambda file: np.save(file, packed))
        except OSError as exc:
            self.error = f"cannot write the voxel cache {self.directory}: {exc.strerror or exc}"

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.npy"


def clear_cache(directory: Path | None = None) -> int:
    """Delete the cached grids (only files named like entries) and return how many."""
    directory = Path(directory) if directory is not None else default_cache_dir()
    if not directory.is_dir():
        return 0
    try:
        entries = [p for p in directory.iterdir() if _ENTRY.fullmatch(p.name)]
        for entry in entries:
            entry.unlink(missing_ok=True)
    except OSError as exc:
        raise DataError(f"cannot clear the voxel cache {directory}: {exc.strerror or exc}") \
            from exc
    return len(entries)
