"""What a model is, in a few lines for a person: `info` prints them, the Explore header joins
them."""

from __future__ import annotations

from trainer.config import TrainConfig
from trainer.families import family_of
from trainer.ppca import PPCAReport


def describe_model(config: TrainConfig, kind: str = "vae",
                   ppca: PPCAReport | None = None) -> list[str]:
    """The model's name and size (e.g. 'VAE (Q=16)', 'denoising discrete VAE (16 x 8)',
    'PPCA (Q=16)'), its latents and grids, and a PPCA model's validation scores."""
    family = family_of(config, kind)
    grids = "signed distances" if config.grid == "sdf" else "occupancy"
    lines = [family.short_name(), f"{family.latents()}, {grids}"]
    if ppca is not None:
        lines.append(f"val IoU {ppca.val_iou:.3f}, Hamming {ppca.val_hamming:.4f}")
    return lines
