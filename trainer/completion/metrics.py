"""How close a completed shape is to the true one.

- Hamming distance: the share of voxels whose inside / outside state differs.
- IoU: intersection over union of the inside voxels (two empty grids: 1).
- Accuracy: the mean distance from points on the predicted surface to the true surface;
  completeness: from points on the true surface to the predicted one (both lower is better, in
  voxels). The surfaces are the marching-cubes meshes of the boolean grids at level 0.5;
  SURFACE_POINTS points are sampled uniformly by area on each, and the distance from a point to
  a surface is that to the nearest point sampled on it: it overestimates the distance to the
  triangles by a fraction of a voxel, the same for every method (benchmarks/README.md), and is
  0 for identical grids (the samples are seeded). An empty grid has no surface: its distances
  are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.spatial import cKDTree
from skimage.measure import marching_cubes

SURFACE_POINTS = 10_000
SURFACE_SEED = 0


@dataclass(frozen=True)
class Scores:
    """Per-shape scores (N,) of predicted against true grids."""

    iou: np.ndarray
    hamming: np.ndarray
    accuracy: np.ndarray
    completeness: np.ndarray


def iou(prediction: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-shape IoU of boolean grids (N, D, D, D) (two empty grids: 1)."""
    p, t = _flat(prediction), _flat(truth)
    inter, union = (p & t).sum(1), (p | t).sum(1)
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def hamming(prediction: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-shape share of differing voxels of boolean grids (N, D, D, D)."""
    return (_flat(prediction) ^ _flat(truth)).mean(1)


def surface_distances(prediction: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(accuracy, completeness) in voxels of one predicted boolean grid (D, D, D) against the
    true one (module docstring); NaN when either grid is empty."""
    p, t = surface_points(prediction), surface_points(truth)
    if p is None or t is None:
        return float("nan"), float("nan")
    accuracy = cKDTree(t).query(p)[0].mean()
    completeness = cKDTree(p).query(t)[0].mean()
    return float(accuracy), float(completeness)


def surface_points(inside: np.ndarray, count: int = SURFACE_POINTS) -> np.ndarray | None:
    """``count`` points sampled by area on the surface of a boolean grid, in voxel units
    (voxel i's centre at i), or None for a grid with no surface."""
    inside = np.asarray(inside, dtype=bool)
    if not inside.any():
        return None
    padded = np.pad(inside.astype(np.float32), 1)
    vertices, faces, _, _ = marching_cubes(padded, 0.5)
    mesh = trimesh.Trimesh(vertices - 1.0, faces, process=False)
    points, _ = trimesh.sample.sample_surface(mesh, count, seed=SURFACE_SEED)
    return np.asarray(points)


def score(prediction: np.ndarray, truth: np.ndarray, *, surfaces: bool = True) -> Scores:
    """All four scores of boolean grids (N, D, D, D); ``surfaces=False`` leaves accuracy and
    completeness NaN (they cost milliseconds per shape)."""
    prediction, truth = np.asarray(prediction, dtype=bool), np.asarray(truth, dtype=bool)
    n = len(prediction)
    distances = np.full((n, 2), np.nan)
    if surfaces:
        for i in range(n):
            distances[i] = surface_distances(prediction[i], truth[i])
    return Scores(iou(prediction, truth), hamming(prediction, truth), distances[:, 0],
                  distances[:, 1])


def _flat(grids: np.ndarray) -> np.ndarray:
    grids = np.asarray(grids, dtype=bool)
    return grids.reshape(len(grids), -1)
