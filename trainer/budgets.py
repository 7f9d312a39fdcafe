"""The budgets every input is held to, checked before the work they bound.

A file may claim anything in a few bytes (a compressed entry that inflates to gigabytes, an array
header declaring terabytes, a config naming the largest model, millions of overlapping
triangles); each claim is compared with these limits first, so one input costs at most about
``INPUT_MEMORY_BYTES`` of memory and ``INPUT_SECONDS`` of time. The README lists them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from trainer.errors import ShapeExplorerError

INPUT_MEMORY_BYTES = 2 * 2**30
"""What reading one input file (checkpoint, shape file, config) may cost in memory."""
INPUT_SECONDS = 60
"""What reading or voxelising one input file may cost in time on a 2-core CPU."""

SHAPE_FILE_BYTES = 256 * 2**20
"""A shape file, plus the glTF buffers it names (each counted every time it is named)."""
MESH_FACES = 2_000_000
"""Triangles in one mesh."""
VOXELIZE_WORK = 300_000_000
"""Surface samples plus ray-column candidates (about a triangle's area / 0.16 plus its bounding
box's three face areas, in voxels) one mesh may need to be voxelised: large overlapping
triangles cost their area, not their count."""
GLTF_BUFFERS = 64
"""External or embedded buffers of one glTF / GLB file."""
GRID_BYTES = 512 * 2**20
"""Elements times element size of one .npy / .npz array (read from its header)."""

CHECKPOINT_BYTES = INPUT_MEMORY_BYTES
"""A checkpoint file on disk, and the total size of its zip entries once inflated."""
CHECKPOINT_PICKLE_BYTES = 16 * 2**20
"""The pickled part of a checkpoint (config, history, names; not the tensors): Python objects
cost up to tens of times their pickled size."""
MODEL_PARAMETERS = 64_000_000
"""Parameters of a model built from a config: 256 MB of float32 weights, about 1 GB with the
gradients and optimiser state (the default model has 0.6 million)."""
DATASET_BYTES = 4 * 2**30
"""Grids held in memory for training: shapes x resolution^3 x bytes per voxel."""
SAMPLES = 1024
"""Shapes one `sample` command decodes and writes (their meshes are held until written)."""
DECODE_BATCH = 16
"""Codes decoded at once (a decoder's full-resolution activations take megabytes per code)."""

CONFIG_BYTES = 1 * 2**20
"""A TOML / JSON config file."""

ERROR_CHARS = 300
"""The longest error line printed or shown."""


class BudgetError(ShapeExplorerError):
    """An input that would cost more than its budget."""


def mib(n: float) -> str:
    """``n`` bytes for a person: '512 MiB', '2.0 GiB'."""
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.0f} MiB"


def check_dataset(shapes: int, resolution: int, bytes_per_voxel: int = 1,
                  error: type[ShapeExplorerError] = BudgetError) -> None:
    """Refuse a data set whose grids would exceed ``DATASET_BYTES``."""
    need = shapes * resolution**3 * bytes_per_voxel
    if need > DATASET_BYTES:
        raise error(
            f"{shapes} shapes at {resolution}^3 need {mib(need)} of memory, over the "
            f"{mib(DATASET_BYTES)} limit; use fewer shapes or a lower resolution")


def regular_file_size(path: Path, what: str, limit: int,
                      error: type[ShapeExplorerError] = BudgetError) -> int:
    """The size of ``path`` when it is a regular file (links followed) of at most ``limit``
    bytes; otherwise ``error`` saying what it is instead (nothing is opened)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{path}: is a folder, not a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path}: is {_kind(info.st_mode)}, not a {what}")
    if info.st_size > limit:
        raise error(f"{path}: {mib(info.st_size)}, over the {mib(limit)} limit for a "
                          f"{what}")
    return info.st_size


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def within(path: Path, root: Path) -> bool:
    """Whether ``path``, links resolved, lies inside the folder ``root`` (links resolved)."""
    real, top = os.path.realpath(path), os.path.realpath(root)
    return os.path.commonpath([real, top]) == top

