"""Read one shape file: a triangle mesh (via trimesh) or an occupancy grid.

Formats and the decisions taken for them:

- .off .obj .stl .ply .glb .gltf: loaded with ``trimesh.load(..., force="mesh")``, which merges
  multi-part files (GLB scenes, OBJ groups and objects) into one mesh with the scene transforms
  applied. Only geometry is read (no materials or textures), and vertices at the same position
  are merged, so texture seams do not make a closed mesh look open. Axes are kept as stored,
  taken as +z up (ModelNet's .off files are), except glTF and GLB, which the glTF specification
  defines as +y up: they are turned +90 degrees about x so that +y becomes +z. (OBJ has no
  convention; ShapeNet's +y-up OBJ files therefore import lying on their backs.)
- ModelNet .off files whose first line fuses the keyword with the counts (``OFF490 518 0``) get
  a line break inserted before parsing; older trimesh versions reject them.
- .gltf files may reference buffers in separate files next to them; those are found through the
  file's folder (``companion_files`` lists them so a cache key can cover their content).
- .binvox: ``trainer.data.binvox`` (stored x-z-y, returned [x, y, z] as everywhere here).
- .npy / .npz: one cubic grid indexed [x, y, z], z up; leading axes of length 1 are dropped.
  bool and integer arrays count nonzero as filled, floats must lie in [0, 1] and count >= 0.5.
  An .npz must hold one array, or name it ``occupancy``, ``voxels``, ``grid`` or ``data``.
  Pickled objects are refused.

Every problem with a file raises DataError with a short reason (no path: the caller adds it).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import trimesh

from trainer.data.binvox import decode_binvox
from trainer.errors import DataError

MESH_SUFFIXES = (".off", ".obj", ".stl", ".ply", ".glb", ".gltf")
GRID_SUFFIXES = (".binvox", ".npy", ".npz")
SHAPE_SUFFIXES = MESH_SUFFIXES + GRID_SUFFIXES

_NPZ_NAMES = ("occupancy", "voxels", "grid", "data")
_FUSED_OFF = re.compile(rb"\s*(?:C|N|ST|4)*OFF(?=[-+.\d])")
_Y_UP_TO_Z_UP = np.array([[1.0, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])


def read_mesh(path: Path, data: bytes) -> trimesh.Trimesh:
    """The mesh in ``data`` (the content of ``path``, whose suffix names the format), z up."""
    suffix = path.suffix.lower()
    if suffix == ".off":
        data = fix_off_header(data)
    try:
        loaded = trimesh.load(io.BytesIO(data), file_type=suffix[1:], force="mesh",
                              resolver=trimesh.resolvers.FilePathResolver(path),
                              skip_materials=True)
    except Exception as exc:  # trimesh raises many types for malformed files
        raise DataError(f"not a readable {suffix[1:].upper()} file ({_describe(exc)})") from exc
    if not isinstance(loaded, trimesh.Trimesh):
        raise DataError(f"no triangle mesh in the file (found {type(loaded).__name__})")
    loaded.merge_vertices(merge_tex=True, merge_norm=True)   # rejoin seams split by UVs
    if suffix in (".glb", ".gltf"):
        loaded.apply_transform(_Y_UP_TO_Z_UP)
    return loaded


def read_grid(path: Path, data: bytes) -> np.ndarray:
    """The cubic (D, D, D) uint8 occupancy grid in ``data`` (.binvox, .npy or .npz)."""
    suffix = path.suffix.lower()
    if suffix == ".binvox":
        return decode_binvox(data)
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        array = _npz_array(loaded) if suffix == ".npz" else loaded
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"not a readable {suffix[1:]} file ({_describe(exc)})") from exc
    return _occupancy(np.asarray(array))


def fix_off_header(data: bytes) -> bytes:
    """``data`` with a line break after a keyword fused to the counts (``OFF490 518 0``)."""
    match = _FUSED_OFF.match(data)
    return data[:match.end()] + b"\n" + data[match.end():] if match else data


def companion_files(path: Path, data: bytes) -> list[Path]:
    """Other files the shape in ``path`` is read from: the external buffers of a .gltf."""
    if path.suffix.lower() != ".gltf":
        return []
    try:
        buffers = json.loads(data).get("buffers", [])
        uris = [b["uri"] for b in buffers if isinstance(b, dict) and isinstance(b.get("uri"), str)]
    except (ValueError, AttributeError):
        return []   # not JSON: read_mesh reports the problem
    return [path.parent / unquote(uri) for uri in uris if not uri.startswith("data:")]


def _npz_array(archive: np.lib.npyio.NpzFile) -> np.ndarray:
    names = list(archive.files)
    if len(names) == 1:
        return archive[names[0]]
    for name in _NPZ_NAMES:
        if name in names:
            return archive[name]
    raise DataError(f"an .npz with several arrays ({', '.join(names) or 'none'}) needs one "
                    f"named {' or '.join(_NPZ_NAMES)}")


def _occupancy(array: np.ndarray) -> np.ndarray:
    """A cubic uint8 {0, 1} grid from a bool, integer or [0, 1] float array."""
    while array.ndim > 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3 or len(set(array.shape)) != 1 or array.size == 0:
        raise DataError(f"expected one cubic 3D grid, got an array of shape {array.shape}")
    if array.dtype == bool or np.issubdtype(array.dtype, np.integer):
        return (array != 0).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        if not (array.min() >= 0.0 and array.max() <= 1.0):
            raise DataError("float grid values must lie in [0, 1] (occupancy)")
        return (array >= 0.5).astype(np.uint8)
    raise DataError(f"expected an occupancy grid, got values of type {array.dtype}")


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text if len(text) <= 100 else text[:97] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
