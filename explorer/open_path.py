"""What a path given to the app is: a model to explore, a shape to encode, or a data folder.

Used for ``shape-latent-explorer PATH`` and for files dropped on the window. Qt-free.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from trainer.errors import ShapeExplorerError

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".safetensors")
OpenKind = Literal["checkpoint", "shape", "folder"]


def what_to_open(path: str | Path) -> OpenKind:
    """"checkpoint" (explored), "shape" (a mesh or grid file, encoded with the current model) or
    "folder" (a data source for training); ShapeExplorerError says why anything else is not."""
    from trainer.data.mesh_files import SHAPE_SUFFIXES

    path = Path(path)
    if path.is_dir():
        return "folder"
    if not path.exists():
        raise ShapeExplorerError(f"{path}: no such file or folder (and not a command; "
                                 "`--help` lists the commands)")
    suffix = path.suffix.lower()
    if suffix in CHECKPOINT_SUFFIXES:
        return "checkpoint"
    if suffix in SHAPE_SUFFIXES:
        return "shape"
    raise ShapeExplorerError(
        f"{path.name}: cannot open {suffix or 'a file without a suffix'} files; open a checkpoint "
        f"({' '.join(CHECKPOINT_SUFFIXES)}), a shape file ({' '.join(SHAPE_SUFFIXES)}) or a "
        "folder of shapes")
