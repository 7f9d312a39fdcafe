"""A folder of shape files -> a labelled ShapeSet, with a report of what was imported and skipped.

Layout: every file below the folder (recursively) whose suffix is in ``SHAPE_SUFFIXES`` is one
shape. Its class is the name of the first sub-folder below the root (ModelNet's
``chair/train/chair_0001.off`` is a "chair"); files directly in the root belong to a class named
after the root folder, so a flat folder is one class. Class names are sorted, labels index them.

Other files never stop an import. Hidden folders (``.git``, ...) are not entered, symbolic
links to folders are not followed, and nothing outside the folder is read: a link to a file
outside it and a glTF buffer outside it are failed, as are files that are not regular files
(pipes, devices). Each file, with the glTF buffers it names, is held to
``budgets.SHAPE_FILE_BYTES``, and the grids of all files to ``budgets.DATASET_BYTES``.
Hidden files and files with other suffixes are *ignored*, with the reason ("hidden file", "not a
shape file (.txt)"); shape files that cannot be used (corrupt, empty, unreadable, zero volume,
...) and unreadable sub-folders are *failed*, with the reason. DataError is raised only when the
path is not a readable folder, holds no shape files, or none of them can be used;
``ImportCancelled`` when ``cancel()`` returns True (it is polled before every file).
``progress(done, total, name)`` is called before every file and once more at the end with
``done == total`` and an empty name.

Meshes become grids through ``voxelize.voxelize_mesh``, grid files through
``voxelize.resample_grid``; the results are kept in a ``cache.VoxelCache``.
"""

from __future__ import annotations

import os
import stat
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer import budgets
from trainer.budgets import ERROR_CHARS
from trainer.data.cache import VoxelCache, cache_key
from trainer.data.mesh_files import (
    GRID_SUFFIXES,
    SHAPE_SUFFIXES,
    buffer_path,
    buffer_uris,
    read_grid,
    read_mesh,
)
from trainer.data.shapeset import ShapeSet
from trainer.data.voxelize import resample_grid, voxelize_mesh
from trainer.error_line import printable
from trainer.errors import DataError, ShapeExplorerError

Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool]

MAX_RESOLUTION = 256
MAX_FILE_BYTES = budgets.SHAPE_FILE_BYTES
"""Bigger shape files are skipped, not read: a mesh of millions of triangles takes gigabytes to
load and adds nothing at the grid sizes trained here."""
_LISTED_IN_ERRORS = 3


class ImportCancelled(DataError):
    """The import was stopped through its ``cancel`` callback."""


class NothingImported(DataError):
    """No shape file could be used; ``report`` lists every one with its reason."""

    def __init__(self, message: str, report: ImportReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class SkippedFile:
    """A file (or folder) that gave no shape: its path below the root ('/'-separated), and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class ImportReport:
    """What one import did: ``files`` names the shapes in ShapeSet order (paths below the
    folder), ``class_counts`` counts them per class in label order."""

    folder: Path
    resolution: int
    files: tuple[str, ...]
    class_counts: dict[str, int]
    failed: tuple[SkippedFile, ...]
    ignored: tuple[SkippedFile, ...]
    cache_hits: int
    cache_dir: Path
    cache_error: str | None
    seconds: float

    @property
    def imported(self) -> int:
        return sum(self.class_counts.values())

    def summary(self, max_listed: int = 20) -> str:
        """A few lines for a person: counts, then up to ``max_listed`` failed files."""
        classes = ", ".join(f"{name} {count}" for name, count in self.class_counts.items())
        lines = [f"imported {_count(self.imported, 'shape')} in "
                 f"{_count(len(self.class_counts), 'class')} "
                 f"({printable(classes)}) from {printable(str(self.folder))} at "
                 f"{self.resolution}^3 in {self.seconds:.1f} s; "
                 f"{self.cache_hits} from the cache"]
        if self.failed:
            lines.append(f"skipped {_count(len(self.failed), 'shape file')} that could not be "
                         "imported:")
            lines += [f"  {printable(f.path)}: {printable(f.reason, ERROR_CHARS)}"
                      for f in self.failed[:max_listed]]
            if len(self.failed) > max_listed:
                lines.append(f"  ... and {len(self.failed) - max_listed} more")
        if self.ignored:
            reasons = Counter(f.reason for f in self.ignored).most_common()
            lines.append(f"ignored {_count(len(self.ignored), 'other file')}: "
                         + ", ".join(f"{count} {reason}" for reason, count in reasons))
        if self.cache_error:
            lines.append(f"warning: {self.cache_error}")
        return "\n".join(lines)


def load_folder(path: str | Path, resolution: int, *, progress: Progress | None = None,
                cancel: Cancel | None = None, cache_dir: Path | None = None) -> ShapeSet:
    """The shapes in the folder ``path`` at ``resolution``^3 (see ``load_folder_with_report``)."""
    shapes, _ = load_folder_with_report(path, resolution, progress=progress, cancel=cancel,
                                        cache_dir=cache_dir)
    return shapes


def load_folder_with_report(
    path: str | Path, resolution: int, *, progress: Progress | None = None,
    cancel: Cancel | None = None, cache_dir: Path | None = None,
) -> tuple[ShapeSet, ImportReport]:
    """Import every shape file below ``path`` (module docstring) as uint8 occupancy grids.

    ``cache_dir`` defaults to ``cache.default_cache_dir()``.
    """
    start = time.monotonic()
    _check_resolution(resolution)
    root = _checked_folder(Path(path).expanduser())
    files, ignored, unreadable = _scan(root)
    if not files:
        raise DataError(_no_shapes_message(root, ignored, unreadable))
    cache = VoxelCache(cache_dir)
    grids, kept, failed, hits = _import_files(root, files, resolution, cache, progress, cancel)
    failed = sorted(unreadable + failed, key=lambda f: f.path)
    if not kept:
        raise NothingImported(_nothing_usable_message(root, len(files), failed), ImportReport(
            folder=root, resolution=resolution, files=(), class_counts={}, failed=tuple(failed),
            ignored=tuple(ignored), cache_hits=hits, cache_dir=cache.directory,
            cache_error=cache.error, seconds=time.monotonic() - start))
    class_names = sorted({class_name for _, class_name in kept})
    counts = Counter(class_name for _, class_name in kept)
    report = ImportReport(
        folder=root, resolution=resolution, files=tuple(name for name, _ in kept),
        class_counts={name: counts[name] for name in class_names},
        failed=tuple(failed), ignored=tuple(ignored), cache_hits=hits,
        cache_dir=cache.directory, cache_error=cache.error,
        seconds=time.monotonic() - start)
    labels = np.searchsorted(class_names, [class_name for _, class_name in kept])
    return ShapeSet(grids, labels, class_names), report


def load_file(path: str | Path, resolution: int, cache_dir: Path | None = None) -> np.ndarray:
    """One shape file as a (D, D, D) uint8 occupancy grid at ``resolution``, as a folder import
    makes it (and caches it); DataError names the file and the reason."""
    _check_resolution(resolution)
    path = Path(path).expanduser()
    if path.suffix.lower() not in SHAPE_SUFFIXES:
        raise DataError(f"{path}: not a shape file ({path.suffix or 'no suffix'}); shape files "
                        f"end in {' '.join(SHAPE_SUFFIXES)}")
    try:
        grid, _ = _file_grid(path.parent, path, resolution, VoxelCache(cache_dir))
    except Exception as exc:
        raise DataError(f"{path}: {_reason(exc)}") from exc
    return grid


def _import_files(
    root: Path, files: list[tuple[Path, str]], resolution: int, cache: VoxelCache,
    progress: Progress | None, cancel: Cancel | None,
) -> tuple[np.ndarray, list[tuple[str, str]], list[SkippedFile], int]:
    """(grids, (name, class) of each grid, failed files, cache hits) for the shape files."""
    budgets.check_dataset(len(files), resolution, error=DataError)
    grids = np.empty((len(files), 1) + (resolution,) * 3, dtype=np.uint8)
    kept: list[tuple[str, str]] = []
    failed: list[SkippedFile] = []
    hits = 0
    for done, (file, class_name) in enumerate(files):
        if cancel is not None and cancel():
            raise ImportCancelled("import cancelled")
        name = file.relative_to(root).as_posix()
        if progress is not None:
            progress(done, len(files), name)
        try:
            grid, hit = _file_grid(root, file, resolution, cache)
        except Exception as exc:  # one bad file must not end a long import
            failed.append(SkippedFile(name, _reason(exc)))
            continue
        grids[len(kept), 0] = grid
        kept.append((name, class_name))
        hits += hit
    if progress is not None:
        progress(len(files), len(files), "")
    return (grids if len(kept) == len(files) else grids[:len(kept)].copy()), kept, failed, hits


def _check_resolution(resolution: int) -> None:
    if isinstance(resolution, bool) or not isinstance(resolution, int) \
            or not 4 <= resolution <= MAX_RESOLUTION:
        raise DataError(f"The import resolution must be an integer from 4 to {MAX_RESOLUTION}, "
                        f"got {resolution!r}.")


def _checked_folder(path: Path) -> Path:
    """``path`` made absolute (symbolic links kept), or DataError if not a readable folder."""
    if not path.exists():
        raise DataError(f"The data folder {path} does not exist.")
    if not path.is_dir():
        raise DataError(f"{path} is a file, not a folder: training data must be a folder of "
                        "shape files (one sub-folder per class).")
    try:
        with os.scandir(path):
            pass
    except OSError as exc:
        raise DataError(f"Cannot read the data folder {path}: {exc.strerror or exc}.") from exc
    return Path(os.path.abspath(path))


def _scan(root: Path) -> tuple[list[tuple[Path, str]], list[SkippedFile], list[SkippedFile]]:
    """(shape files with their class, ignored files, unreadable folders), in sorted order."""
    shape_files: list[tuple[Path, str]] = []
    ignored: list[SkippedFile] = []
    unreadable: list[SkippedFile] = []

    def on_error(error: OSError) -> None:
        folder = Path(error.filename).relative_to(root).as_posix()
        unreadable.append(SkippedFile(f"{folder}/", f"cannot read folder: {error.strerror}"))

    for folder, dirs, names in os.walk(root, onerror=on_error):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            file = Path(folder, name)
            relative = file.relative_to(root)
            reason = _ignore_reason(file)
            if reason:
                ignored.append(SkippedFile(relative.as_posix(), reason))
            elif not budgets.within(file, root):
                unreadable.append(SkippedFile(relative.as_posix(),
                                              "a link to a file outside the folder (not read)"))
            else:
                class_name = relative.parts[0] if len(relative.parts) > 1 else root.name
                shape_files.append((file, class_name or "shapes"))
    return shape_files, ignored, unreadable


def _ignore_reason(file: Path) -> str | None:
    """Why ``file`` is not a shape file, or None if it is one."""
    if file.name.startswith("."):
        return "hidden file"
    suffix = file.suffix.lower()
    if suffix not in SHAPE_SUFFIXES:
        return f"not a shape file ({suffix or 'no suffix'})"
    return None


def _file_grid(root: Path, file: Path, resolution: int,
               cache: VoxelCache) -> tuple[np.ndarray, bool]:
    """The grid of one shape file, and whether it came from the cache."""
    data = _read(file)
    if not data:
        raise DataError("empty file")
    buffers = _read_buffers(root, file, data)
    key = cache_key([data, *buffers.values()], resolution)
    grid = cache.load(key, resolution)
    if grid is not None:
        return grid, True
    if file.suffix.lower() in GRID_SUFFIXES:
        grid = resample_grid(read_grid(file, data), resolution)
    else:
        grid = voxelize_mesh(read_mesh(file, data, buffers), resolution)
    if not grid.any():
        raise DataError("no occupied voxels")
    cache.save(key, grid)
    return grid, False


def _read_buffers(root: Path, file: Path, data: bytes) -> dict[str, bytes]:
    """The external glTF buffers ``file`` names, by URI: each a regular file inside ``root``,
    all of them together with ``data`` within ``MAX_FILE_BYTES`` (a buffer named twice counts
    twice). DataError otherwise, decided from their sizes before any of them is read; a buffer
    outside the folder is never opened."""
    paths: dict[str, Path] = {}
    total = len(data)
    for uri in buffer_uris(file, data):
        path = buffer_path(file, uri)
        if not budgets.within(path, root):
            raise DataError(f"the glTF buffer {uri[:100]!r} lies outside the data folder "
                            "(not read)")
        paths[uri] = path
        total += _regular_size(path)
        if total > MAX_FILE_BYTES:
            raise DataError(f"the file and the glTF buffers it names take more than "
                            f"{MAX_FILE_BYTES // 2**20} MB (the limit)")
    return {uri: _read(path) for uri, path in paths.items()}


def _read(file: Path) -> bytes:
    """The bytes of a regular file of at most ``MAX_FILE_BYTES`` (DataError otherwise)."""
    _regular_size(file)
    try:
        return file.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {file.name}: {exc.strerror or exc}") from exc


def _regular_size(file: Path) -> int:
    """The size of a regular file of at most ``MAX_FILE_BYTES`` (DataError otherwise)."""
    try:
        info = file.stat()
    except OSError as exc:
        raise DataError(f"cannot read {file.name}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):  # a pipe would block, a device never end
        raise DataError(f"{file.name}: not a regular file (a device, pipe or socket)")
    if info.st_size > MAX_FILE_BYTES:
        raise DataError(f"file too large ({info.st_size / 2**20:,.0f} MB, the limit is "
                        f"{MAX_FILE_BYTES // 2**20} MB): simplify or decimate the mesh first")
    return info.st_size


def _reason(exc: Exception) -> str:
    if isinstance(exc, ShapeExplorerError):
        return str(exc)
    detail = str(exc).strip().splitlines()
    return f"unexpected error ({type(exc).__name__}{': ' + detail[0] if detail else ''})"


def _no_shapes_message(root: Path, ignored: list[SkippedFile], failed: list[SkippedFile]) -> str:
    suffixes = " ".join(SHAPE_SUFFIXES)
    if not ignored and not failed:
        return (f"The data folder {root} is empty: add shape files ({suffixes}), "
                "one sub-folder per class.")
    found = ", ".join(f"{count} {reason}" for reason, count in
                      Counter(f.reason for f in ignored + failed).most_common())
    return f"No shape files in {root} ({found}); shape files end in {suffixes}."


def _nothing_usable_message(root: Path, total: int, failed: list[SkippedFile]) -> str:
    examples = "; ".join(f"{f.path}: {f.reason}" for f in failed[:_LISTED_IN_ERRORS])
    extra = len(failed) - _LISTED_IN_ERRORS
    more = f" (and {extra} more)" if extra > 0 else ""
    return f"None of the {total} shape files in {root} could be imported: {examples}{more}."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith('s') else 's'}"
