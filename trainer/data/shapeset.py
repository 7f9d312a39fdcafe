"""ShapeSet: voxel grids with class labels, the one data type every data source produces."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainer.errors import DataError


@dataclass(frozen=True)
class ShapeSet:
    """Occupancy (or continuous) grids with class labels.

    ``grids`` is (N, 1, D, D, D), indexed ``grids[n, 0, x, y, z]``: uint8 in {0, 1} for
    occupancy (compact), or floating point in [0, 1]; with ``signed``, floating-point truncated
    signed distances in [-1, 1] (negative inside). ``labels`` is (N,) int64 into
    ``class_names``.
    """

    grids: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    signed: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", np.asarray(self.labels, dtype=np.int64))
        object.__setattr__(self, "class_names", tuple(self.class_names))
        _check_grids(self.grids, self.signed)
        _check_labels(self.labels, len(self.grids), len(self.class_names))

    def __len__(self) -> int:
        return len(self.grids)

    @property
    def resolution(self) -> int:
        """Voxels along each axis of the cubic grid."""
        return self.grids.shape[-1]

    def subset(self, indices: np.ndarray | list[int]) -> ShapeSet:
        """The shapes at ``indices`` (a copy), with the same class names."""
        indices = np.asarray(indices, dtype=np.int64)
        return ShapeSet(self.grids[indices], self.labels[indices], self.class_names, self.signed)

    def float_grids(self) -> np.ndarray:
        """A float32 copy of the grids, values in [0, 1] (signed: [-1, 1])."""
        return self.grids.astype(np.float32)

    def split(self, val_fraction: float, seed: int) -> tuple[ShapeSet, ShapeSet]:
        """A seeded, class-stratified (train, validation) split; both parts are non-empty.

        The validation part holds ``round(val_fraction * len(self))`` shapes (at least one, at
        most all but one), spread over the classes in proportion to their sizes.
        """
        is_val = self.validation_mask(val_fraction, seed)
        return self.subset(np.flatnonzero(~is_val)), self.subset(np.flatnonzero(is_val))

    def validation_mask(self, val_fraction: float, seed: int) -> np.ndarray:
        """(N,) bool: the shapes ``split`` puts in the validation part."""
        n = len(self)
        if n < 2:
            raise DataError(f"Cannot split {n} shape(s) into training and validation sets; "
                            "at least 2 are needed.")
        if not 0.0 < val_fraction < 1.0:
            raise DataError(f"The validation fraction must be between 0 and 1, got {val_fraction}.")
        n_val = min(max(round(val_fraction * n), 1), n - 1)
        order = np.random.default_rng(seed).permutation(n)
        key = _stratified_key(self.labels[order])
        is_val = np.zeros(n, dtype=bool)
        is_val[order[np.argsort(key, kind="stable")[:n_val]]] = True
        return is_val


def _stratified_key(labels: np.ndarray) -> np.ndarray:
    """Per item, its position within its class scaled to [0, 1); taking the smallest keys first
    takes every class in proportion to its size."""
    counts = np.bincount(labels)
    by_class = np.argsort(labels, kind="stable")
    starts = np.cumsum(counts) - counts
    rank = np.empty(len(labels), dtype=np.int64)
    rank[by_class] = np.arange(len(labels)) - starts[labels[by_class]]
    return (rank + 0.5) / counts[labels]


def _check_grids(grids: np.ndarray, signed: bool) -> None:
    if not isinstance(grids, np.ndarray):
        raise DataError(f"Grids must be a numpy array, got {type(grids).__name__}.")
    if grids.ndim != 5 or grids.shape[1] != 1:
        raise DataError(f"Grids must have shape (N, 1, D, D, D), got {grids.shape}.")
    if len(grids) == 0:
        raise DataError("A shape set needs at least one shape, got none.")
    if not grids.shape[2] == grids.shape[3] == grids.shape[4]:
        raise DataError(f"Grids must be cubic (D x D x D), got {grids.shape[2:]}.")
    if signed:
        if not (np.issubdtype(grids.dtype, np.floating) and grids.min() >= -1.0
                and grids.max() <= 1.0):
            raise DataError("Signed-distance grids must be floating point in [-1, 1] (no NaN).")
    elif grids.dtype == np.uint8:
        if grids.max() > 1:
            raise DataError("uint8 occupancy grids must hold only 0 and 1.")
    elif np.issubdtype(grids.dtype, np.floating):
        if not (grids.min() >= 0.0 and grids.max() <= 1.0):
            raise DataError("Floating-point grids must hold values in [0, 1] (and no NaN).")
    else:
        raise DataError(f"Grids must be uint8 occupancy or floats in [0, 1], got {grids.dtype}.")


def _check_labels(labels: np.ndarray, n: int, n_classes: int) -> None:
    if labels.shape != (n,):
        raise DataError(f"Expected {n} labels, one per grid, got an array of shape "
                        f"{labels.shape}.")
    if n_classes == 0:
        raise DataError("A shape set needs at least one class name.")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise DataError(f"Labels must index the {n_classes} class names, got values from "
                        f"{labels.min()} to {labels.max()}.")
