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
- .gltf and .glb files may reference buffers in separate files next to them: ``buffer_uris``
  lists them, the caller reads them (inside the data folder, regular files, within the byte
  budget) and passes their bytes to ``read_mesh``; trimesh itself opens no file. At most
  ``budgets.GLTF_BUFFERS`` buffers.
- Text meshes (.obj .off, ASCII .stl and .ply) that are not UTF-8 are read as Latin-1 (comments
  and names in old files); a binary STL whose size does not match its triangle count is refused
  with both numbers; OBJ face indices of 0 (OBJ counts from 1) are refused.
- At most ``budgets.MESH_FACES`` triangles, counted from the text or header before parsing
  where the format allows, and again after.
- .binvox: ``trainer.data.binvox`` (stored x-z-y, returned [x, y, z] as everywhere here).
- .npy / .npz: one cubic grid indexed [x, y, z], z up; leading axes of length 1 are dropped.
  bool and integer arrays count nonzero as filled, floats must lie in [0, 1] and count >= 0.5.
  An .npz must hold one array, or name it ``occupancy``, ``voxels``, ``grid`` or ``data``.
  Pickled objects are refused, and so are grids larger than ``binvox.MAX_DIM``^3 or than
  ``budgets.GRID_BYTES`` (elements times element size, checked from the header, before
  anything is allocated; an .npz member's inflated size from the zip directory too).
- Vertices are merged with the mesh centred and scaled into a unit box (then moved back), so
  coordinates in any unit or far from the origin import alike; NaN or infinite corners and face
  indices past the vertex list are refused.

Every problem with a file raises DataError with a short reason (no path: the caller adds it).
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import struct
import zipfile
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

import numpy as np
import trimesh

from trainer import budgets
from trainer.data.binvox import MAX_DIM, decode_binvox
from trainer.errors import DataError
from trainer.grid_values import OCCUPANCY_LEVEL

MESH_SUFFIXES = (".off", ".obj", ".stl", ".ply", ".glb", ".gltf")
GRID_SUFFIXES = (".binvox", ".npy", ".npz")
SHAPE_SUFFIXES = MESH_SUFFIXES + GRID_SUFFIXES

_NPZ_NAMES = ("occupancy", "voxels", "grid", "data")
_FUSED_OFF = re.compile(rb"\s*(?:C|N|ST|4)*OFF(?=[-+.\d])")
_OBJ_ZERO_INDEX = re.compile(rb"^[ \t]*f[ \t](?:[^\n]*[ \t])?0(?=[/ \t\r\n]|$)", re.M)
_OFF_COUNTS = re.compile(rb"^\s*(?:C|N|ST|4)*OFF\s*(?:#[^\n]*\n\s*)*\d+\s+(\d+)")
_PLY_FACES = re.compile(rb"element\s+face\s+(\d+)")
_Y_UP_TO_Z_UP = np.array([[1.0, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])

# trimesh logs malformed files as warnings with tracebacks; read_mesh reports them as DataError
# reasons instead, so its log stays quiet unless the application configures logging.
logging.getLogger("trimesh").addHandler(logging.NullHandler())


def read_mesh(path: Path, data: bytes,
              buffers: dict[str, bytes] | None = None) -> trimesh.Trimesh:
    """The mesh in ``data`` (the content of ``path``, whose suffix names the format), z up;
    ``buffers`` holds the external glTF buffers by URI (``buffer_uris``)."""
    suffix = path.suffix.lower()
    data = _as_utf8_text(suffix, data)
    _check_face_count(suffix, data)
    if suffix == ".off":
        data = fix_off_header(data)
    if suffix == ".gltf":   # trimesh would report a missing "model.gltf" instead
        try:
            json.loads(data)
        except ValueError as exc:
            raise DataError(f"not a readable GLTF file (not JSON: {_describe(exc)})") from exc
    try:
        loaded = trimesh.load(io.BytesIO(data), file_type=suffix[1:], force="mesh",
                              resolver=dict(buffers or {}), skip_materials=True, process=False)
    except Exception as exc:  # trimesh raises many types for malformed files
        raise DataError(f"not a readable {suffix[1:].upper()} file ({_describe(exc)})") from exc
    if not isinstance(loaded, trimesh.Trimesh):
        raise DataError(f"no triangle mesh in the file (found {type(loaded).__name__})")
    _check_faces(len(loaded.faces))
    to_unit_box = _unit_box_transform(loaded)
    if to_unit_box is not None:   # merge in the unit box, then return to the file's units
        loaded.apply_transform(to_unit_box)
    loaded.merge_vertices(merge_tex=True, merge_norm=True)   # rejoin seams split by UVs
    if to_unit_box is not None:
        loaded.apply_transform(np.linalg.inv(to_unit_box))
    if suffix in (".glb", ".gltf"):
        loaded.apply_transform(_Y_UP_TO_Z_UP)
    return loaded


def _unit_box_transform(mesh: trimesh.Trimesh) -> np.ndarray | None:
    """Check the triangles' corners; return the 4x4 transform that centres them and scales the
    longest side to 1 (None when there is nothing to scale).

    Merging vertices uses an absolute tolerance (1e-8), so a mesh far from the origin or in
    tiny units would otherwise collapse into degenerate triangles or keep its seams. Faces
    pointing past the vertex list or at NaN or infinite vertices are refused (trimesh would
    drop them silently and open a hole)."""
    faces = np.asarray(mesh.faces)
    if faces.size == 0:
        return None   # voxelize_mesh reports "no triangles"
    if faces.min() < 0 or faces.max() >= len(mesh.vertices):
        raise DataError("face indices outside the vertex list (a corrupt file?)")
    corners = np.asarray(mesh.vertices, dtype=np.float64)[np.unique(faces)]
    if not np.isfinite(corners).all():
        raise DataError("vertices with NaN or infinite coordinates")
    peak = np.abs(corners).max()
    if peak == 0:
        return None
    low, high = corners.min(axis=0) / peak, corners.max(axis=0) / peak  # no overflow
    side = (high - low).max()
    if side == 0:
        return None
    if side > 1 and peak > np.finfo(np.float64).max / side:   # side <= 1 cannot overflow
        raise DataError("coordinates too large: the mesh spans more than the largest number "
                        "a coordinate can hold (about 1.8e308)")
    transform = np.eye(4)
    transform[:3, :3] /= peak * side
    transform[:3, 3] = -(low + high) / 2 / side
    return transform


NPY_MAGIC = b"\x93NUMPY"
"""How every .npy file starts."""


def read_grid(path: Path, data: bytes) -> np.ndarray:
    """The cubic (D, D, D) uint8 occupancy grid in ``data`` (.binvox, .npy or .npz)."""
    suffix = path.suffix.lower()
    if suffix == ".binvox":
        return decode_binvox(data)
    if suffix == ".npz" and not data.startswith(b"PK"):  # numpy would take it for a pickle
        raise DataError("not a readable npz file (not a zip archive)")
    if suffix == ".npy" and not data.startswith(NPY_MAGIC):
        raise DataError("not a readable npy file (it does not start with NumPy's array header)")
    try:
        if suffix == ".npy":
            _check_array_size(io.BytesIO(data))
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        array = _npz_array(loaded) if suffix == ".npz" else loaded
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"not a readable {suffix[1:]} file ({_describe(exc)})") from exc
    return _occupancy(np.asarray(array))


def fix_off_header(data: bytes) -> bytes:
    """``data`` with a line break after a keyword fused to the counts (``OFF490 518 0``)."""
    match = _FUSED_OFF.match(data)
    return data[:match.end()] + b"\n" + data[match.end():] if match else data


def buffer_uris(path: Path, data: bytes) -> list[str]:
    """The URIs of the external buffers of a .gltf or .glb (``buffer_path`` turns one into a
    path); DataError for more than ``budgets.GLTF_BUFFERS`` buffers."""
    suffix = path.suffix.lower()
    if suffix not in (".gltf", ".glb"):
        return []
    try:
        buffers = json.loads(data if suffix == ".gltf" else _glb_json(data)).get("buffers", [])
        uris = [b["uri"] for b in buffers if isinstance(b, dict) and isinstance(b.get("uri"), str)]
    except (ValueError, AttributeError, RecursionError, struct.error):
        return []   # not JSON: read_mesh reports the problem
    if len(buffers) > budgets.GLTF_BUFFERS:
        raise budgets.BudgetError(f"{len(buffers)} buffers, over the limit of "
                                  f"{budgets.GLTF_BUFFERS}")
    return [uri for uri in uris if not uri.startswith("data:")]


def buffer_path(path: Path, uri: str) -> Path:
    """Where the glTF buffer ``uri`` of the file ``path`` lies (relative to its folder)."""
    return path.parent / unquote(uri)


def _glb_json(data: bytes) -> bytes:
    """The JSON chunk of a GLB: 12-byte header, then chunk length, type and content."""
    length, kind = struct.unpack_from("<I4s", data, 12)
    if kind != b"JSON":
        raise ValueError("the first GLB chunk is not JSON")
    return data[20:20 + length]


def _as_utf8_text(suffix: str, data: bytes) -> bytes:
    """Text mesh formats as UTF-8: bytes that are not UTF-8 are taken as Latin-1 (which maps
    every byte). Binary STL and the binary body of a PLY stay as they are; a binary STL whose
    size does not match its triangle count raises DataError."""
    if suffix == ".stl":
        if _binary_stl_size(data) == len(data):
            return data
        if data[:512].lstrip()[:5].lower() != b"solid":
            if len(data) < 84:
                raise DataError(f"not a readable STL file ({len(data)} bytes, shorter than a "
                                "binary STL header)")
            size = _binary_stl_size(data)
            raise DataError(f"not a readable STL file (not ASCII, and as binary STL its "
                            f"{len(data)} bytes do not match the {(size - 84) // 50} triangles "
                            f"its header names ({size} bytes))")
    if suffix == ".ply":
        end = data.find(b"end_header")
        if end >= 0 and b"format ascii" not in data[:end]:
            return _latin1_to_utf8(data[:end]) + data[end:]
    if suffix in (".obj", ".off", ".stl", ".ply"):
        return _latin1_to_utf8(data)
    return data


def _latin1_to_utf8(data: bytes) -> bytes:
    if data.isascii():
        return data
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        return data.decode("latin-1").encode("utf-8")


def _binary_stl_size(data: bytes) -> int:
    """The size a binary STL with the triangle count in ``data``'s header has."""
    return 84 + 50 * struct.unpack_from("<I", data, 80)[0] if len(data) >= 84 else -1


def _check_face_count(suffix: str, data: bytes) -> None:
    """Refuse a file whose text or header names more than ``budgets.MESH_FACES`` faces (or
    OBJ face indices of 0), before it is parsed."""
    if suffix == ".obj":
        if _OBJ_ZERO_INDEX.search(data):
            raise DataError("OBJ face index 0 (OBJ indices start at 1; a corrupt file?)")
        _check_faces(data.count(b"\nf ") + data.startswith(b"f "))
    elif suffix == ".stl":
        binary = _binary_stl_size(data) == len(data)
        _check_faces((len(data) - 84) // 50 if binary else data.count(b"facet "))
    elif suffix in (".off", ".ply"):
        match = (_OFF_COUNTS if suffix == ".off" else _PLY_FACES).search(data[:4096])
        if match:
            _check_faces(int(match.group(1)))


def _check_faces(count: int) -> None:
    if count > budgets.MESH_FACES:
        raise budgets.BudgetError(f"{count:,} faces, over the limit of {budgets.MESH_FACES:,}: "
                                  "simplify or decimate the mesh first")


def _check_array_size(stream: BinaryIO) -> None:
    """Refuse an .npy whose header declares more values than a ``MAX_DIM``^3 grid, or more
    bytes than ``budgets.GRID_BYTES``, before numpy allocates them (a small file can declare
    terabytes)."""
    version = np.lib.format.read_magic(stream)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)   # 3.0 differs in text encoding
    shape, _, dtype = read_header(stream)
    if math.prod(shape) > MAX_DIM**3:
        raise DataError(f"an array of shape {shape} is larger than the biggest grid read "
                        f"({MAX_DIM}^3)")
    size = math.prod(shape) * dtype.itemsize
    if size > budgets.GRID_BYTES:
        limit = budgets.mib(budgets.GRID_BYTES)
        raise budgets.BudgetError(f"an array of shape {shape} and type {dtype} takes "
                                  f"{budgets.mib(size)}, over the {limit} limit for a grid")


def _npz_array(archive: np.lib.npyio.NpzFile) -> np.ndarray:
    names = list(archive.files)
    chosen = names[0] if len(names) == 1 else next((n for n in _NPZ_NAMES if n in names), None)
    if chosen is not None:
        members = archive.zip.namelist()
        member = f"{chosen}.npy" if f"{chosen}.npy" in members else chosen
        if member in members:
            inflated = archive.zip.getinfo(member).file_size
            if inflated > budgets.GRID_BYTES + 4096:   # the array and its header
                raise budgets.BudgetError(f"the array {chosen} inflates to "
                                          f"{budgets.mib(inflated)}, over the "
                                          f"{budgets.mib(budgets.GRID_BYTES)} limit for a grid")
            with archive.zip.open(member) as stream:
                _check_array_size(stream)
        return archive[chosen]
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
        return (array >= OCCUPANCY_LEVEL).astype(np.uint8)
    raise DataError(f"expected an occupancy grid, got values of type {array.dtype}")


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text if len(text) <= 100 else text[:97] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
