"""The reference: a plain PyTorch VAE of the same network and loss, with default settings.

Contiguous tensors, the default allocator, a DataLoader over a float32 TensorDataset: what a
straightforward implementation looks like. Used only by the benchmarks as the baseline.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PlainVAE(nn.Module):
    def __init__(self, resolution: int, latent_dim: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        self.c, self.s = channels[-1], resolution // 16
        enc: list[nn.Module] = []
        for c_in, c_out in zip((1, *channels[:-1]), channels, strict=True):
            enc += [nn.Conv3d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm3d(c_out),
                    nn.ReLU(inplace=True), nn.MaxPool3d(2)]
        self.enc = nn.Sequential(*enc, nn.Flatten())
        flat = self.c * self.s**3
        self.mu, self.logvar = nn.Linear(flat, latent_dim), nn.Linear(flat, latent_dim)
        self.fc = nn.Linear(latent_dim, flat)
        rev = channels[::-1]
        dec: list[nn.Module] = []
        for c_in, c_out in zip(rev, (*rev[1:], rev[-1]), strict=True):
            dec += [nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.Conv3d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm3d(c_out),
                    nn.ReLU(inplace=True)]
        self.dec = nn.Sequential(*dec, nn.Conv3d(rev[-1], 1, 3, padding=1))

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.enc(y)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.dec(self.fc(z).view(-1, self.c, self.s, self.s, self.s)), mu, logvar


def loss_fn(logits: torch.Tensor, y: torch.Tensor, mu: torch.Tensor,
            logvar: torch.Tensor) -> torch.Tensor:
    recon = F.binary_cross_entropy_with_logits(logits, y, reduction="sum")
    kl = 0.5 * torch.sum(mu.pow(2) + logvar.exp() - logvar - 1)
    return (recon + kl) / y.shape[0]
