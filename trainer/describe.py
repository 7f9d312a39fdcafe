"""What a model is, in a few lines for a person: `info` prints them, the Explore header joins
them."""

from __future__ import annotations

from trainer.config import TrainConfig
from trainer.pose import POSE_DIMS
from trainer.ppca import PPCAReport


def describe_model(config: TrainConfig, kind: str = "vae",
                   ppca: PPCAReport | None = None) -> list[str]:
    """The model's name and size (e.g. 'VAE (Q=16)', 'denoising discrete VAE (16 x 8)',
    'PPCA (Q=16)'), its latents and grids, and a PPCA model's validation scores."""
    grids = "signed distances" if config.grid == "sdf" else "occupancy"
    if kind == "ppca":
        lines = [f"PPCA (Q={config.latent_dim})", f"linear Gaussian latents, {grids}"]
        if ppca is not None:
            lines.append(f"val IoU {ppca.val_iou:.3f}, Hamming {ppca.val_hamming:.4f}")
        return lines
    denoising = "denoising " if config.noise != "none" else ""
    if config.is_categorical:
        return [f"{denoising}discrete VAE ({config.latent_dim} x {config.categorical_classes})",
                f"categorical latents, {grids}"]
    pose = f" (z0-z{POSE_DIMS - 1} pose)" if config.uses_pose else ""
    return [f"{denoising}VAE (Q={config.latent_dim})",
            f"Gaussian latents{pose}, {grids}"]
