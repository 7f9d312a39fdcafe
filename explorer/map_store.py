"""Latent maps on disk, so a model opened again shows its map without encoding or t-SNE.

An entry is keyed by a hash of the model's weights, the mapped shapes' grids, the scope and the
method; it holds the codes and the 2D points (and PCA's plane), as one ``.npz`` written
atomically. The folder is ``latent-maps`` beside the voxel cache (trainer.data.cache). A store
that cannot be read or written never fails a map: it is computed as if there were no entry.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch
import xxhash

from explorer.latent_map import (
    PCA,
    LatentMap,
    MapCodes,
    NeighbourProjection,
    PCAProjection,
    Projection,
    map_positions,
)
from explorer.session import ExplorerSession
from trainer.atomic import atomic_write
from trainer.data.cache import CACHE_ENV, default_cache_dir

FORMAT = 1


def default_store_dir() -> Path:
    """``$SHAPE_EXPLORER_CACHE/latent-maps``, else ``latent-maps`` beside the voxel cache."""
    if os.environ.get(CACHE_ENV):
        return default_cache_dir() / "latent-maps"
    return default_cache_dir().parent / "latent-maps"


class MapStore:
    """Maps by (model, shapes, scope, method) in one folder."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_store_dir()

    def key(self, session: ExplorerSession, scope: str, method: str) -> str:
        """The entry name of this model's map of ``scope`` by ``method``."""
        digest = xxhash.xxh3_128(f"latent map v{FORMAT} {scope} {method}\n".encode())
        for name, tensor in sorted(session.model.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy())
        assert session.shapes is not None
        positions = map_positions(session, scope)
        digest.update(positions.astype(np.int64))
        grids = session.shapes.grids
        digest.update(np.ascontiguousarray(grids if len(positions) == len(grids)
                                           else grids[positions]))
        return digest.hexdigest()

    def load(self, session: ExplorerSession, scope: str, method: str,
             key: str | None = None) -> LatentMap | None:
        """The stored map (under ``key``, by default ``self.key(...)``), or None (no entry, or
        one that cannot be read)."""
        key = key or self.key(session, scope, method)
        try:
            with np.load(self.directory / f"{key}.npz", allow_pickle=False) as entry:
                codes, points = entry["codes"], entry["points"]
                mean, components = entry["mean"], entry["components"]
        except (OSError, ValueError, KeyError, EOFError):
            return None
        positions = map_positions(session, scope)
        if len(codes) != len(positions) or points.shape != (len(positions), 2):
            return None
        assert session.shapes is not None
        data = MapCodes(codes, positions, session.shapes.labels[positions],
                        session.shapes.class_names,
                        tuple(session.shape_name(int(p)) for p in positions))
        projection: Projection = (PCAProjection(mean, components, points) if method == PCA
                                  else NeighbourProjection(codes, points, method))
        return LatentMap(data, projection)

    def save(self, key: str, latent_map: LatentMap) -> None:
        """Store ``latent_map`` under ``key`` (silently nothing when the folder cannot be
        written)."""
        projection = latent_map.projection
        arrays = {"codes": latent_map.data.codes, "points": latent_map.points,
                  "mean": getattr(projection, "mean", np.zeros(0)),
                  "components": getattr(projection, "components", np.zeros(0))}
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write(self.directory / f"{key}.npz",
                         lambda file: file.write(buffer.getvalue()))
        except OSError:
            pass
