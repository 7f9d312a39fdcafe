"""Read and write binvox v1 voxel files (https://www.patrickmin.com/binvox/binvox.html).

A binvox file is an ASCII header (``#binvox 1``, ``dim``, ``translate``, ``scale``, ``data``)
followed by run-length pairs of bytes (value, count 1..255). Voxels are stored with y running
fastest, then z, then x: file index = x * D * D + z * D + y. In memory we use [x, y, z].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trainer.errors import DataError

_MAX_HEADER_LINES = 16
MAX_DIM = 512  # the biggest grid side read (512^3 voxels): a larger one needs gigabytes


def encode_binvox(occupancy: np.ndarray) -> bytes:
    """Encode a cubic (D, D, D) [x, y, z] occupancy grid (nonzero = filled) as binvox bytes."""
    occupancy = np.asarray(occupancy)
    if occupancy.ndim != 3 or len(set(occupancy.shape)) != 1 or occupancy.shape[0] == 0:
        raise ValueError(f"binvox needs a non-empty cubic 3D grid, got shape {occupancy.shape}")
    size = occupancy.shape[0]
    flat = (occupancy != 0).transpose(0, 2, 1).ravel().astype(np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(flat)) + 1))
    lengths = np.diff(np.append(starts, flat.size))
    # Split runs into chunks of at most 255: full chunks, then the remainder in the last one.
    chunks = (lengths + 254) // 255
    counts = np.full(chunks.sum(), 255, dtype=np.int64)
    counts[np.cumsum(chunks) - 1] = lengths - 255 * (chunks - 1)
    pairs = np.empty((counts.size, 2), dtype=np.uint8)
    pairs[:, 0] = np.repeat(flat[starts], chunks)
    pairs[:, 1] = counts
    header = f"#binvox 1\ndim {size} {size} {size}\ntranslate 0 0 0\nscale 1\ndata\n"
    return header.encode("ascii") + pairs.tobytes()


def decode_binvox(data: bytes) -> np.ndarray:
    """Decode binvox bytes to a (D, D, D) uint8 [x, y, z] grid; raise DataError if malformed."""
    lines = data.split(b"\n", _MAX_HEADER_LINES)
    if not lines[0].startswith(b"#binvox"):
        raise DataError("not a binvox file (the first line is not '#binvox 1')")
    dims = None
    for index, line in enumerate(lines[1:-1], start=1):
        key, *values = line.split() or [b""]
        if key == b"data":
            body = b"\n".join(lines[index + 1 :])
            break
        if key == b"dim":
            dims = _parse_dims(values, line)
    else:
        raise DataError("binvox header has no 'data' line")
    if dims is None:
        raise DataError("binvox header has no 'dim' line")
    if len(set(dims)) != 1:
        raise DataError(f"binvox grid is not cubic: dim {dims[0]} {dims[1]} {dims[2]}")
    size = dims[0]
    if size > MAX_DIM:
        raise DataError(f"binvox grid {size}^3 is larger than the biggest grid read ({MAX_DIM}^3)")
    expected = size**3
    if len(body) % 2:
        raise DataError("binvox data is truncated (odd number of run-length bytes)")
    runs = np.frombuffer(body, dtype=np.uint8).reshape(-1, 2)
    total = int(runs[:, 1].sum(dtype=np.int64))
    if total < expected:
        raise DataError(f"binvox data is truncated: {total} of {expected} voxels")
    if total > expected:
        raise DataError(f"binvox data is too long: {total} voxels for a {size}^3 grid")
    flat = np.repeat((runs[:, 0] != 0).astype(np.uint8), runs[:, 1])
    return np.ascontiguousarray(flat.reshape(size, size, size).transpose(0, 2, 1))


def _parse_dims(values: list[bytes], line: bytes) -> tuple[int, int, int]:
    """Parse the numbers of a ``dim`` header line."""
    try:
        dims = tuple(int(value) for value in values)
    except ValueError:
        dims = ()
    if len(dims) != 3 or min(dims) <= 0:
        raise DataError(f"bad binvox dim line: {line.decode('ascii', 'replace')!r}")
    return dims


def write_binvox(path: str | Path, occupancy: np.ndarray) -> None:
    """Write a cubic (D, D, D) [x, y, z] occupancy grid (nonzero = filled) as a binvox file."""
    Path(path).write_bytes(encode_binvox(occupancy))


def read_binvox(path: str | Path) -> np.ndarray:
    """Read a binvox file as a (D, D, D) uint8 [x, y, z] grid; raise DataError if malformed."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return decode_binvox(data)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from exc
