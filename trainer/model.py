"""The convolutional VAEs: a Gaussian (or categorical) encoder q(z|y) and a decoder giving
per-voxel logits."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint

from trainer.config import TrainConfig
from trainer.discrete import gumbel_noise, gumbel_softmax
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
            h = self.encoder(y)
            return self.to_mu(h), self.to_logvar(h)
        with torch.no_grad():
            inside = (y <= 0).float() if self.signed else y.clamp(0, 1)
            rotation, centroid = principal_pose(inside)
            aligned = to_shape_frame(y, rotation, centroid, outside=1.0 if self.signed else 0.0)
        h = self.encoder(aligned.contiguous(memory_format=_layout(y)))
        return torch.cat([pose_code(rotation, centroid).to(h.dtype), self.to_mu(h)], 1), \
            self.to_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent codes (B, Q) -> logits (B, 1, D, D, D)."""
        shape = z[:, POSE_DIMS:] if self.pose else z
        h = self.from_z(shape).view(-1, self.channels[-1], self.bottom, self.bottom, self.bottom)
        logits = self.decoder(h)
        if self.pose:
            logits = to_grid_frame(logits, *pose_from_code(z[:, :POSE_DIMS]))
        return logits

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
        return self.to_logits(self.encoder(y)).view(-1, self.variables, self.classes)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Flattened one-hot or relaxed codes (B, K * C) -> logits (B, 1, D, D, D)."""
        h = self.from_z(z).view(-1, self.channels[-1], self.bottom, self.bottom, self.bottom)
        return self.decoder(h)

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


def _encoder(channels: tuple[int, ...]) -> Encoder:
    """4 x (Conv3d 3^3 + BatchNorm + ReLU + MaxPool 2), flattened."""
    layers: list[nn.Module] = []
    for c_in, c_out in zip((1, *channels[:-1]), channels, strict=True):
        layers += [*_conv_block(c_in, c_out), nn.MaxPool3d(2)]
    return Encoder(*layers, nn.Flatten())


RECOMPUTE_FROM = 64
"""Training on grids of this many voxels per axis or more recomputes the encoder's first stage in
the backward pass instead of keeping its full-resolution activations."""


class Encoder(nn.Sequential):
    """The encoder's layers as listed.

    When training at RECOMPUTE_FROM^3 or more, ``forward`` keeps only the input and output of the
    first stage (Conv3d, BatchNorm, ReLU, MaxPool) and recomputes the stage in the backward pass:
    its two full-resolution activations are the largest tensors of a step (0.54 GB at 64^3,
    batch 16), and its convolution has a single input channel, so recomputing it is cheap.
    The values, gradients and BatchNorm statistics are those of the plain forward.
    """

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if not (self.training and torch.is_grad_enabled() and y.shape[-1] >= RECOMPUTE_FROM):
            return super().forward(y)
        layers = list(self)
        h = checkpoint(_StatisticsOnce(layers[:4]), y, use_reentrant=False)
        for layer in layers[4:]:
            h = layer(h)
        return h


class _StatisticsOnce:
    """Runs `layers`; on every call after the first (a recomputation) their BatchNorm running
    statistics are restored afterwards, so they are updated once per training step."""

    def __init__(self, layers: list[nn.Module]) -> None:
        self.layers, self.calls = layers, 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        norms = [m for m in self.layers if isinstance(m, _BatchNorm)] if self.calls > 1 else []
        kept = [[t.clone() for t in m.buffers()] for m in norms]
        try:
            for layer in self.layers:
                x = layer(x)
            return x
        finally:
            with torch.no_grad():
                for m, buffers in zip(norms, kept, strict=True):
                    for current, saved in zip(m.buffers(), buffers, strict=True):
                        current.copy_(saved)


def _decoder(channels: tuple[int, ...]) -> Decoder:
    """4 x (nearest upsample 2 + Conv3d 3^3 + BatchNorm + ReLU), then Conv3d to one logit."""
    reverse = channels[::-1]
    layers: list[nn.Module] = []
    for c_in, c_out in zip(reverse, (*reverse[1:], reverse[-1]), strict=True):
        layers += [nn.Upsample(scale_factor=2, mode="nearest"), *_conv_block(c_in, c_out)]
    return Decoder(*layers, nn.Conv3d(reverse[-1], 1, 3, padding=1))


class Decoder(nn.Sequential):
    """The decoder's layers as listed (nearest Upsample, Conv3d, BatchNorm, ReLU, ...).

    ``forward`` computes the same function faster on CPU: each Upsample + Conv3d pair as one
    transposed convolution (`upsample_conv3d`: 8/27 of the multiply-adds, no upsampled grid in
    memory) and the one-channel output convolution as a depthwise convolution summed over the
    channels, with the gradients of its transposed form (`one_channel_conv3d`).
    ``nn.Sequential.forward(decoder, h)`` runs the layers one by one.
    """

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        layers = iter(self)
        for layer in layers:
            if isinstance(layer, nn.Upsample):
                conv = next(layers)
                h = upsample_conv3d(h, conv.weight, conv.bias)
            elif is_one_channel_3x3x3(layer):
                h = one_channel_conv3d(h, layer.weight, layer.bias)
            else:
                h = layer(h)
        return h

    def transposed_copy(self) -> nn.Sequential:
        """A copy of the decoder as plain modules, each Upsample + Conv3d pair replaced by an
        nn.ConvTranspose3d holding the folded kernel: for inference and compilation, where
        folding the weights once beats folding them on every call."""
        layers: list[nn.Module] = []
        modules = iter(self)
        for layer in modules:
            if isinstance(layer, nn.Upsample):
                conv = next(modules)
                transposed = nn.ConvTranspose3d(conv.in_channels, conv.out_channels, 4, stride=2,
                                                padding=1, bias=conv.bias is not None)
                with torch.no_grad():
                    transposed.weight.copy_(_fold_kernel(conv.weight))
                    if conv.bias is not None:
                        transposed.bias.copy_(conv.bias)
                layers.append(transposed.to(conv.weight.device))
            else:
                layers.append(copy.deepcopy(layer))
        return nn.Sequential(*layers)


_FOLD = torch.tensor([[0.0, 0, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0]])
"""Per axis, the 3 taps (w0, w1, w2) of a kernel seen through nearest upsampling by 2, as the 4
taps of a stride-2 transposed kernel: w2, w1 + w2, w0 + w1, w0."""


def upsample_conv3d(x: torch.Tensor, weight: torch.Tensor,
                    bias: torch.Tensor | None = None) -> torch.Tensor:
    """``conv3d(upsample_nearest_2(x), weight, bias, padding=1)`` for a 3^3 kernel, computed as
    ``conv_transpose3d(x, folded, bias, stride=2, padding=1)`` with a folded 4^3 kernel.

    Upsampled voxel 2i + p sees input voxels i - 1, i (p = 0) or i, i + 1 (p = 1) per axis, with
    the kernel taps summed over repeated voxels; the transposed convolution applies exactly that.
    """
    folded = _same_layout(_fold_kernel(weight), weight)
    return F.conv_transpose3d(x, folded, bias, stride=2, padding=1)


def _fold_kernel(weight: torch.Tensor) -> torch.Tensor:
    """A Conv3d kernel (out, in, 3, 3, 3) -> the transposed kernel (in, out, 4, 4, 4)."""
    fold = _FOLD.to(weight)
    return torch.einsum("ai,bj,ck,oxijk->xoabc", fold, fold, fold, weight)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, samples: int = 1,
                   generator: torch.Generator | None = None,
                   eps: torch.Tensor | None = None) -> torch.Tensor:
    """z = mu + exp(logvar / 2) * eps with eps ~ N(0, I) (drawn here unless given);
    returns (samples * B, Q)."""
    mu_l, logvar_l = mu.repeat(samples, 1), logvar.repeat(samples, 1)
    if eps is None:
        eps = torch.randn(mu_l.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu_l + torch.exp(0.5 * logvar_l) * eps


def is_one_channel_3x3x3(layer: nn.Module) -> bool:
    """Whether `layer` is a plain ``Conv3d(C, 1, 3, padding=1)`` (bias or not)."""
    return (type(layer) is nn.Conv3d and layer.out_channels == 1 and layer.groups == 1
            and layer.kernel_size == (3, 3, 3) and layer.stride == (1, 1, 1)
            and layer.padding == (1, 1, 1) and layer.dilation == (1, 1, 1)
            and layer.padding_mode == "zeros")


def one_channel_conv3d(x: torch.Tensor, weight: torch.Tensor,
                       bias: torch.Tensor | None = None) -> torch.Tensor:
    """``conv3d(x, weight, bias, padding=1)`` for a (1, C, 3, 3, 3) kernel, the form of the
    decoder's output layer that oneDNN runs far below its peak (one output channel).

    Forward: a depthwise convolution (each channel with its own 3^3 slice of the kernel) summed
    over the channels, 4-5x faster. Backward: the gradients of the equivalent transposed
    convolution with the flipped kernel, whose weight gradient oneDNN computes about 10x faster
    than the plain convolution's (the depthwise form's backward is the slowest of the three).
    """
    return _OneChannelConv3d.apply(x, weight, bias)


def depthwise_sum(x: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None) -> torch.Tensor:
    """``conv3d(x, weight, bias, padding=1)`` for a (1, C, 3, 3, 3) kernel as a depthwise
    convolution summed over the channels."""
    channels = x.shape[1]
    out = F.conv3d(x, weight.reshape(channels, 1, 3, 3, 3), None, padding=1, groups=channels)
    out = out.sum(1, keepdim=True)
    return out if bias is None else out + bias.view(1, 1, 1, 1, 1)


class _OneChannelConv3d(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor,
                bias: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return depthwise_sum(x, weight, bias)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        flipped = _same_layout(weight.flip(2, 3, 4).transpose(0, 1), weight)
        needs_bias = ctx.has_bias and ctx.needs_input_grad[2]
        grad_x, grad_flipped, grad_bias = torch.ops.aten.convolution_backward(
            grad, x, flipped, [1] if ctx.has_bias else None, [1, 1, 1], [1, 1, 1], [1, 1, 1],
            True, [0, 0, 0], 1, [ctx.needs_input_grad[0], ctx.needs_input_grad[1], needs_bias])
        grad_weight = (grad_flipped.transpose(0, 1).flip(2, 3, 4)
                       if grad_flipped is not None else None)
        return grad_x, grad_weight, grad_bias


def _layout(x: torch.Tensor) -> torch.memory_format:
    """channels_last_3d when `x` is laid out so (and not also contiguous), else contiguous."""
    if x.is_contiguous(memory_format=torch.channels_last_3d) and not x.is_contiguous():
        return torch.channels_last_3d
    return torch.contiguous_format


def _same_layout(derived: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """`derived` in `weight`'s memory format: a channels-last weight makes the convolution, its
    output and the layers after it channels-last (the faster layout for Conv3d on CPU)."""
    return derived.contiguous(memory_format=_layout(weight))
