"""Settings left to 'auto', decided from the training shapes before a run starts.

Augmentation: mirror flips where a class is mirror-symmetric (trainer.augment).

Pose dimensions ('moments') help a data set of randomly turned shapes, whose orientation the
network would otherwise have to learn in every latent direction; on a data set whose shapes
share the grid's axes (ModelNet and most CAD collections are stored upright and aligned) they
only cost reconstruction. The test: the share of shapes whose first principal axis lies within
ALIGNED_DEGREES of a grid axis. For uniformly random orientations that share is about 5 %
(the caps of 10 degrees around the 6 axis directions); aligned collections reach 60-70 %.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch

from trainer.augment import describe_axes, mirror_axes
from trainer.config import TrainConfig
from trainer.data.shapeset import ShapeSet
from trainer.pose import principal_pose

ALIGNED_DEGREES = 10.0
ALIGNED_SHARE = 0.25
"""A data set counts as aligned when at least this share of its shapes is (five times the share
of randomly turned shapes)."""
PROBE_SHAPES = 512
"""Shapes looked at (evenly spread over the set): enough for the share to within a few %."""
PROBE_CHUNK = 64
"""Shapes whose moments are computed at once."""


@dataclass(frozen=True)
class Choice:
    """One 'auto' setting decided from the data: its value and why, for people to read."""

    setting: str
    value: Any
    reason: str

    def line(self) -> str:
        return f"{self.setting} = {self.value}: {self.reason}"


def resolve_auto(config: TrainConfig, shapes: ShapeSet) -> tuple[TrainConfig, tuple[Choice, ...]]:
    """The config with every 'auto' setting replaced by its value for these shapes, and the
    choices made (none when nothing was left to 'auto')."""
    choices = []
    if config.pose == "auto":
        choices.append(Choice("pose", *_pose_for(config, shapes)))
    if config.augment == "auto":
        choices.append(Choice("augment", *_augment_for(shapes)))
    return dataclasses.replace(config, **{c.setting: c.value for c in choices}), tuple(choices)


def aligned_share(shapes: ShapeSet) -> float:
    """Share of (a spread-out sample of) the shapes whose first principal axis lies within
    ALIGNED_DEGREES of a grid axis; empty shapes are left out."""
    step = max(1, math.ceil(len(shapes) / PROBE_SHAPES))
    aligned = counted = 0
    for start in range(0, len(shapes), step * PROBE_CHUNK):   # bounded memory at 64^3
        grids = torch.from_numpy(shapes.grids[start:start + step * PROBE_CHUNK:step]).float()
        inside = (grids <= 0).float() if shapes.signed else grids.clamp(0, 1)
        inside = inside[inside.flatten(1).sum(1) > 0]
        if len(inside) == 0:
            continue
        rotation, _ = principal_pose(inside)
        closest = rotation[:, :, 0].abs().max(1).values
        aligned += int((closest >= math.cos(math.radians(ALIGNED_DEGREES))).sum())
        counted += len(inside)
    return aligned / counted if counted else 0.0


def _augment_for(shapes: ShapeSet) -> tuple[str, str]:
    where = describe_axes(mirror_axes(shapes), shapes.class_names)
    if not where:
        return "none", "no class is mirror-symmetric across a grid axis"
    return "mirror", f"flips {where}, where the mean shape is mirror-symmetric"


def _pose_for(config: TrainConfig, shapes: ShapeSet) -> tuple[str, str]:
    if config.latent == "categorical":
        return "none", "pose dimensions need Gaussian latents"
    if config.latent_dim < 10:
        return "none", f"pose dimensions need latent_dim >= 10 (got {config.latent_dim})"
    share = aligned_share(shapes)
    measured = (f"{share:.0%} of the shapes have their main axis within "
                f"{ALIGNED_DEGREES:.0f} degrees of a grid axis")
    if share >= ALIGNED_SHARE:
        return "none", f"{measured}: the data set is aligned, the network learns one frame"
    return "moments", (f"{measured}: the shapes are turned, 9 latent dimensions carry each "
                       "shape's orientation and position")

