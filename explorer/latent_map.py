"""The latent map, Qt-free: the data set's codes projected to 2D, with neighbours, paths
through picked shapes and attribute directions.

The codes mapped are the posterior means of the data set's validation (or all) shapes. PCA
projects them exactly and at once; t-SNE (openTSNE, the optional ``[maps]`` extra) shows their
neighbourhoods better but takes seconds, so it runs as a cancellable task that reports its
progress through a ``TaskState``. New codes (the current code, prior samples, a path) go into
the same 2D frame: exactly for PCA; for t-SNE at the distance-weighted mean of the map
positions of their nearest data codes (a data code lands on its own point).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from explorer.session import ExplorerSession
from trainer.errors import ShapeExplorerError

if TYPE_CHECKING:
    from explorer.map_store import MapStore

PCA, TSNE = "PCA", "t-SNE"
METHODS = (PCA, TSNE)
VALIDATION, ALL = "validation", "all"
SCOPES = (VALIDATION, ALL)
ENCODE_BATCH = 64
PLACEMENT_NEIGHBOURS = 5
"""Data codes whose map positions place a new code on a t-SNE map."""
PARALLEL_FROM = 1000
"""Codes from which t-SNE runs on two threads."""
TSNE_INSTALL_HINT = ("t-SNE needs the openTSNE package: pip install 'shape-latent-explorer[maps]' "
                     "(or pip install openTSNE)")


class Cancelled(ShapeExplorerError):
    """A map computation was cancelled."""


@dataclass
class TaskState:
    """What a long computation reports (progress in [0, 1], what it does) and whether it was
    asked to stop; shared between the thread that runs it and the one that watches."""

    progress: float = 0.0
    stage: str = ""
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    def report(self, progress: float, stage: str | None = None) -> None:
        """Set the progress (and stage); raises Cancelled when a stop was asked for."""
        self.progress = float(min(max(progress, 0.0), 1.0))
        if stage is not None:
            self.stage = stage
        if self.cancelled:
            raise Cancelled("the map computation was cancelled")

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()


@dataclass(frozen=True)
class MapCodes:
    """The codes on the map: ``codes`` (N, code_dim) of the data set's shapes at ``positions``
    (indices into ``session.shapes``), their class ``labels`` into ``class_names`` and
    their ``names``."""

    codes: np.ndarray
    positions: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.codes)


def map_positions(session: ExplorerSession, scope: str = VALIDATION) -> np.ndarray:
    """Indices into ``session.shapes`` of the shapes a map of ``scope`` shows."""
    if scope not in SCOPES:
        raise ValueError(f"the map shows one of {SCOPES}, not {scope!r}")
    if session.shapes is None:
        raise ShapeExplorerError("The latent map needs the model's data set, which is not "
                                 "loaded (yet).")
    n = len(session.shapes)
    if scope == ALL or n < 2:
        return np.arange(n)
    mask = session.shapes.validation_mask(session.config.val_fraction, session.config.seed)
    return np.flatnonzero(mask)


def encode_for_map(session: ExplorerSession, scope: str = VALIDATION,
                   task: TaskState | None = None) -> MapCodes:
    """The posterior means of the shapes of ``scope``, encoded in batches (slow: call off the
    GUI thread); reports to and stops on ``task``."""
    task = task or TaskState()
    positions = map_positions(session, scope)
    assert session.shapes is not None
    grids = session.shapes.grids
    parts = []
    for start in range(0, len(positions), ENCODE_BATCH):
        task.report(start / max(len(positions), 1), "encoding the shapes")
        batch = positions[start:start + ENCODE_BATCH]
        parts.append(session.encode(grids[batch].astype(np.float32)))
    task.report(1.0)
    labels = session.shapes.labels[positions]
    return MapCodes(np.concatenate(parts), positions, labels, session.shapes.class_names,
                    tuple(session.shape_name(int(p)) for p in positions))


class Projection(Protocol):
    """Codes -> 2D map coordinates; ``points`` are the mapped codes' own coordinates."""

    method: str
    points: np.ndarray

    def project(self, codes: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class PCAProjection:
    """The plane of the codes' two directions of largest variance. Each direction's sign makes
    its largest loading positive, so the same codes give the same map."""

    mean: np.ndarray
    components: np.ndarray      # (2, code_dim)
    points: np.ndarray
    method: str = PCA

    def project(self, codes: np.ndarray) -> np.ndarray:
        """(M, code_dim) or (code_dim,) codes -> (M, 2) or (2,) map coordinates."""
        codes = np.asarray(codes, dtype=np.float64)
        return (codes - self.mean) @ self.components.T


def fit_pca(codes: np.ndarray) -> PCAProjection:
    """The PCA plane of ``codes`` (N, code_dim); a code width of 1 maps onto a line."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or len(codes) == 0:
        raise ValueError(f"PCA needs codes of shape (N, code_dim), got {codes.shape}")
    mean = codes.mean(axis=0)
    _, _, vt = np.linalg.svd(codes - mean, full_matrices=False)
    components = np.zeros((2, codes.shape[1]))
    components[:min(2, len(vt))] = vt[:2]
    for row in components:
        biggest = np.argmax(np.abs(row))
        if row[biggest] < 0:
            row *= -1
    return PCAProjection(mean, components, (codes - mean) @ components.T)


@dataclass(frozen=True)
class NeighbourProjection:
    """A non-linear map (t-SNE) of ``codes``: a new code is placed at the mean of the map
    positions of its nearest data codes, weighted by inverse latent distance."""

    codes: np.ndarray
    points: np.ndarray
    method: str = TSNE

    def project(self, codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes, dtype=np.float64)
        single = codes.ndim == 1
        queries = np.atleast_2d(codes)
        k = min(PLACEMENT_NEIGHBOURS, len(self.codes))
        distances = _distances(queries, self.codes)
        nearest = np.argsort(distances, axis=1)[:, :k]
        near = np.take_along_axis(distances, nearest, axis=1)
        weights = 1.0 / np.maximum(near, 1e-12)
        weights /= weights.sum(axis=1, keepdims=True)
        placed = np.einsum("mk,mkd->md", weights, self.points[nearest])
        return placed[0] if single else placed


def fit_tsne(codes: np.ndarray, task: TaskState | None = None, seed: int = 0,
             n_jobs: int | None = None) -> NeighbourProjection:
    """A t-SNE map of ``codes`` (openTSNE, Barnes-Hut), seeded, reporting to and stopping on
    ``task``. Raises ShapeExplorerError with the install command when openTSNE is missing.

    ``n_jobs`` defaults to two threads from PARALLEL_FROM codes on and one below, where
    OpenMP's waiting threads cost more than they bring on a busy machine.
    """
    try:
        from openTSNE import TSNE as OpenTSNE
    except ImportError as exc:
        raise ShapeExplorerError(TSNE_INSTALL_HINT) from exc
    codes = np.asarray(codes, dtype=np.float64)
    if len(codes) < 4:
        raise ShapeExplorerError("t-SNE needs at least 4 shapes on the map.")
    task = task or TaskState()
    if n_jobs is None:
        n_jobs = min(2, os.cpu_count() or 1) if len(codes) >= PARALLEL_FROM else 1
    model = OpenTSNE(perplexity=min(30.0, (len(codes) - 1) / 3), random_state=seed,
                     n_jobs=n_jobs, verbose=False)
    total = model.early_exaggeration_iter + model.n_iter
    done = [0]

    def step(_iteration: int, _error: float, _embedding: np.ndarray) -> bool:
        done[0] += 25
        try:
            task.report(0.1 + 0.9 * min(done[0] / total, 1.0), "optimising the t-SNE map")
        except Cancelled:
            return True     # openTSNE stops; fit_tsne raises below
        return False

    task.report(0.0, "finding neighbours")
    model.callbacks, model.callbacks_every_iters = step, 25
    points = np.asarray(model.fit(codes), dtype=np.float64)
    task.report(1.0)
    return NeighbourProjection(codes, points)


def fit_projection(codes: np.ndarray, method: str = PCA,
                   task: TaskState | None = None) -> Projection:
    """The map of ``codes`` by ``method`` (one of METHODS)."""
    if method == PCA:
        return fit_pca(codes)
    if method == TSNE:
        return fit_tsne(codes, task)
    raise ValueError(f"the map projects by one of {METHODS}, not {method!r}")


@dataclass(frozen=True)
class LatentMap:
    """Mapped codes and their projection."""

    data: MapCodes
    projection: Projection

    @property
    def points(self) -> np.ndarray:
        return self.projection.points


def compute_map(session: ExplorerSession, scope: str = VALIDATION, method: str = PCA,
                task: TaskState | None = None, codes: MapCodes | None = None) -> LatentMap:
    """Encode (unless ``codes`` are given) and project: the whole map, off the GUI thread."""
    task = task or TaskState()
    data = codes if codes is not None else encode_for_map(session, scope, task)
    return LatentMap(data, fit_projection(data.codes, method, task))


class MapCache:
    """Computed maps per model (in memory): by scope and method, and the encoded codes by
    scope, so another projection of the same model encodes nothing. A new model's weights
    (another snapshot of a run still training) start an empty cache. With a ``store``
    (explorer.map_store.MapStore) maps are also looked up on and written to disk."""

    def __init__(self, store: MapStore | None = None) -> None:
        self.store = store
        self._model: object | None = None
        self._maps: dict[tuple[str, str], LatentMap] = {}
        self._codes: dict[str, MapCodes] = {}
        self._lock = threading.Lock()

    def _for(self, session: ExplorerSession) -> None:
        if session.model is not self._model:
            self._model, self._maps, self._codes = session.model, {}, {}

    def get(self, session: ExplorerSession, scope: str, method: str) -> LatentMap | None:
        with self._lock:
            self._for(session)
            return self._maps.get((scope, method))

    def codes(self, session: ExplorerSession, scope: str) -> MapCodes | None:
        with self._lock:
            self._for(session)
            return self._codes.get(scope)

    def put_codes(self, session: ExplorerSession, scope: str, codes: MapCodes) -> None:
        """Remember the encoded codes of ``scope`` (projections of them encode nothing)."""
        with self._lock:
            self._for(session)
            self._codes[scope] = codes

    def put(self, session: ExplorerSession, scope: str, method: str,
            latent_map: LatentMap) -> None:
        with self._lock:
            self._for(session)
            self._maps[(scope, method)] = latent_map
            self._codes[scope] = latent_map.data

    def compute(self, session: ExplorerSession, scope: str, method: str,
                task: TaskState | None = None) -> LatentMap:
        """The cached map, else compute (reusing the scope's codes) and remember it."""
        if (cached := self.get(session, scope, method)) is not None:
            return cached
        key = self.store.key(session, scope, method) if self.store is not None else ""
        stored = self.store.load(session, scope, method, key) if self.store is not None else None
        latent_map = stored or compute_map(session, scope, method, task,
                                           self.codes(session, scope))
        self.put(session, scope, method, latent_map)
        if self.store is not None and stored is None:
            self.store.save(key, latent_map)
        return latent_map


def _distances(queries: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Euclidean distances (M, N) between ``queries`` (M, D) and ``codes`` (N, D)."""
    squared = ((queries ** 2).sum(1)[:, None] + (codes ** 2).sum(1)[None]
               - 2.0 * queries @ codes.T)
    return np.sqrt(np.maximum(squared, 0.0))


def nearest_neighbours(codes: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` codes nearest to ``query`` in latent space, nearest first."""
    distances = _distances(np.atleast_2d(np.asarray(query, dtype=np.float64)),
                           np.asarray(codes, dtype=np.float64))[0]
    k = min(k, len(distances))
    nearest = np.argpartition(distances, k - 1)[:k] if k < len(distances) else np.arange(k)
    return nearest[np.argsort(distances[nearest], kind="stable")]


def path_codes(session: ExplorerSession, waypoints: Sequence[np.ndarray],
               steps_per_leg: int, method: str = "linear") -> np.ndarray:
    """An interpolation through ``waypoints`` in order, ``steps_per_leg`` codes per leg (the
    shared ends once): it passes through every waypoint exactly."""
    if len(waypoints) < 2:
        raise ShapeExplorerError("A path needs at least two picked shapes.")
    if steps_per_leg < 2:
        raise ShapeExplorerError("Each leg of a path needs at least 2 steps.")
    legs = [session.interpolate(np.asarray(a), np.asarray(b), steps_per_leg, method)
            for a, b in itertools.pairwise(waypoints)]
    return np.concatenate([legs[0], *(leg[1:] for leg in legs[1:])])


def attribute_direction(codes: np.ndarray, group_a: np.ndarray,
                        group_b: np.ndarray) -> np.ndarray:
    """mean(codes[group_b]) - mean(codes[group_a]): the way from group A to group B (index
    arrays or boolean masks into ``codes``)."""
    codes = np.asarray(codes, dtype=np.float64)
    a, b = codes[np.asarray(group_a)], codes[np.asarray(group_b)]
    if len(a) == 0 or len(b) == 0:
        raise ShapeExplorerError("Both groups need at least one shape.")
    return b.mean(axis=0) - a.mean(axis=0)


def along(code: np.ndarray, direction: np.ndarray, amount: float) -> np.ndarray:
    """``code`` moved by ``amount`` times ``direction`` (1: by the whole A -> B difference)."""
    return np.asarray(code, dtype=np.float64) + amount * np.asarray(direction, dtype=np.float64)
