"""Fast CPU kernels for the model's layers: each computes what the listed layers compute.

`decoder_forward` runs the decoder with each nearest-upsample + Conv3d pair as one transposed
convolution with a folded kernel (`upsample_conv3d`: 8/27 of the multiply-adds, no upsampled grid
in memory) and the one-channel output convolution as a depthwise convolution summed over the
channels, with the gradients of its transposed form (`one_channel_conv3d`).
`encoder_forward` recomputes the encoder's first stage in the backward pass when training at
RECOMPUTE_FROM^3 or more. `transposed_decoder` copies a decoder with the folded kernels as
modules, for inference and compilation (explorer.fast_decode).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint

RECOMPUTE_FROM = 64
"""Training on grids of this many voxels per axis or more recomputes the encoder's first stage in
the backward pass instead of keeping its full-resolution activations."""


def encoder_forward(encoder: nn.Sequential, y: torch.Tensor) -> torch.Tensor:
    """``encoder(y)``. Training at RECOMPUTE_FROM^3 or more keeps only the input and output of
    the first stage (Conv3d, BatchNorm, ReLU, MaxPool) and recomputes the stage in the backward
    pass: its two full-resolution activations are the largest tensors of a step, and its
    convolution has a single input channel, so recomputing it is cheap. The values, gradients and
    BatchNorm statistics are those of the plain forward."""
    if not (encoder.training and torch.is_grad_enabled() and y.shape[-1] >= RECOMPUTE_FROM):
        return encoder(y)
    layers = list(encoder)
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


def decoder_forward(decoder: nn.Sequential, h: torch.Tensor) -> torch.Tensor:
    """``decoder(h)`` with the fused kernels: each Upsample + Conv3d pair as `upsample_conv3d`,
    a one-channel 3^3 output convolution as `one_channel_conv3d`, other layers as they are."""
    layers = iter(decoder)
    for layer in layers:
        if isinstance(layer, nn.Upsample):
            conv = next(layers)
            h = upsample_conv3d(h, conv.weight, conv.bias)
        elif is_one_channel_3x3x3(layer):
            h = one_channel_conv3d(h, layer.weight, layer.bias)
        else:
            h = layer(h)
    return h


def transposed_decoder(decoder: nn.Sequential) -> nn.Sequential:
    """A copy of the decoder as plain modules, each Upsample + Conv3d pair replaced by an
    nn.ConvTranspose3d holding the folded kernel: for inference and compilation, where folding
    the weights once beats folding them on every call."""
    layers: list[nn.Module] = []
    modules = iter(decoder)
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
    over the channels. Backward: the gradients of the equivalent transposed convolution with the
    flipped kernel, whose weight gradient oneDNN computes faster than the plain convolution's
    (the depthwise form's backward is the slowest of the three; figures in benchmarks/README.md).
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


def memory_layout(x: torch.Tensor) -> torch.memory_format:
    """channels_last_3d when `x` is laid out so (and not also contiguous), else contiguous."""
    if x.is_contiguous(memory_format=torch.channels_last_3d) and not x.is_contiguous():
        return torch.channels_last_3d
    return torch.contiguous_format


def _same_layout(derived: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """`derived` in `weight`'s memory format: a channels-last weight makes the convolution, its
    output and the layers after it channels-last (the faster layout for Conv3d on CPU)."""
    return derived.contiguous(memory_format=memory_layout(weight))
