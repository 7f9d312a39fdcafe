"""The convolutional VAE: a Gaussian encoder q(z|y) and a decoder giving per-voxel logits."""

from __future__ import annotations

import torch
from torch import nn

from trainer.config import TrainConfig

STAGES = 4


def _conv_block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv3d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm3d(c_out),
            nn.ReLU(inplace=True)]


class VAE(nn.Module):
    """Encoder: 4 x (Conv3d 3^3 + BatchNorm + ReLU + MaxPool 2) -> linear heads for mu, logvar.

    Decoder: linear -> 4 x (nearest upsample 2 + Conv3d 3^3 + BatchNorm + ReLU) -> Conv3d to one
    logit per voxel. The encoder predicts the log-variance l of q(z|y) = N(mu, diag(exp(l))).
    """

    def __init__(self, resolution: int, latent_dim: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        if resolution % 2**STAGES:
            raise ValueError(f"resolution must be a multiple of {2**STAGES}")
        self.resolution, self.latent_dim, self.channels = resolution, latent_dim, tuple(channels)
        self.bottom = resolution // 2**STAGES
        flat = channels[-1] * self.bottom**3

        layers: list[nn.Module] = []
        for c_in, c_out in zip((1, *channels[:-1]), channels, strict=True):
            layers += [*_conv_block(c_in, c_out), nn.MaxPool3d(2)]
        self.encoder = nn.Sequential(*layers, nn.Flatten())
        self.to_mu = nn.Linear(flat, latent_dim)
        self.to_logvar = nn.Linear(flat, latent_dim)

        self.from_z = nn.Linear(latent_dim, flat)
        reverse = channels[::-1]
        layers = []
        for c_in, c_out in zip(reverse, (*reverse[1:], reverse[-1]), strict=True):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), *_conv_block(c_in, c_out)]
        self.decoder = nn.Sequential(*layers, nn.Conv3d(reverse[-1], 1, 3, padding=1))

    @classmethod
    def from_config(cls, config: TrainConfig) -> VAE:
        return cls(config.resolution, config.latent_dim, config.channels)

    def encode(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Grids (B, 1, D, D, D) -> (mu, logvar), each (B, Q)."""
        h = self.encoder(y)
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent codes (B, Q) -> logits (B, 1, D, D, D)."""
        h = self.from_z(z).view(-1, self.channels[-1], self.bottom, self.bottom, self.bottom)
        return self.decoder(h)

    def forward(
        self, y: torch.Tensor, samples: int = 1, generator: torch.Generator | None = None,
        eps: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode, draw L reparameterised samples per shape, decode.

        Returns logits (L*B, 1, D, D, D), grouped sample-major, and mu, logvar (B, Q).
        `eps`, when given, is the standard normal noise (L*B, Q) to use instead of drawing it.
        """
        mu, logvar = self.encode(y)
        z = reparameterise(mu, logvar, samples, generator, eps)
        return self.decode(z), mu, logvar


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, samples: int = 1,
                   generator: torch.Generator | None = None,
                   eps: torch.Tensor | None = None) -> torch.Tensor:
    """z = mu + exp(logvar / 2) * eps with eps ~ N(0, I) (drawn here unless given);
    returns (samples * B, Q)."""
    mu_l, logvar_l = mu.repeat(samples, 1), logvar.repeat(samples, 1)
    if eps is None:
        eps = torch.randn(mu_l.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu_l + torch.exp(0.5 * logvar_l) * eps
