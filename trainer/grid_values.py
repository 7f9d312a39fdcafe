"""What a decoded grid holds: the activation applied to the decoder's output, the iso-level the
surface lies at, which side is inside, and the range a threshold may take.

One place answers this for every model kind: occupancy probabilities (a Bernoulli VAE's
sigmoid, or PPCA's linear output clipped to [0, 1]), raw values of a Gaussian VAE on occupancy
grids, and signed distances (negative inside, meshed at 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from trainer.config import TrainConfig

OCCUPANCY_LEVEL = 0.5
"""An occupancy grid's surface: a voxel is inside when its probability is above this."""


@dataclass(frozen=True)
class GridValues:
    """How to read a decoded grid.

    ``activation``: 'sigmoid' (logits -> probabilities), 'clamp' (linear output clipped to
    [0, 1]) or 'identity'. ``inside_low``: inside is below ``iso_level`` (signed distances).
    """

    activation: str
    iso_level: float
    inside_low: bool
    value_range: tuple[float, float]

    def activate(self, out: torch.Tensor) -> torch.Tensor:
        """The decoder's raw output -> the grid values a person thresholds and meshes."""
        if self.activation == "sigmoid":
            return torch.sigmoid(out)
        if self.activation == "clamp":
            return out.clamp(0.0, 1.0)
        return out

    @property
    def signed_distance(self) -> bool:
        return self.inside_low

    def inside(self, grid: torch.Tensor) -> torch.Tensor:
        """Boolean occupancy of activated grid values at the iso-level."""
        return grid < self.iso_level if self.inside_low else grid > self.iso_level


def grid_values(config: TrainConfig, kind: str = "vae") -> GridValues:
    """What the decoded grids of a model of this config and kind ('vae' or 'ppca') hold."""
    if config.grid == "sdf":
        return GridValues("identity", 0.0, True, (-1.0, 1.0))
    if kind == "ppca":
        return GridValues("clamp", OCCUPANCY_LEVEL, False, (0.0, 1.0))
    if config.likelihood == "bernoulli":
        return GridValues("sigmoid", OCCUPANCY_LEVEL, False, (0.0, 1.0))
    return GridValues("identity", OCCUPANCY_LEVEL, False, (0.0, 1.0))
