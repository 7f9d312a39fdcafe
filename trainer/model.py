"""The convolutional VAEs: a Gaussian (or categorical) encoder q(z|y) and a decoder giving
per-voxel logits.

The encoder and decoder are the plain layers listed in `_encoder` and `_decoder`; `encode` and
`decode` run them through `trainer.kernels` (`encoder_forward`, `decoder_forward`), which compute
the same functions faster on CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from trainer.config import TrainConfig
from trainer.discrete import gumbel_noise, gumbel_softmax
from trainer.kernels import decoder_forward, encoder_forward, memory_layout
from trainer.pose import (
    POSE_DIMS,
    pose_code,
    pose_from_code,
    principal_pose,
    to_grid_frame,
    to_shape_frame,
)

STAGES = 4


def _conv_block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv3d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm3d(c_out),
            nn.ReLU(inplace=True)]


class VAE(nn.Module):
    """Encoder: 4 x (Conv3d 3^3 + BatchNorm + ReLU + MaxPool 2) -> linear heads for mu, logvar.

    Decoder: linear -> 4 x (nearest upsample 2 + Conv3d 3^3 + BatchNorm + ReLU) -> Conv3d to one
    logit per voxel. The encoder predicts the log-variance l of q(z|y) = N(mu, diag(exp(l))).

    With ``pose`` (trainer.pose), the first POSE_DIMS of the Q dimensions carry each shape's
    pose: their means are computed from the shape's second moments, the encoder's network sees
    the shape in its own frame (centred, principal axes along the grid's) and predicts the other
    means and all the log-variances; the decoder draws the shape in that frame from the other
    dimensions and resamples its logits into the grid with the pose the code holds.
    ``signed`` grids (signed distances, negative inside) take their pose from the inside voxels.
    """

    def __init__(self, resolution: int, latent_dim: int, channels: tuple[int, ...],
                 pose: bool = False, signed: bool = False) -> None:
        super().__init__()
        if resolution % 2**STAGES:
            raise ValueError(f"resolution must be a multiple of {2**STAGES}")
        if pose and latent_dim <= POSE_DIMS:
            raise ValueError(f"a pose-aware VAE needs more than {POSE_DIMS} latent dimensions")
        self.resolution, self.latent_dim, self.channels = resolution, latent_dim, tuple(channels)
        self.pose, self.signed = pose, signed
        self.bottom = resolution // 2**STAGES
        flat = channels[-1] * self.bottom**3
        shape_dims = latent_dim - POSE_DIMS if pose else latent_dim
        self.encoder = _encoder(channels)
        self.to_mu = nn.Linear(flat, shape_dims)
        self.to_logvar = nn.Linear(flat, latent_dim)
        self.from_z = nn.Linear(shape_dims, flat)
        self.decoder = _decoder(channels)

    @classmethod
    def from_config(cls, config: TrainConfig) -> VAE:
        return cls(config.resolution, config.latent_dim, config.channels,
                   pose=config.uses_pose, signed=config.grid == "sdf")

    def encode(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Grids (B, 1, D, D, D) -> (mu, logvar), each (B, Q)."""
        if not self.pose:
            h = encoder_forward(self.encoder, y)
            return self.to_mu(h), self.to_logvar(h)
        with torch.no_grad():
            inside = (y <= 0).float() if self.signed else y.clamp(0, 1)
            rotation, centroid = principal_pose(inside)
            aligned = to_shape_frame(y, rotation, centroid, outside=1.0 if self.signed else 0.0)
        h = encoder_forward(self.encoder, aligned.contiguous(memory_format=memory_layout(y)))
        return torch.cat([pose_code(rotation, centroid).to(h.dtype), self.to_mu(h)], 1), \
            self.to_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent codes (B, Q) -> logits (B, 1, D, D, D)."""
        logits = self.decode_shape_frame(z[:, POSE_DIMS:] if self.pose else z)
        if self.pose:
            logits = to_grid_frame(logits, *pose_from_code(z[:, :POSE_DIMS]))
        return logits

    def decode_shape_frame(self, shape: torch.Tensor) -> torch.Tensor:
        """The non-pose dimensions of codes (B, Q - POSE_DIMS, or B, Q without pose) -> logits
        (B, 1, D, D, D) in the shape's own frame (the grid's frame when there is no pose)."""
        h = self.from_z(shape).view(-1, self.channels[-1], self.bottom, self.bottom, self.bottom)
        return decoder_forward(self.decoder, h)

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


class CategoricalVAE(nn.Module):
    """The same encoder and decoder with K categorical latent variables of C classes.

    The encoder's linear head gives K x C logits of q(z|y); the decoder takes the K relaxed (or
    one-hot) vectors flattened, so `latent_dim` (the decoder's input width) is K x C.
    """

    def __init__(self, resolution: int, variables: int, classes: int,
                 channels: tuple[int, ...]) -> None:
        super().__init__()
        if resolution % 2**STAGES:
            raise ValueError(f"resolution must be a multiple of {2**STAGES}")
        self.resolution, self.channels = resolution, tuple(channels)
        self.variables, self.classes = variables, classes
        self.latent_dim = variables * classes
        self.bottom = resolution // 2**STAGES
        flat = channels[-1] * self.bottom**3
        self.encoder = _encoder(channels)
        self.to_logits = nn.Linear(flat, self.latent_dim)
        self.from_z = nn.Linear(self.latent_dim, flat)
        self.decoder = _decoder(channels)

    @classmethod
    def from_config(cls, config: TrainConfig) -> CategoricalVAE:
        return cls(config.resolution, config.latent_dim, config.categorical_classes,
                   config.channels)

    def encode(self, y: torch.Tensor) -> torch.Tensor:
        """Grids (B, 1, D, D, D) -> logits of q(z|y), (B, K, C)."""
        return self.to_logits(encoder_forward(self.encoder, y)).view(-1, self.variables,
                                                                     self.classes)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Flattened one-hot or relaxed codes (B, K * C) -> logits (B, 1, D, D, D)."""
        h = self.from_z(z).view(-1, self.channels[-1], self.bottom, self.bottom, self.bottom)
        return decoder_forward(self.decoder, h)

    def forward(
        self, y: torch.Tensor, samples: int = 1, generator: torch.Generator | None = None,
        eps: torch.Tensor | None = None, temperature: float = 1.0, hard: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode, draw L relaxed samples per shape at `temperature`, decode.

        Returns logits (L*B, 1, D, D, D), sample-major, and the posterior logits (B, K, C).
        `eps`, when given, is the Gumbel noise (L*B, K*C) to use instead of drawing it.
        """
        logits = self.encode(y)
        repeated = logits.repeat(samples, 1, 1)
        if eps is None:
            eps = gumbel_noise(repeated.shape, generator).to(y.device)
        z = gumbel_softmax(repeated, eps.view_as(repeated), temperature, hard)
        return self.decode(z.flatten(1)), logits


def _encoder(channels: tuple[int, ...]) -> nn.Sequential:
    """4 x (Conv3d 3^3 + BatchNorm + ReLU + MaxPool 2), flattened."""
    layers: list[nn.Module] = []
    for c_in, c_out in zip((1, *channels[:-1]), channels, strict=True):
        layers += [*_conv_block(c_in, c_out), nn.MaxPool3d(2)]
    return nn.Sequential(*layers, nn.Flatten())


def _decoder(channels: tuple[int, ...]) -> nn.Sequential:
    """4 x (nearest upsample 2 + Conv3d 3^3 + BatchNorm + ReLU), then Conv3d to one logit."""
    reverse = channels[::-1]
    layers: list[nn.Module] = []
    for c_in, c_out in zip(reverse, (*reverse[1:], reverse[-1]), strict=True):
        layers += [nn.Upsample(scale_factor=2, mode="nearest"), *_conv_block(c_in, c_out)]
    return nn.Sequential(*layers, nn.Conv3d(reverse[-1], 1, 3, padding=1))


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, samples: int = 1,
                   generator: torch.Generator | None = None,
                   eps: torch.Tensor | None = None) -> torch.Tensor:
    """z = mu + exp(logvar / 2) * eps with eps ~ N(0, I) (drawn here unless given);
    returns (samples * B, Q)."""
    mu_l, logvar_l = mu.repeat(samples, 1), logvar.repeat(samples, 1)
    if eps is None:
        eps = torch.randn(mu_l.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu_l + torch.exp(0.5 * logvar_l) * eps
