"""Animations of decoded sequences (an interpolation or a traversal) as GIF files (Qt-free).

Frames are ray-cast from the decoded grids in numpy (``explorer.thumbnails``) at one common
scale, so they render on any thread and the shapes do not jump in size; imageio's Pillow
plugin encodes the GIF (both come with scikit-image already).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from explorer.export import export_bytes
from explorer.thumbnails import fit_frame, render_thumbnail
from trainer.errors import ShapeExplorerError

ANIMATION_FORMATS = ("gif",)
FRAME_SIZE = 192
"""Pixels per side of a frame by default."""
FRAME_MS = 150
"""How long each frame shows by default (the filmstrip player's pace)."""
BACKGROUND_RGB = (38, 42, 50)
"""The 3D view's background, so that exported frames look like the view."""


def render_frames(grids: Sequence[np.ndarray] | np.ndarray, threshold: float, *,
                  inside_low: bool = False, size: int = FRAME_SIZE,
                  azimuth: float = 45.0, elevation: float = 25.0) -> list[np.ndarray]:
    """One (size, size, 3) uint8 picture per (D, D, D) grid, all at the scale that fits every
    grid's inside (``grid > threshold``; ``grid < threshold`` with ``inside_low``)."""
    stack = np.asarray(grids, dtype=np.float32)
    if len(stack) == 0:
        raise ShapeExplorerError("There is no sequence to animate yet.")
    frame = fit_frame(stack, threshold, inside_low=inside_low)
    background = np.asarray(BACKGROUND_RGB, dtype=np.float32)
    pictures = []
    for grid in stack:
        rgba = render_thumbnail(grid, threshold, size, frame=frame, azimuth=azimuth,
                                elevation=elevation, inside_low=inside_low).astype(np.float32)
        alpha = rgba[..., 3:] / 255.0
        pictures.append(np.round(rgba[..., :3] * alpha + background * (1 - alpha))
                        .astype(np.uint8))
    return pictures


def check_animation_path(path: str | Path) -> Path:
    """``path`` as a Path when its suffix names an animation format; else a one-line error."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ANIMATION_FORMATS:
        raise ShapeExplorerError(f"Cannot write an animation as '{fmt or path.name}': supported "
                                 f"formats are {', '.join(ANIMATION_FORMATS)}")
    return path


def write_animation(frames: Sequence[np.ndarray], path: str | Path,
                    frame_ms: int = FRAME_MS) -> Path:
    """Write ``frames`` as a looping GIF at ``path`` (atomically), each shown ``frame_ms``."""
    path = check_animation_path(path)
    if not 10 <= frame_ms <= 10_000:
        raise ShapeExplorerError(f"a frame must last 10..10000 ms, got {frame_ms}")
    data = iio.imwrite("<bytes>", list(frames), extension=".gif", duration=frame_ms, loop=0)
    return export_bytes(data, path)
