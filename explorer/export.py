"""Write meshes, mesh sequences and grids to disk atomically (``trainer.atomic``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import trimesh

from trainer.atomic import Writer, atomic_write
from trainer.data.binvox import encode_binvox
from trainer.errors import ShapeExplorerError
from trainer.grid_values import OCCUPANCY_LEVEL

MESH_FORMATS = ("stl", "obj", "ply", "glb", "off")
GRID_FORMATS = ("npy", "binvox")
Z_UP_TO_Y_UP = trimesh.transformations.rotation_matrix(-np.pi / 2, [1, 0, 0])


def export_mesh(mesh: trimesh.Trimesh, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``mesh`` to ``path`` in ``fmt`` (taken from the file suffix when None)."""
    path = Path(path)
    fmt = _check_format(fmt, path, MESH_FORMATS)
    if fmt == "glb":  # glTF is +y up; our meshes are +z up
        mesh = mesh.copy()
        mesh.apply_transform(Z_UP_TO_Y_UP)
    _atomic_write(path, lambda file: mesh.export(file_obj=file, file_type=fmt))
    return path


def export_sequence(
    meshes: Sequence[trimesh.Trimesh | None], out_dir: str | Path, stem: str, fmt: str
) -> list[Path]:
    """Write frames as ``out_dir/stem_001.fmt``, ``stem_002.fmt``, ...; return the paths written.

    Numbers count from 1, as the gallery's tiles and the filmstrip's frames do, zero-padded to
    the width of the last number (at least 3 digits). None frames (no surface) are skipped but
    keep their number, so the files stay aligned with time.
    """
    fmt = _check_format(fmt, None, MESH_FORMATS)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ShapeExplorerError(f"Cannot create folder {out_dir}: {exc.strerror or exc}") from exc
    width = max(3, len(str(len(meshes))))
    return [
        export_mesh(mesh, out_dir / f"{stem}_{number:0{width}d}.{fmt}", fmt)
        for number, mesh in enumerate(meshes, 1)
        if mesh is not None
    ]


def export_grid(
    grid: np.ndarray, path: str | Path, fmt: str | None = None, threshold: float = OCCUPANCY_LEVEL,
    inside_low: bool = False,
) -> Path:
    """Write a (D, D, D) grid: ``npy`` keeps float32 values, ``binvox`` stores the inside:
    grid > threshold, or grid < threshold with ``inside_low`` (signed distances)."""
    path = Path(path)
    fmt = _check_format(fmt, path, GRID_FORMATS)
    if fmt == "npy":
        values = np.asarray(grid, dtype=np.float32)
        _atomic_write(path, lambda file: np.save(file, values))
    else:
        values = np.asarray(grid)
        data = encode_binvox(values < threshold if inside_low else values > threshold)
        _atomic_write(path, lambda file: file.write(data))
    return path


def export_bytes(data: bytes, path: str | Path) -> Path:
    """Write already encoded ``data`` (a PNG screenshot, ...) to ``path``."""
    path = Path(path)
    _atomic_write(path, lambda file: file.write(data))
    return path


def export_codes(codes: np.ndarray, path: str | Path) -> Path:
    """Write latent codes (N, code size) as a float32 .npy array."""
    path = Path(path)
    _check_format(None, path, ("npy",))
    values = np.asarray(codes, dtype=np.float32)
    _atomic_write(path, lambda file: np.save(file, values))
    return path


def _check_format(fmt: str | None, path: Path | None, supported: tuple[str, ...]) -> str:
    """Return the lower-case format (from ``path``'s suffix when ``fmt`` is None) if supported."""
    if fmt is None and path is not None:
        fmt = path.suffix
    fmt = (fmt or "").lower().lstrip(".")
    if fmt not in supported:
        what = f"format '{fmt}'" if fmt else "a file without a format suffix"
        raise ShapeExplorerError(
            f"Cannot export {what}: supported formats are {', '.join(supported)}"
        )
    return fmt


def _atomic_write(path: Path, write: Writer) -> None:
    """Write ``path`` atomically (``trainer.atomic``); an OSError becomes a one-line error."""
    try:
        atomic_write(path, write)
    except OSError as exc:
        raise ShapeExplorerError(f"Cannot write {path}: {exc.strerror or exc}") from exc
